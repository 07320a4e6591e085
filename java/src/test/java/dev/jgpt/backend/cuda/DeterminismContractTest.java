package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.Backend;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.GptConfig;
import dev.jgpt.testing.TrainSteps;
import dev.jgpt.train.TrainableModel;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * A run on the cuda backend repeats bit for bit: the ops that sum over many rows (the layernorm backward's dweight and
 * dbias, the encoder backward's dwte, where several positions hold one token) add in one fixed order, whatever order
 * the GPU runs their blocks in, and so do whole training steps of GPT-2 (fp32, bf16) and Llama. The same for RMSNorm's dweight. Each check runs twice
 * and compares every bit; {@link #reorder(int)} lets the stand-in run the second time's blocks, warps and lanes in
 * other orders (on a GPU the hardware's scheduling varies by itself). Each op also stays within 1e-5 of the reference.
 * Subclasses open the backend: the stand-in driver or a GPU.
 */
abstract class DeterminismContractTest extends CudaReferenceFixture {
    private final Random random = new Random(41);

    /** Before run {@code run} (0, 1) of a check: the stand-in draws another execution order; a GPU does nothing. */
    abstract void reorder(int run);

    @Test
    void layernormBackwardAddsInOneOrder() {
        int N = 203, C = 48;
        Tensor dout = randn(N, C), inp = randn(N, C), w = randn(C), dinp0 = randn(N, C), dw0 = randn(C), db0 = randn(C);
        Tensor mean = host.allocate(DType.F32, N), rstd = host.allocate(DType.F32, N), out = host.allocate(DType.F32, N, C);
        ref.layernormForward(out, mean, rstd, inp, w, randn(C), N, C);
        float[][] first = null;
        for (int run = 0; run < 2; run++) {
            Tensor dinp = up(dinp0), dw = up(dw0), db = up(db0);
            reorder(run);
            cuda.layernormBackward(dinp, dw, db, up(dout), up(inp), up(w), up(mean), up(rstd), N, C);
            float[][] now = {down(dinp).toFloatArray(), down(dw).toFloatArray(), down(db).toFloatArray()};
            if (first == null) first = now;
            else for (int k = 0; k < 3; k++) assertThat(now[k]).as("run 2 vs run 1, " + "dinp dweight dbias".split(" ")[k]).containsExactly(first[k]);
        }
        Tensor dinp = copy(dinp0), dw = copy(dw0), db = copy(db0);
        ref.layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
        assertThat(relative(dw, asTensor(first[1]))).as("dweight vs the reference").isLessThan(1e-5);
        assertThat(relative(db, asTensor(first[2]))).as("dbias vs the reference").isLessThan(1e-5);
        assertThat(relative(dinp, asTensor(first[0]))).as("dinp vs the reference").isLessThan(1e-5);
    }

    @Test
    void rmsnormBackwardAddsInOneOrder() {
        // 203 rows: RMSNorm's dweight sums them in row splits (the last one shorter), then adds the splits in order
        int N = 203, C = 72;
        Tensor dout = randn(N, C), inp = randn(N, C), w = randn(C), dinp0 = randn(N, C), dw0 = randn(C);
        Tensor rstd = host.allocate(DType.F32, N), out = host.allocate(DType.F32, N, C);
        ref.rmsnormForward(out, rstd, inp, w, N, C, 1e-5f);
        float[][] first = null;
        for (int run = 0; run < 2; run++) {
            Tensor dinp = up(dinp0), dw = up(dw0);
            reorder(run);
            cuda.rmsnormBackward(dinp, dw, up(dout), up(inp), up(w), up(rstd), N, C);
            float[][] now = {down(dinp).toFloatArray(), down(dw).toFloatArray()};
            if (first == null) first = now;
            else for (int k = 0; k < 2; k++) assertThat(now[k]).as("run 2 vs run 1, " + (k == 0 ? "dinp" : "dweight")).containsExactly(first[k]);
        }
        Tensor dinp = copy(dinp0), dw = copy(dw0);
        ref.rmsnormBackward(dinp, dw, dout, inp, w, rstd, N, C);
        assertThat(relative(dw, asTensor(first[1]))).as("dweight vs the reference").isLessThan(1e-5);
        assertThat(relative(dinp, asTensor(first[0]))).as("dinp vs the reference").isLessThan(1e-5);
    }

    @Test
    void encoderBackwardAddsInOneOrder() {
        // 2 x 1100 positions: P = 4096 keys, so the sort takes a stride longer than a shared-memory chunk (2048); a run of
        // 900 positions of token 5 in row 0, and the other positions drawn from 6 tokens: long runs everywhere
        int B = 2, T = 1100, C = 24, V = 9;
        Tensor tokens = host.allocate(DType.I32, B * T);
        for (int i = 0; i < B * T; i++) tokens.setInt(i, i < 900 ? 5 : random.nextInt(6));
        tokens.setInt(B * T - 1, V - 1);
        Tensor dout = randn(B, T, C), dwte0 = randn(V, C), dwpe0 = randn(T, C);
        float[][] first = null;
        for (int run = 0; run < 2; run++) {
            Tensor dwte = up(dwte0), dwpe = up(dwpe0);
            reorder(run);
            cuda.encoderBackward(dwte, dwpe, up(dout), up(tokens), B, T, C);
            float[][] now = {down(dwte).toFloatArray(), down(dwpe).toFloatArray()};
            if (first == null) first = now;
            else {
                assertThat(now[0]).as("run 2 vs run 1, dwte").containsExactly(first[0]);
                assertThat(now[1]).as("run 2 vs run 1, dwpe").containsExactly(first[1]);
            }
        }
        Tensor dwte = copy(dwte0), dwpe = copy(dwpe0);
        ref.encoderBackward(dwte, dwpe, dout, tokens, B, T, C);
        assertThat(relative(dwte, asTensor(first[0]))).as("dwte vs the reference").isLessThan(1e-5);
        assertThat(relative(dwpe, asTensor(first[1]))).as("dwpe vs the reference").isLessThan(1e-5);
    }

    @Test
    void encoderBackwardMatchesTheReferenceAtEveryLength() {
        // 3 x 37 positions (P = 128: one chunk, no global stride), a single position (P = 2), and 9000 (P = 16384: three
        // stages with global strides, 4096 to 16384, each followed by its merge in shared memory)
        for (int[] shape : new int[][] {{3, 37}, {1, 1}, {1, 9000}}) {
            int B = shape[0], T = shape[1], C = T > 1000 ? 4 : 40, V = 11;
            Tensor tokens = host.allocate(DType.I32, B * T);
            for (int i = 0; i < B * T; i++) tokens.setInt(i, random.nextInt(4) * 3);
            Tensor dout = randn(B, T, C), dwte = randn(V, C), dwpe = randn(T, C);
            Tensor dwteD = up(dwte), dwpeD = up(dwpe);
            cuda.encoderBackward(dwteD, dwpeD, up(dout), up(tokens), B, T, C);
            ref.encoderBackward(dwte, dwpe, dout, tokens, B, T, C);
            assertThat(relative(dwte, down(dwteD))).as("dwte vs the reference, B " + B + " T " + T).isLessThan(1e-5);
            assertThat(relative(dwpe, down(dwpeD))).as("dwpe vs the reference, B " + B + " T " + T).isLessThan(1e-5);
        }
    }

    @Test
    void gpt2TrainingRepeatsBitForBit() {
        GptConfig cfg = new GptConfig(64, 32, 2, 2, 32);
        assertRepeats("GPT-2 fp32", GemmMath.FP32, b -> new Gpt2(b, cfg, 2, 24), cfg.vocabSize());
    }

    @Test
    void gpt2Bf16TrainingRepeatsBitForBit() {
        GptConfig cfg = new GptConfig(64, 32, 2, 2, 32);
        assertRepeats("GPT-2 bf16", GemmMath.BF16, b -> new Gpt2(b, cfg, 2, 24), cfg.vocabSize());
    }

    @Test
    void llamaTrainingRepeatsBitForBit() {
        LlamaConfig cfg = LlamaConfig.llama2c(32, 48, 2, 4, 2, 40, 32, false);
        assertRepeats("Llama fp32", GemmMath.FP32, b -> new LlamaTrainModel(b, cfg, 2, 24), cfg.vocabSize());
    }

    /** Four training steps twice on fresh backends in {@code math}: the same losses and AdamW moments, bit for bit. */
    private void assertRepeats(String what, GemmMath math, Function<Backend, TrainableModel> model, int vocab) {
        float[][] first = null;
        for (int run = 0; run < 2; run++) {
            try (CudaBackend backend = open()) {
                backend.setMath(math);
                reorder(run);
                float[][] now = train(backend, model, vocab);
                if (first == null) first = now;
                else {
                    assertThat(now[0]).as(what + ": losses, run 2 vs run 1").containsExactly(first[0]);
                    assertThat(now[1]).as(what + ": AdamW's first moment after the last step, run 2 vs run 1").containsExactly(first[1]);
                    assertThat(now[2]).as(what + ": AdamW's second moment, run 2 vs run 1").containsExactly(first[2]);
                }
            }
        }
        assertThat(first[0][first[0].length - 1]).as(what + ": it learns").isLessThan(first[0][0]);
    }

    /** Losses of 4 steps on batches of few distinct tokens (many repeats per batch), then AdamW's moments. */
    private static float[][] train(CudaBackend backend, Function<Backend, TrainableModel> open, int vocab) {
        int B = 2, T = 24, steps = 4;
        try (TrainableModel model = open.apply(backend); TensorArena host = TensorArena.host()) {
            if (model instanceof Gpt2 g) g.initWeights(7);
            else ((LlamaTrainModel) model).initWeights(7);
            Random rnd = new Random(13);
            float[] losses = new float[steps];
            Tensor tokens = host.allocate(DType.I32, B * T), targets = host.allocate(DType.I32, B * T);
            for (int s = 0; s < steps; s++) {
                for (int i = 0; i < B * T; i++) {
                    tokens.setInt(i, rnd.nextInt(6));
                    targets.setInt(i, (tokens.getInt(i) * 5 + 1) % vocab);
                }
                model.zeroGrad();
                losses[s] = model.forwardBackward(tokens, targets, B, T);
                TrainSteps.clipAndAdamw(model, 1e-2f, 0.1f);
            }
            return new float[][] {losses, hostFloats(backend, model.optimizerM(), host), hostFloats(backend, model.optimizerV(), host)};
        }
    }

    private static float[] hostFloats(CudaBackend cuda, Tensor t, TensorArena host) {
        Tensor h = host.allocate(DType.F32, t.numel());
        cuda.copy(h, t);
        return h.toFloatArray();
    }

    private Tensor asTensor(float[] values) {
        Tensor t = host.allocate(DType.F32, values.length);
        t.copyFrom(values);
        return t;
    }

    private Tensor copy(Tensor h) {
        Tensor t = host.allocate(h.dtype(), h.shape());
        ref.copy(t, h);
        return t;
    }

    private Tensor randn(long... shape) {
        return randn(random, shape);
    }
}
