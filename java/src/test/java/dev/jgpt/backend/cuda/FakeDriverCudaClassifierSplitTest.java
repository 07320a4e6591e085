package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link ClassifierSplitContractTest} on the stand-in driver, plus what only it can count: the tail's two products. */
class FakeDriverCudaClassifierSplitTest extends ClassifierSplitContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend(GemmMath.FP32);
    }

    @Test
    void theTailAddsTwoProductsPerChunk() {
        Tensor losses = dev.allocate(DType.F32, N), dx = dev.allocate(DType.F32, N, C), dwte = dev.allocate(DType.F32, V, C);
        Tensor x = dev.allocate(DType.F32, N, C), wte = dev.allocate(DType.F32, V, C), targets = dev.allocate(DType.I32, N);
        Tensor scratch = dev.allocate(DType.F32, (long) N * cuda.classifierRowStride(V));
        cuda.zero(targets);
        long[] calls = new long[2];
        for (int split = 0; split < 2; split++) {
            cuda.setClassifierSplit(split == 1);
            long before = FakeCuda.count(FakeCuda.Counter.CUBLAS);
            cuda.classifier(losses, dx, dwte, x, wte, targets, scratch, N, C, V, 1f / N, true);
            calls[split] = FakeCuda.count(FakeCuda.Counter.CUBLAS) - before;
        }
        assertThat(calls[0]).as("logits, dx, dwte").isEqualTo(3);
        assertThat(calls[1]).as("and the tails of logits and dx").isEqualTo(5);
    }
}
