package dev.jgpt.backend.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The oracle's Llama ops against central finite differences of their own forward: for
 * {@code loss = sum(forward(...) * g)} with a random g, the backward given {@code dout = g} must be the
 * numerical gradient of every input. Plus hand-checked values.
 */
class ReferenceLlamaOpsTest {
    private final ReferenceBackend ops = new ReferenceBackend();
    private final TensorArena arena = ops.newArena();
    private final Random rnd = new Random(3);

    @AfterEach
    void close() {
        arena.close();
    }

    private Tensor random(double scale, long n) {
        Tensor t = arena.allocate(DType.F32, n);
        for (long i = 0; i < n; i++) t.setFloat(i, (float) (rnd.nextGaussian() * scale));
        return t;
    }

    private Tensor zeros(long n) {
        return arena.allocate(DType.F32, n);
    }

    private static double dot(Tensor a, Tensor b) {
        double s = 0;
        for (long i = 0; i < a.numel(); i++) s += (double) a.getFloat(i) * b.getFloat(i);
        return s;
    }

    /** Every element of {@code x}: analytic gradient {@code grad} vs (loss(x+h) - loss(x-h)) / 2h. */
    private static void assertGradient(String what, Tensor x, Tensor grad, DoubleSupplier loss) {
        double h = 1e-2;
        for (long i = 0; i < x.numel(); i++) {
            float keep = x.getFloat(i);
            x.setFloat(i, (float) (keep + h));
            double up = loss.getAsDouble();
            x.setFloat(i, (float) (keep - h));
            double down = loss.getAsDouble();
            x.setFloat(i, keep);
            double numeric = (up - down) / (2 * h);
            assertThat((double) grad.getFloat(i)).as("%s[%d]", what, i)
                    .isCloseTo(numeric, within(2e-3 * Math.max(1, Math.abs(numeric))));
        }
    }

    @Test
    void rmsnormOfAKnownRowAndItsGradient() {
        Tensor out = zeros(4), rstd = zeros(1);
        Tensor x1 = zeros(4), w1 = zeros(4);
        x1.copyFrom(new float[] {1, 2, 3, 4});
        w1.copyFrom(new float[] {1, 1, 2, 1});
        ops.rmsnormForward(out, rstd, x1, w1, 1, 4, 1e-5f);
        double r = 1 / Math.sqrt(30.0 / 4 + 1e-5); // mean of 1, 4, 9, 16 is 7.5
        assertThat((double) rstd.getFloat(0)).isCloseTo(r, within(1e-7));
        assertThat((double) out.getFloat(2)).isCloseTo(2 * 3 * r, within(1e-6));

        int N = 3, C = 5;
        Tensor x = random(1, N * C), w = random(1, C), g = random(1, N * C);
        Tensor o = zeros(N * C), rs = zeros(N), dx = zeros(N * C), dw = zeros(C);
        DoubleSupplier loss = () -> {
            ops.rmsnormForward(o, rs, x, w, N, C, 1e-5f);
            return dot(o, g);
        };
        loss.getAsDouble();
        ops.rmsnormBackward(dx, dw, g, x, w, rs, N, C);
        assertGradient("rmsnorm dinp", x, dx, loss);
        assertGradient("rmsnorm dweight", w, dw, loss);
    }

    @Test
    void ropeRotatesPairsByLlama2cAnglesAndItsBackwardIsTheTranspose() {
        int T = 3, hs = 4, NH = 2;
        Tensor cos = zeros(T * hs / 2), sin = zeros(T * hs / 2);
        Backend.ropeTables(cos, sin, T, hs, 10000.0);
        // position 1, pair i: angle 1 / 10000^(2i/4)
        assertThat((double) cos.getFloat(2)).isCloseTo(Math.cos(1.0), within(1e-7));
        assertThat((double) sin.getFloat(3)).isCloseTo(Math.sin(0.01), within(1e-7));
        Tensor x = zeros(T * NH * hs);
        x.setFloat(NH * hs, 1f);            // t = 1, head 0, pair 0 = (1, 0)
        ops.ropeForward(x, cos, sin, 1, T, NH, hs);
        assertThat((double) x.getFloat(NH * hs)).isCloseTo(Math.cos(1.0), within(1e-7));
        assertThat((double) x.getFloat(NH * hs + 1)).isCloseTo(Math.sin(1.0), within(1e-7));
        ops.ropeBackward(x, cos, sin, 1, T, NH, hs);   // a rotation's transpose is its inverse
        assertThat((double) x.getFloat(NH * hs)).isCloseTo(1.0, within(1e-6));

        int B = 2;
        Tensor in = random(1, B * T * NH * hs), g = random(1, B * T * NH * hs), work = zeros(in.numel());
        DoubleSupplier loss = () -> {
            ops.copy(work, in);
            ops.ropeForward(work, cos, sin, B, T, NH, hs);
            return dot(work, g);
        };
        Tensor dx = zeros(in.numel());
        ops.copy(dx, g);
        ops.ropeBackward(dx, cos, sin, B, T, NH, hs);
        assertGradient("rope dx", in, dx, loss);
    }

    @Test
    void swigluAndItsGradient() {
        Tensor out = zeros(2), a = zeros(2), u = zeros(2);
        a.copyFrom(new float[] {0, 2});
        u.copyFrom(new float[] {5, 3});
        ops.swigluForward(out, a, u, 2);
        assertThat(out.getFloat(0)).isZero();
        assertThat((double) out.getFloat(1)).isCloseTo(2 / (1 + Math.exp(-2)) * 3, within(1e-6));

        int n = 17;
        Tensor gate = random(2, n), up = random(1, n), g = random(1, n), o = zeros(n);
        Tensor dgate = random(1, n), dup = random(1, n);
        float[] dgate0 = dgate.toFloatArray(), dup0 = dup.toFloatArray();
        DoubleSupplier loss = () -> {
            ops.swigluForward(o, gate, up, n);
            return dot(o, g);
        };
        ops.swigluBackward(dgate, dup, g, gate, up, n);
        for (int i = 0; i < n; i++) { // backward accumulates: take the starting values off
            dgate.setFloat(i, dgate.getFloat(i) - dgate0[i]);
            dup.setFloat(i, dup.getFloat(i) - dup0[i]);
        }
        assertGradient("swiglu dgate", gate, dgate, loss);
        assertGradient("swiglu dup", up, dup, loss);
    }

    @Test
    void gqaAttentionGradientsMatchFiniteDifferences() {
        int B = 2, T = 5, NH = 4, NKV = 2, hs = 4;
        long nq = (long) B * T * NH * hs, nkv = (long) B * T * NKV * hs, na = (long) B * NH * T * T;
        Tensor q = random(1, nq), k = random(1, nkv), v = random(1, nkv), g = random(1, nq);
        Tensor out = zeros(nq), att = zeros(na), datt = zeros(na);
        Tensor dq = zeros(nq), dk = zeros(nkv), dv = zeros(nkv);
        DoubleSupplier loss = () -> {
            ops.gqaAttentionForward(out, att, q, k, v, B, T, NH, NKV, hs);
            return dot(out, g);
        };
        loss.getAsDouble();
        // causal: nothing above the diagonal, every row sums to 1
        assertThat(att.getFloat(1)).isZero();
        assertThat((double) att.getFloat(T) + att.getFloat(T + 1)).isCloseTo(1.0, within(1e-6));
        ops.gqaAttentionBackward(dq, dk, dv, datt, g, q, k, v, att, out, B, T, NH, NKV, hs);
        assertGradient("gqa dq", q, dq, loss);
        assertGradient("gqa dk", k, dk, loss);
        assertGradient("gqa dv", v, dv, loss);
    }

    /** With NKV = NH, the grouped op is GPT-2's attention on q, k, v laid side by side. */
    @Test
    void gqaWithOneQueryHeadPerKvHeadEqualsMultiHeadAttention() {
        int B = 2, T = 6, NH = 3, hs = 4, C = NH * hs;
        Tensor q = random(1, B * T * C), k = random(1, B * T * C), v = random(1, B * T * C);
        Tensor qkv = zeros(3L * B * T * C);
        for (int bt = 0; bt < B * T; bt++) {
            for (int c = 0; c < C; c++) {
                qkv.setFloat(bt * 3L * C + c, q.getFloat((long) bt * C + c));
                qkv.setFloat(bt * 3L * C + C + c, k.getFloat((long) bt * C + c));
                qkv.setFloat(bt * 3L * C + 2 * C + c, v.getFloat((long) bt * C + c));
            }
        }
        Tensor out1 = zeros(B * T * C), att1 = zeros((long) B * NH * T * T), out2 = zeros(B * T * C), att2 = zeros((long) B * NH * T * T);
        ops.attentionForward(out1, att1, qkv, B, T, C, NH);
        ops.gqaAttentionForward(out2, att2, q, k, v, B, T, NH, NH, hs);
        for (long i = 0; i < out1.numel(); i++) assertThat(out2.getFloat(i)).isCloseTo(out1.getFloat(i), within(1e-6f));
        for (long i = 0; i < att1.numel(); i++) assertThat(att2.getFloat(i)).isCloseTo(att1.getFloat(i), within(1e-6f));
    }
}
