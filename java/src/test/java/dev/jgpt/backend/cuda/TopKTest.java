package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Device top-k for decoding: the k largest logits, largest first, ties to the lowest index. */
class TopKTest {

    @Test
    void returnsTheKLargestInOrder() {
        int V = 5000, k = 40;
        try (CudaBackend cuda = FusedAttentionTest.backend(); TensorArena host = TensorArena.host(); TensorArena dev = cuda.newArena()) {
            Random r = new Random(9);
            float[] logits = new float[V];
            for (int i = 0; i < V; i++) logits[i] = (float) r.nextGaussian();
            logits[123] = logits[77] = 10f; // a tie: 77 first
            Tensor h = host.allocate(DType.F32, V), d = dev.allocate(DType.F32, V);
            h.copyFrom(logits);
            cuda.copy(d, h);
            int[] idx = new int[k];
            float[] val = new float[k];
            cuda.topK(d, V, k, idx, val);
            int[] expected = IntStream.range(0, V).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -logits[i]).thenComparingInt(i -> i))
                    .limit(k).mapToInt(Integer::intValue).toArray();
            assertThat(idx).containsExactly(expected);
            for (int i = 0; i < k; i++) assertThat(val[i]).isEqualTo(logits[idx[i]]);
            assertThat(Arrays.copyOf(idx, 2)).containsExactly(77, 123);
            assertThatThrownBy(() -> cuda.topK(d, V, 65, new int[65], new float[65])).hasMessageContaining("k:");
        }
    }

    /**
     * The order the sampler relies on (dev.jgpt.backend.DeviceTopK): equal values (-0 and +0 too) by ascending
     * index, NaN never, -inf after every finite value, and -inf in the slots past the non-NaN values.
     */
    @Test
    void tiesSignedZerosInfinitiesAndNaN() {
        int V = 300;
        float[] few = {-1f, -0.0f, 0.0f, 2f, Float.NEGATIVE_INFINITY, Float.NaN, Float.POSITIVE_INFINITY};
        try (CudaBackend cuda = FusedAttentionTest.backend(); TensorArena host = TensorArena.host(); TensorArena dev = cuda.newArena()) {
            Tensor h = host.allocate(DType.F32, V), d = dev.allocate(DType.F32, V);
            Random r = new Random(4);
            for (int row = 0; row < 6; row++) {
                int n = row == 5 ? 40 : V;                      // the last row: fewer non-NaN values than k
                float[] logits = new float[V];
                for (int i = 0; i < V; i++) {
                    logits[i] = row == 5 ? (i % 7 == 0 ? -3f : Float.NaN) : row % 2 == 0 ? few[r.nextInt(few.length)] : few[r.nextInt(4)];
                }
                h.copyFrom(logits);
                cuda.copy(d, h);
                int k = row == 5 ? 20 : 1 + r.nextInt(CudaBackend.TOPK_MAX);
                int[] idx = new int[k];
                float[] val = new float[k];
                cuda.topK(d, n, k, idx, val);
                int[] expected = IntStream.range(0, n).filter(i -> !Float.isNaN(logits[i])).boxed()
                        .sorted(Comparator.<Integer>comparingDouble(i -> -(logits[i] + 0.0f)).thenComparingInt(i -> i))
                        .limit(k).mapToInt(Integer::intValue).toArray();
                assertThat(Arrays.copyOf(idx, expected.length)).as("row %d, k %d", row, k).containsExactly(expected);
                for (int i = 0; i < expected.length; i++) assertThat(val[i]).isEqualTo(logits[idx[i]]);
                for (int i = expected.length; i < k; i++) assertThat(val[i]).isEqualTo(Float.NEGATIVE_INFINITY);
            }
        }
    }

    /**
     * Several rows in one call ({@code topKRows}, what a server's batched step uses), at vocabulary sizes
     * around the slice boundaries (the kernels split a row into slices of about 2,048 values), rows further
     * apart than V, and ties across slices: each row's k candidates equal a sort of that row alone.
     */
    @Test
    void batchedRowsEqualEachRowAlone() {
        int[][] shapes = {{1, 1, 1}, {3, 63, 64}, {2, 2048, 2048}, {4, 2049, 2100}, {2, 5000, 5003}, {1, 50257, 50304}};
        Random r = new Random(11);
        try (CudaBackend cuda = FusedAttentionTest.backend(); TensorArena host = TensorArena.host(); TensorArena dev = cuda.newArena()) {
            for (int[] shape : shapes) {
                int rows = shape[0], V = shape[1], ld = shape[2];
                for (int k : new int[] {1, Math.min(V, 1 + r.nextInt(CudaBackend.TOPK_MAX)), Math.min(V, CudaBackend.TOPK_MAX)}) {
                    float[] logits = new float[rows * ld];
                    for (int i = 0; i < logits.length; i++) {
                        // few distinct values: many ties, across slices too; some NaN and infinities
                        int c = r.nextInt(40);
                        logits[i] = c == 0 ? Float.NaN : c == 1 ? Float.NEGATIVE_INFINITY : c == 2 && r.nextInt(50) == 0
                                ? Float.POSITIVE_INFINITY : (float) r.nextInt(12) - 6f;
                    }
                    Tensor h = host.allocate(DType.F32, logits.length), d = dev.allocate(DType.F32, logits.length);
                    h.copyFrom(logits);
                    cuda.copy(d, h);
                    int[] idx = new int[rows * k];
                    float[] val = new float[rows * k];
                    cuda.topKRows(d, rows, V, ld, k, idx, val);
                    for (int row = 0; row < rows; row++) {
                        int base = row * ld;
                        int[] expected = IntStream.range(0, V).filter(i -> !Float.isNaN(logits[base + i])).boxed()
                                .sorted(Comparator.<Integer>comparingDouble(i -> -logits[base + i]).thenComparingInt(i -> i))
                                .limit(k).mapToInt(Integer::intValue).toArray();
                        int[] got = Arrays.copyOfRange(idx, row * k, row * k + expected.length);
                        assertThat(got).as("rows %d, V %d, ld %d, k %d, row %d", rows, V, ld, k, row).containsExactly(expected);
                        for (int i = 0; i < expected.length; i++) assertThat(val[row * k + i]).isEqualTo(logits[base + got[i]]);
                        for (int i = expected.length; i < k; i++) assertThat(val[row * k + i]).isEqualTo(Float.NEGATIVE_INFINITY);
                    }
                }
            }
            Tensor d = dev.allocate(DType.F32, 100);
            assertThatThrownBy(() -> cuda.topKRows(d, 2, 50, 40, 1, new int[2], new float[2])).hasMessageContaining("ld");
            assertThatThrownBy(() -> cuda.topKRows(d, 2, 50, 50, 3, new int[5], new float[6])).hasMessageContaining("room");
            assertThatThrownBy(() -> cuda.topKRows(d, 3, 50, 50, 1, new int[3], new float[3])).hasMessageContaining("logits");
        }
    }

    /**
     * How a row is cut: slices of about 2,048 logits, as many as the merge holds (2,048 / k), each at most 8,192 (32 KiB
     * of shared memory); a vocabulary beyond that is one clear error.
     */
    @Test
    void slicesOfARow() {
        assertThat(TopKRows.parts(50_257, 40)).isEqualTo(25);
        assertThat(TopKRows.parts(1, 1)).isEqualTo(1);
        assertThat(TopKRows.parts(128_256, 64)).isEqualTo(32);
        assertThat(TopKRows.parts(262_144, 64)).isEqualTo(32);
        assertThatThrownBy(() -> TopKRows.parts(262_145, 64)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("V: 262145");
    }
}
