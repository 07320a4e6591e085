package dev.jgpt.data;

import java.util.Arrays;

/**
 * MinHash signatures over word shingles, for near-duplicate detection. A document's words are the
 * lower-cased runs of letters and digits; its shingles are the runs of {@code shingleWords}
 * consecutive words (the whole word list when shorter). Each of {@code perms} hash functions
 * {@code h_i(x) = hi32(a_i * x + b_i)} (odd a_i, seeded) takes its minimum over the shingle hashes;
 * the fraction of equal signature entries estimates the Jaccard similarity of the shingle sets.
 */
public final class MinHash {
    private final int shingleWords;
    private final long[] a;
    private final long[] b;

    public MinHash(int perms, int shingleWords, long seed) {
        if (perms <= 0 || shingleWords <= 0) throw new IllegalArgumentException("perms and shingle size must be positive");
        this.shingleWords = shingleWords;
        a = new long[perms];
        b = new long[perms];
        long s = seed;
        for (int i = 0; i < perms; i++) {
            a[i] = TokenShards.mix(s += 0x9E3779B97F4A7C15L) | 1;
            b[i] = TokenShards.mix(s += 0x9E3779B97F4A7C15L);
        }
    }

    public int perms() {
        return a.length;
    }

    public int[] signature(String text) {
        long[] words = wordHashes(text);
        int[] sig = new int[a.length];
        Arrays.fill(sig, -1); // compared as unsigned: -1 is the maximum
        int k = Math.min(shingleWords, Math.max(1, words.length));
        int shingles = words.length == 0 ? 0 : words.length - k + 1;
        for (int s = 0; s < shingles; s++) {
            long h = 0;
            for (int j = 0; j < k; j++) h = h * 0x100000001B3L + words[s + j];
            h = TokenShards.mix(h);
            for (int i = 0; i < a.length; i++) {
                int v = (int) ((a[i] * h + b[i]) >>> 32);
                if (Integer.compareUnsigned(v, sig[i]) < 0) sig[i] = v;
            }
        }
        return sig;
    }

    /** Fraction of equal entries of two signatures: the estimated Jaccard similarity. */
    public static double similarity(int[] x, int[] y) {
        int eq = 0;
        for (int i = 0; i < x.length; i++) if (x[i] == y[i]) eq++;
        return (double) eq / x.length;
    }

    static long[] wordHashes(String text) {
        long[] out = new long[64];
        int n = 0;
        long h = 0;
        boolean in = false;
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (Character.isLetterOrDigit(c)) {
                if (!in) h = 0xcbf29ce484222325L;
                h = (h ^ Character.toLowerCase(c)) * 0x100000001B3L;
                in = true;
            } else if (in) {
                if (n == out.length) out = Arrays.copyOf(out, n * 2);
                out[n++] = h;
                in = false;
            }
        }
        if (in) {
            if (n == out.length) out = Arrays.copyOf(out, n + 1);
            out[n++] = h;
        }
        return Arrays.copyOf(out, n);
    }
}
