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
}
