package dev.jgpt.backend.reference;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Hand-checked values for each op of the oracle, plus the contract's rules (accumulate, validate). */
class ReferenceBackendTest {
    private final ReferenceBackend ops = new ReferenceBackend();
    private final TensorArena arena = ops.newArena();

    @AfterEach
    void close() {
        arena.close();
    }

    private Tensor f(float... values) {
        Tensor t = arena.allocate(DType.F32, values.length);
        t.copyFrom(values);
        return t;
    }

    private Tensor zeros(int n) {
        return arena.allocate(DType.F32, n);
    }

    private Tensor ints(int... values) {
        Tensor t = arena.allocate(DType.I32, values.length);
        for (int i = 0; i < values.length; i++) t.setInt(i, values[i]);
        return t;
    }

    private Tensor random(Random rnd, int n) {
        Tensor t = zeros(n);
        for (int i = 0; i < n; i++) t.setFloat(i, (float) rnd.nextGaussian());
        return t;
    }

    @Test
    void layernormOfAKnownRow() {
        Tensor out = zeros(4), mean = zeros(1), rstd = zeros(1);
        ops.layernormForward(out, mean, rstd, f(1, 2, 3, 4), f(1, 1, 2, 1), f(0, 0, 0, 10), 1, 4);
        double s = 1 / Math.sqrt(1.25 + 1e-5); // variance of 1,2,3,4 is 1.25
        assertThat(mean.getFloat(0)).isEqualTo(2.5f);
        assertThat((double) rstd.getFloat(0)).isCloseTo(s, within(1e-6));
        assertThat((double) out.getFloat(0)).isCloseTo(-1.5 * s, within(1e-6));
        assertThat((double) out.getFloat(1)).isCloseTo(-0.5 * s, within(1e-6));
        assertThat((double) out.getFloat(2)).isCloseTo(2 * 0.5 * s, within(1e-6));
        assertThat((double) out.getFloat(3)).isCloseTo(1.5 * s + 10, within(1e-5));
    }

    @Test
    void layernormBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(1);
        int N = 3, C = 5;
        Tensor x = random(rnd, N * C), w = random(rnd, C), b = random(rnd, C), dout = random(rnd, N * C);
        Tensor out = zeros(N * C), mean = zeros(N), rstd = zeros(N);
        ops.layernormForward(out, mean, rstd, x, w, b, N, C);
        Tensor dx = zeros(N * C), dw = zeros(C), db = zeros(C);
        ops.layernormBackward(dx, dw, db, dout, x, w, mean, rstd, N, C);
        // loss = sum(out * dout): its gradient wrt x is dx
        for (int i = 0; i < N * C; i++) {
            float orig = x.getFloat(i);
            double h = 1e-2;
            x.setFloat(i, (float) (orig + h));
            double up = dotAfterLayernorm(x, w, b, dout, N, C);
            x.setFloat(i, (float) (orig - h));
            double down = dotAfterLayernorm(x, w, b, dout, N, C);
            x.setFloat(i, orig);
            assertThat((double) dx.getFloat(i)).as("dx[%d]", i).isCloseTo((up - down) / (2 * h), within(2e-3));
        }
        // dbias = column sums of dout
        for (int c = 0; c < C; c++) {
            double sum = 0;
            for (int n = 0; n < N; n++) sum += dout.getFloat(n * C + c);
            assertThat((double) db.getFloat(c)).isCloseTo(sum, within(1e-5));
        }
    }

    private double dotAfterLayernorm(Tensor x, Tensor w, Tensor b, Tensor dout, int N, int C) {
        Tensor out = zeros(N * C), mean = zeros(N), rstd = zeros(N);
        ops.layernormForward(out, mean, rstd, x, w, b, N, C);
        double s = 0;
        for (int i = 0; i < N * C; i++) s += (double) out.getFloat(i) * dout.getFloat(i);
        return s;
    }

    @Test
    void matmulForwardAndBackwardOfAKnownProduct() {
        // inp (2,3), weight (2,3): out = inp @ weight^T + bias
        Tensor inp = f(1, 2, 3, 4, 5, 6), w = f(1, 0, -1, 2, 1, 0), bias = f(10, 20);
        Tensor out = zeros(4);
        ops.matmulForward(out, inp, w, bias, 2, 3, 2);
        assertThat(out.toFloatArray()).containsExactly(1 - 3 + 10, 2 + 2 + 20, 4 - 6 + 10, 8 + 5 + 20);

        Tensor dout = f(1, 0, 0, 1), dinp = f(1, 1, 1, 1, 1, 1), dw = zeros(6), db = zeros(2);
        ops.matmulBackward(dinp, dw, db, dout, inp, w, 2, 3, 2);
        // dinp += dout @ w (starting from ones: backward accumulates)
        assertThat(dinp.toFloatArray()).containsExactly(2, 1, 0, 3, 2, 1);
        // dw = dout^T @ inp
        assertThat(dw.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(db.toFloatArray()).containsExactly(1, 1);
        ops.matmulBackward(dinp, dw, db, dout, inp, w, 2, 3, 2);
        assertThat(db.toFloatArray()).containsExactly(2, 2);
    }

    /** LoRA's pieces on the same product: a frozen weight's backward, and the adapter's scaled add and its backward. */
    @Test
    void frozenWeightAndMatmulAddOfAKnownProduct() {
        Tensor inp = f(1, 2, 3, 4, 5, 6), w = f(1, 0, -1, 2, 1, 0), dout = f(1, 0, 0, 1);
        Tensor dinp = f(1, 1, 1, 1, 1, 1), db = zeros(2);
        ops.matmulBackward(dinp, null, db, dout, inp, w, 2, 3, 2); // dweight null: dinp and dbias only
        assertThat(dinp.toFloatArray()).containsExactly(2, 1, 0, 3, 2, 1);
        assertThat(db.toFloatArray()).containsExactly(1, 1);
        ops.matmulBackwardOverwrite(dinp, null, null, dout, inp, w, 2, 3, 2);
        assertThat(dinp.toFloatArray()).containsExactly(1, 0, -1, 2, 1, 0);

        // out += 0.5 * inp @ w^T, inp @ w^T = (-2, 4, -2, 13)
        Tensor out = f(1, 1, 1, 1);
        ops.matmulAddForward(out, inp, w, 2, 3, 2, 0.5f);
        assertThat(out.toFloatArray()).containsExactly(0, 3, 0, 7.5f);
        // dinp = 2 * dout @ w (NaNs overwritten), dw = ones + 2 * dout^T @ inp
        Tensor nans = f(Float.NaN, Float.NaN, Float.NaN, Float.NaN, Float.NaN, Float.NaN), dw = f(1, 1, 1, 1, 1, 1);
        ops.matmulAddBackward(nans, dw, dout, inp, w, 2, 3, 2, 2f);
        assertThat(nans.toFloatArray()).containsExactly(2, 0, -2, 4, 2, 0);
        assertThat(dw.toFloatArray()).containsExactly(3, 5, 7, 9, 11, 13);
        assertThatThrownBy(() -> ops.matmulAddForward(zeros(3), inp, w, 2, 3, 2, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("out:");
        assertThatThrownBy(() -> ops.matmulAddBackward(zeros(6), null, dout, inp, w, 2, 3, 2, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("dweight:");
    }

    @Test
    void geluTanhForm() {
        Tensor out = zeros(3);
        ops.geluForward(out, f(0, 1, -3), 3);
        assertThat(out.getFloat(0)).isEqualTo(0f);
        assertThat((double) out.getFloat(1)).isCloseTo(0.8411919906, within(1e-6));
        assertThat((double) out.getFloat(2)).isCloseTo(-0.0036373920817, within(1e-6));
        Tensor x = f(-2, -0.5f, 0, 0.7f, 3), dx = zeros(5), y1 = zeros(5), y2 = zeros(5);
        ops.geluBackward(dx, x, f(1, 1, 1, 1, 1), 5);
        double h = 1e-3;
        for (int i = 0; i < 5; i++) {
            double xi = x.getFloat(i);
            double numeric = (gelu(xi + h) - gelu(xi - h)) / (2 * h);
            assertThat((double) dx.getFloat(i)).isCloseTo(numeric, within(1e-5));
        }
    }

    private static double gelu(double v) {
        return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    }

    @Test
    void residualAddsAndBackwardAccumulatesIntoBoth() {
        Tensor out = zeros(2);
        ops.residualForward(out, f(1, 2), f(10, 20), 2);
        assertThat(out.toFloatArray()).containsExactly(11, 22);
        Tensor da = f(1, 1), db = zeros(2);
        ops.residualBackward(da, db, f(3, 4), 2);
        assertThat(da.toFloatArray()).containsExactly(4, 5);
        assertThat(db.toFloatArray()).containsExactly(3, 4);
    }

    @Test
    void encoderAddsTokenAndPositionRows() {
        Tensor wte = f(1, 2, 3, 4, 5, 6), wpe = f(0.5f, 0.5f, 10, 10); // V=3, C=2, maxT=2
        Tensor out = zeros(4);
        ops.encoderForward(out, ints(2, 0), wte, wpe, 1, 2, 2);
        assertThat(out.toFloatArray()).containsExactly(5.5f, 6.5f, 11, 12);
        Tensor dwte = zeros(6), dwpe = zeros(4);
        ops.encoderBackward(dwte, dwpe, f(1, 2, 3, 4), ints(2, 2), 1, 2, 2);
        assertThat(dwte.toFloatArray()).containsExactly(0, 0, 0, 0, 4, 6);
        assertThat(dwpe.toFloatArray()).containsExactly(1, 2, 3, 4);
        assertThatThrownBy(() -> ops.encoderForward(out, ints(3, 0), wte, wpe, 1, 2, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token 3");
    }

    @Test
    void attentionIsCausalAndRowsSumToOne() {
        Random rnd = new Random(2);
        int B = 2, T = 4, C = 6, NH = 2;
        Tensor qkv = random(rnd, B * T * 3 * C), out = zeros(B * T * C), att = zeros(B * NH * T * T);
        ops.attentionForward(out, att, qkv, B, T, C, NH);
        for (int row = 0; row < B * NH * T; row++) {
            int t = row % T;
            double sum = 0;
            for (int t2 = 0; t2 < T; t2++) {
                float a = att.getFloat((long) row * T + t2);
                if (t2 > t) assertThat(a).isZero();
                sum += a;
            }
            assertThat(sum).isCloseTo(1, within(1e-6));
        }
        // the first token attends only to itself: its output is its own v
        int hs = C / NH;
        for (int c = 0; c < C; c++) assertThat(out.getFloat(c)).isEqualTo(qkv.getFloat(2 * C + c));
        assertThat(hs).isEqualTo(3);
    }

    @Test
    void attentionSoftmaxIsStableWithHugeScores() {
        // q = k = 1e4 in every channel: scores of 1e8 would overflow a naive exp
        int T = 2, C = 2, NH = 1;
        Tensor qkv = f(1e4f, 1e4f, 1e4f, 1e4f, 1, 2,
                       1e4f, 1e4f, 1e4f, 1e4f, 3, 4);
        Tensor out = zeros(T * C), att = zeros(T * T);
        ops.attentionForward(out, att, qkv, 1, T, C, NH);
        assertThat(att.toFloatArray()).containsExactly(1, 0, 0.5f, 0.5f);
        assertThat(out.toFloatArray()).containsExactly(1, 2, 2, 3);
    }

    @Test
    void attentionDecodeEqualsTheLastRowOfFullAttention() {
        Random rnd = new Random(3);
        int T = 5, C = 8, NH = 2;
        Tensor qkv = random(rnd, T * 3 * C), out = zeros(T * C), att = zeros(NH * T * T);
        ops.attentionForward(out, att, qkv, 1, T, C, NH);
        Tensor k = zeros(T * C), v = zeros(T * C), q = zeros(C);
        for (int t = 0; t < T; t++) {
            for (int c = 0; c < C; c++) {
                k.setFloat(t * C + c, qkv.getFloat(t * 3 * C + C + c));
                v.setFloat(t * C + c, qkv.getFloat(t * 3 * C + 2 * C + c));
            }
        }
        for (int pos = 0; pos < T; pos++) {
            for (int c = 0; c < C; c++) q.setFloat(c, qkv.getFloat(pos * 3 * C + c));
            Tensor o = zeros(C);
            ops.attentionDecode(o, zeros(NH * (pos + 1)), q, k, v, pos, C, NH);
            for (int c = 0; c < C; c++) {
                assertThat(o.getFloat(c)).isCloseTo(out.getFloat(pos * C + c), within(1e-6f));
            }
        }
    }

    @Test
    void classifierWithHugeLogitsAndIgnoredTargets() {
        // C=1, V=2: logits = x * [1, 0]
        Tensor wte = f(1, 0), x = f(1000, 0, 5), losses = f(9, 9, 9);
        Tensor targets = ints(0, -1, 1), dx = zeros(3), dwte = zeros(2);
        double sum = ops.classifier(losses, dx, dwte, x, wte, targets, zeros(2), 3, 1, 2, 0.5f, true);
        double lse5 = Math.log(Math.exp(5) + 1);
        assertThat((double) losses.getFloat(0)).isCloseTo(0, within(1e-6));   // logits (1000, 0), target 0
        assertThat(losses.getFloat(1)).isZero();                                // ignored
        assertThat((double) losses.getFloat(2)).isCloseTo(lse5, within(1e-5)); // logits (5, 0), target 1
        assertThat(sum).isCloseTo(lse5, within(1e-5));
        assertThat(dx.getFloat(1)).isZero(); // ignored row: no gradient
        // row 2: dlogits = (p - onehot) * 0.5 with p = softmax(5, 0); dx = dlogits . wte
        double p0 = Math.exp(5) / (Math.exp(5) + 1);
        assertThat((double) dx.getFloat(2)).isCloseTo(p0 * 0.5, within(1e-6));
        assertThat((double) dwte.getFloat(0)).isCloseTo(p0 * 0.5 * 5, within(1e-5));
        assertThat(Float.isFinite(dx.getFloat(0))).isTrue();
    }

    /** A frozen wte (dwte null): the same losses and dx as with a dwte. */
    @Test
    void classifierWithAFrozenWte() {
        Tensor wte = f(1, 0, 0.5f, -1), x = f(1, 2, 0, 5, -3, 1), targets = ints(0, -1, 1);
        Tensor losses = zeros(3), dx = f(1, 1, 1, 1, 1, 1), dwte = zeros(4);
        Tensor frozenLosses = zeros(3), frozenDx = f(1, 1, 1, 1, 1, 1);
        double sum = ops.classifier(losses, dx, dwte, x, wte, targets, zeros(2), 3, 2, 2, 0.5f, true);
        double frozen = ops.classifier(frozenLosses, frozenDx, null, x, wte, targets, zeros(2), 3, 2, 2, 0.5f, true);
        assertThat(frozen).isEqualTo(sum);
        assertThat(frozenLosses.toFloatArray()).containsExactly(losses.toFloatArray());
        assertThat(frozenDx.toFloatArray()).containsExactly(dx.toFloatArray());
        assertThat(dx.toFloatArray()).isNotEqualTo(new float[] {1, 1, 1, 1, 1, 1});
    }

    @Test
    void classifierChunkSizeDoesNotChangeResults() {
        Random rnd = new Random(4);
        int N = 7, C = 4, V = 5;
        Tensor x = random(rnd, N * C), wte = random(rnd, V * C);
        Tensor targets = ints(0, 4, -1, 2, 3, -5, 1);
        float[][] results = new float[2][];
        double[] sums = new double[2];
        int[] chunkRows = {1, N};
        for (int k = 0; k < 2; k++) {
            Tensor losses = zeros(N), dx = zeros(N * C), dwte = zeros(V * C);
            sums[k] = ops.classifier(losses, dx, dwte, x, wte, targets, zeros(chunkRows[k] * V), N, C, V, 1f / 5, true);
            float[] all = new float[N + N * C + V * C];
            System.arraycopy(losses.toFloatArray(), 0, all, 0, N);
            System.arraycopy(dx.toFloatArray(), 0, all, N, N * C);
            System.arraycopy(dwte.toFloatArray(), 0, all, N + N * C, V * C);
            results[k] = all;
        }
        assertThat(sums[0]).isEqualTo(sums[1]);
        assertThat(results[0]).containsExactly(results[1], within(1e-6f));
    }

    @Test
    void adamwFirstStepMovesBySignOfGradientPlusDecay() {
        // step 1 with bias correction: mhat = g, vhat = g^2, so the update is lr * (g/|g| + wd * w)
        Tensor p = f(1, -2), g = f(0.5f, -4), m = zeros(2), v = zeros(2);
        ops.adamw(p, g, m, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1, 1f);
        assertThat((double) p.getFloat(0)).isCloseTo(1 - 0.1 * (1 + 0.01), within(1e-6));
        assertThat((double) p.getFloat(1)).isCloseTo(-2 - 0.1 * (-1 - 0.02), within(1e-6));
        assertThat((double) m.getFloat(0)).isCloseTo(0.05, within(1e-7));
        assertThat((double) v.getFloat(1)).isCloseTo(0.001 * 16, within(1e-6)); // 1 - 0.999f is not exactly 0.001
        // gradScale multiplies the gradient first: scaling by 2 changes m but not the first step's direction
        Tensor p2 = f(1), m2 = zeros(1), v2 = zeros(1);
        ops.adamw(p2, f(0.25f), m2, v2, 0.1f, 0.9f, 0.999f, 1e-8f, 0f, 1, 2f);
        assertThat((double) m2.getFloat(0)).isCloseTo(0.05, within(1e-7));
    }

    @Test
    void sumSquaresInDouble() {
        assertThat(ops.sumSquares(f(3, 4, -12))).isEqualTo(169.0);
    }

    @Test
    void badShapesAndTypesNameTheArgument() {
        assertThatThrownBy(() -> ops.matmulForward(zeros(3), zeros(6), zeros(6), null, 2, 3, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("out:");
        assertThatThrownBy(() -> ops.matmulForward(zeros(4), zeros(6), zeros(6), zeros(1), 2, 3, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("bias:");
        assertThatThrownBy(() -> ops.encoderForward(zeros(4), zeros(2), zeros(6), zeros(4), 1, 2, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("tokens:")
                .hasMessageContaining("I32");
        assertThatThrownBy(() -> ops.attentionForward(zeros(30), zeros(30), zeros(90), 1, 1, 5, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("NH:");
        assertThatThrownBy(() -> ops.classifier(zeros(1), null, null, zeros(2), zeros(6), ints(3), zeros(3),
                1, 2, 3, 1f, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target 3");
        assertThatThrownBy(() -> ops.classifier(zeros(1), null, zeros(6), zeros(2), zeros(6), ints(0), zeros(3),
                1, 2, 3, 1f, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("dx:");
        assertThatThrownBy(() -> ops.copy(zeros(2), zeros(3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("dst:");
    }
}
