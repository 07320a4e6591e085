package dev.jgpt.tokenizer;

import java.util.Arrays;

/** A binary min-heap of longs (packed keys such as {@code rank << 32 | position}). */
final class LongHeap {
    private long[] a;
    private int size;

    LongHeap(int capacity) {
        a = new long[Math.max(16, capacity)];
    }

    boolean isEmpty() {
        return size == 0;
    }

    void push(long v) {
        if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            long p = a[parent];
            if (p <= v) break;
            a[i] = p;
            i = parent;
        }
        a[i] = v;
    }

    long pop() {
        long top = a[0];
        long last = a[--size];
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int c = 2 * i + 1;
            long cv = a[c];
            int r = c + 1;
            if (r < size && a[r] < cv) {
                c = r;
                cv = a[r];
            }
            if (last <= cv) break;
            a[i] = cv;
            i = c;
        }
        a[i] = last;
        return top;
    }
}
