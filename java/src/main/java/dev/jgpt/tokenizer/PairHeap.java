package dev.jgpt.tokenizer;

import java.util.Arrays;

/**
 * Max-heap of (count, pair) for BPE training: the most frequent pair on top; equal counts broken by
 * the smaller pair, i.e. smaller left id, then smaller right id — an explicit, total order, so
 * training is deterministic.
 */
final class PairHeap {
    private long[] counts = new long[1024];
    private long[] pairs = new long[1024];
    private int size;

    boolean isEmpty() {
        return size == 0;
    }

    long topCount() {
        return counts[0];
    }

    long topPair() {
        return pairs[0];
    }

    private static boolean before(long c1, long p1, long c2, long p2) {
        return c1 != c2 ? c1 > c2 : p1 < p2;
    }

    void push(long count, long pair) {
        if (size == counts.length) {
            counts = Arrays.copyOf(counts, size * 2);
            pairs = Arrays.copyOf(pairs, size * 2);
        }
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(count, pair, counts[parent], pairs[parent])) break;
            counts[i] = counts[parent];
            pairs[i] = pairs[parent];
            i = parent;
        }
        counts[i] = count;
        pairs[i] = pair;
    }

    void pop() {
        long c = counts[--size];
        long p = pairs[size];
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int r = child + 1;
            if (r < size && before(counts[r], pairs[r], counts[child], pairs[child])) child = r;
            if (!before(counts[child], pairs[child], c, p)) break;
            counts[i] = counts[child];
            pairs[i] = pairs[child];
            i = child;
        }
        counts[i] = c;
        pairs[i] = p;
    }
}
