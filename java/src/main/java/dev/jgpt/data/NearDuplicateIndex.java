package dev.jgpt.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Locality-sensitive hashing over MinHash signatures: the signature is cut into {@code bands} bands
 * of {@code rows} entries; documents sharing any band are candidates, and a candidate counts as a
 * near duplicate when its estimated Jaccard similarity reaches the threshold. Bands and rows are
 * chosen for the threshold by minimising the (equally weighted) probabilities of false positives
 * below it and false negatives above it, as the datasketch library does.
 */
public final class NearDuplicateIndex {
    private final double threshold;
    private final int bands;
    private final int rows;
    private final List<Map<Long, int[]>> buckets = new ArrayList<>();
    private final List<int[]> signatures = new ArrayList<>();

    public NearDuplicateIndex(int perms, double threshold) {
        if (threshold <= 0 || threshold > 1) throw new IllegalArgumentException("near-duplicate threshold must be in (0, 1], got " + threshold);
        this.threshold = threshold;
        int[] br = bandsAndRows(perms, threshold);
        bands = br[0];
        rows = br[1];
        for (int i = 0; i < bands; i++) buckets.add(new HashMap<>());
    }

    public int bands() { return bands; }
    public int rows() { return rows; }

    /**
     * Adds the signature unless an indexed one is at least {@code threshold} similar; returns the
     * index of that earlier document, or -1 when the signature was added.
     */
    public int addIfNew(int[] sig) {
        long[] keys = new long[bands];
        for (int band = 0; band < bands; band++) {
            long h = band;
            for (int r = 0; r < rows; r++) h = TokenShards.mix(h * 31 + sig[band * rows + r]);
            keys[band] = h;
            int[] cands = buckets.get(band).get(h);
            if (cands == null) continue;
            for (int c : cands) {
                if (MinHash.similarity(sig, signatures.get(c)) >= threshold) return c;
            }
        }
        int id = signatures.size();
        signatures.add(sig);
        for (int band = 0; band < bands; band++) {
            buckets.get(band).merge(keys[band], new int[] {id}, (old, one) -> {
                int[] grown = Arrays.copyOf(old, old.length + 1);
                grown[old.length] = one[0];
                return grown;
            });
        }
        return -1;
    }

    static int[] bandsAndRows(int perms, double t) {
        double best = Double.MAX_VALUE;
        int[] out = {perms, 1};
        for (int b = 1; b <= perms; b++) {
            for (int r = 1; b * r <= perms; r++) {
                final int bb = b, rr = r;
                double err = 0.5 * integrate(s -> 1 - Math.pow(1 - Math.pow(s, rr), bb), 0, t)
                        + 0.5 * integrate(s -> Math.pow(1 - Math.pow(s, rr), bb), t, 1);
                if (err < best) {
                    best = err;
                    out = new int[] {b, r};
                }
            }
        }
        return out;
    }

    private static double integrate(java.util.function.DoubleUnaryOperator f, double lo, double hi) {
        int n = 50;
        double h = (hi - lo) / n, sum = 0;
        for (int i = 0; i < n; i++) sum += f.applyAsDouble(lo + (i + 0.5) * h) * h;
        return sum;
    }
}
