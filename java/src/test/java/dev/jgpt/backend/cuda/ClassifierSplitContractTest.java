package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fused classifier with the vocabulary's rows multiplied in a multiple-of-64 part and a tail
 * ({@link CudaBackend#setClassifierSplit}, the default) and in one product: losses, dx and dwte against the reference
 * in fp32 (1e-4) and bf16 (1e-2), and split against unsplit in fp32 (1e-5), in one chunk of rows and in several.
 * Subclasses open the backend: the stand-in driver or a GPU.
 */
abstract class ClassifierSplitContractTest extends CudaReferenceFixture {
    static final double FP32 = 1e-4, BF16 = 1e-2;
    /** 1,000 rows: 960 in the first product, 40 in the tail (GPT-2's 50,257: 50,240 and 17). */
    static final int N = 24, C = 32, V = 1000;
    private final Random random = new Random(5);

    /** {losses, dx, dwte} on the host after one forward and backward; dx and dwte start from the same values. */
    private Tensor[] run(boolean cudaSide, Tensor x, Tensor wte, Tensor targets, Tensor dx0, Tensor dwte0, int rows) {
        if (!cudaSide) {
            Tensor losses = host.allocate(DType.F32, N), dx = copy(dx0), dwte = copy(dwte0);
            Tensor scratch = host.allocate(DType.F32, rows, V);
            ref.classifier(losses, dx, dwte, x, wte, targets, scratch, N, C, V, 1f / N, true);
            return new Tensor[] {losses, dx, dwte};
        }
        Tensor losses = dev.allocate(DType.F32, N), dx = up(dx0), dwte = up(dwte0);
        Tensor scratch = dev.allocate(DType.F32, (long) rows * cuda.classifierRowStride(V));
        cuda.classifier(losses, dx, dwte, up(x), up(wte), up(targets), scratch, N, C, V, 1f / N, true);
        return new Tensor[] {down(losses), down(dx), down(dwte)};
    }

    private Tensor copy(Tensor t) {
        Tensor c = host.allocate(t.dtype(), t.shape());
        for (long i = 0; i < t.numel(); i++) c.setFloat(i, t.getFloat(i));
        return c;
    }

    @Test
    void splitAndUnsplitProductsGiveTheReferenceClassifier() {
        Tensor x = randn(random, N, C), wte = randn(random, V, C), dx0 = randn(random, N, C), dwte0 = randn(random, V, C);
        Tensor targets = host.allocate(DType.I32, N);
        for (int i = 0; i < N; i++) targets.setInt(i, random.nextInt(V));
        String[] names = {"losses", "dx", "dwte"};
        for (int rows : new int[] {N, 7}) { // one chunk, then four
            Tensor[] expected = run(false, x, wte, targets, dx0, dwte0, rows);
            for (GemmMath math : new GemmMath[] {GemmMath.FP32, GemmMath.BF16}) {
                cuda.setMath(math);
                Tensor[][] got = new Tensor[2][];
                for (int split = 0; split < 2; split++) {
                    cuda.setClassifierSplit(split == 1);
                    got[split] = run(true, x, wte, targets, dx0, dwte0, rows);
                    for (int k = 0; k < 3; k++) {
                        assertThat(relative(expected[k], got[split][k]))
                                .as("%s, %s, rows %d, split %s", names[k], math, rows, split == 1)
                                .isLessThanOrEqualTo(math == GemmMath.FP32 ? FP32 : BF16);
                    }
                }
                if (math == GemmMath.FP32) {
                    for (int k = 0; k < 3; k++) {
                        assertThat(relative(got[0][k], got[1][k])).as("%s split vs unsplit, rows %d", names[k], rows).isLessThanOrEqualTo(1e-5);
                    }
                }
            }
        }
    }
}
