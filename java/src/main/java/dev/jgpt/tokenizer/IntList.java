package dev.jgpt.tokenizer;

import java.util.Arrays;

/** A growable int array: token ids and piece boundaries without boxing. */
final class IntList {
    private int[] a;
    private int size;

    IntList(int capacity) {
        a = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (size == a.length) a = Arrays.copyOf(a, a.length * 2);
        a[size++] = v;
    }

    void addAll(int[] v) {
        ensure(size + v.length);
        System.arraycopy(v, 0, a, size, v.length);
        size += v.length;
    }

    void addAll(int[] v, int from, int to) {
        ensure(size + to - from);
        System.arraycopy(v, from, a, size, to - from);
        size += to - from;
    }

    private void ensure(int n) {
        if (n > a.length) a = Arrays.copyOf(a, Math.max(n, a.length * 2));
    }

    int get(int i) {
        return a[i];
    }

    int size() {
        return size;
    }

    void clear() {
        size = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(a, size);
    }
}
