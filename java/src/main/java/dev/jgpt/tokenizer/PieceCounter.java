package dev.jgpt.tokenizer;

import java.util.Arrays;

/**
 * Counts byte strings (pre-tokens) without allocating per occurrence: open addressing keyed by the
 * bytes, a copy of a key made only the first time it is seen. One per counting thread.
 */
final class PieceCounter {
    private byte[][] keys;
    private int[] hashes;
    private int[] counts;
    private int size;
    private int mask;

    PieceCounter(int capacity) {
        int cap = Integer.highestOneBit(Math.max(16, capacity - 1)) << 1;
        keys = new byte[cap][];
        hashes = new int[cap];
        counts = new int[cap];
        mask = cap - 1;
    }

    static int hash(byte[] b, int from, int to) {
        int h = 0x811C9DC5;
        for (int i = from; i < to; i++) h = (h ^ b[i]) * 0x01000193;
        return h ^ (h >>> 16);
    }

    static boolean same(byte[] key, byte[] b, int from, int to) {
        int n = to - from;
        if (key.length != n) return false;
        for (int i = 0; i < n; i++) if (key[i] != b[from + i]) return false;
        return true;
    }

    void add(byte[] b, int from, int to, int count) {
        int h = hash(b, from, to);
        int i = h & mask;
        while (true) {
            byte[] k = keys[i];
            if (k == null) {
                keys[i] = Arrays.copyOfRange(b, from, to);
                hashes[i] = h;
                counts[i] = count;
                if (++size * 2 > keys.length) grow();
                return;
            }
            if (hashes[i] == h && same(k, b, from, to)) {
                counts[i] += count;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /** Adds all of other's counts to this one. */
    void addAll(PieceCounter other) {
        for (int i = 0; i < other.keys.length; i++) {
            byte[] k = other.keys[i];
            if (k != null) add(k, 0, k.length, other.counts[i]);
        }
    }

    int size() {
        return size;
    }

    interface Entry {
        void accept(byte[] key, int count);
    }

    void forEach(Entry f) {
        for (int i = 0; i < keys.length; i++) if (keys[i] != null) f.accept(keys[i], counts[i]);
    }

    private void grow() {
        byte[][] oldKeys = keys;
        int[] oldHashes = hashes;
        int[] oldCounts = counts;
        keys = new byte[oldKeys.length * 2][];
        hashes = new int[keys.length];
        counts = new int[keys.length];
        mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldKeys[j] == null) continue;
            int i = oldHashes[j] & mask;
            while (keys[i] != null) i = (i + 1) & mask;
            keys[i] = oldKeys[j];
            hashes[i] = oldHashes[j];
            counts[i] = oldCounts[j];
        }
    }
}
