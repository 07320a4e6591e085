package dev.jgpt.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The kernel contract, checked op by op against {@link ReferenceBackend} on random inputs of odd
 * sizes (B=3, T=7, C=20, NH=4, V=37), forward and backward (with non-zero gradients beforehand, so
 * accumulation is checked too). A backend subclasses this with {@link #backendUnderTest()}; its
 * tensors are filled and read only through {@link Backend#copy}, so device backends fit too.
 */
public abstract class BackendContractTest {
    protected static final int B = 3, T = 7, C = 20, NH = 4, V = 37, N = B * T;
    protected static final double TOLERANCE = 1e-4;

    /** A fresh backend to test (closed after each test). */
    protected abstract Backend backendUnderTest();

    protected Backend ref;
    protected Backend dut;
    private TensorArena refArena;
    private TensorArena dutArena;
    private TensorArena hostArena;
    private final Random random = new Random(42);

    @BeforeEach
    void open() {
        ref = new ReferenceBackend();
        dut = backendUnderTest();
        refArena = ref.newArena();
        dutArena = dut.newArena();
        hostArena = TensorArena.host();
    }

    @AfterEach
    void close() {
        // a subclass may skip (assumption) inside backendUnderTest(): close only what was opened
        for (AutoCloseable c : new AutoCloseable[] {dutArena, refArena, hostArena, dut, ref}) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + c, e);
            }
        }
    }

    /** The same values on the reference side and on the backend under test. */
    protected final class Pair {
        final Tensor r;
        final Tensor d;

        Pair(DType type, long... shape) {
            r = refArena.allocate(type, shape);
            d = dutArena.allocate(type, shape);
        }

        Pair randn(double scale) {
            for (long i = 0; i < r.numel(); i++) r.setFloat(i, (float) (random.nextGaussian() * scale));
            return sync();
        }

        Pair ints(int bound) {
            for (long i = 0; i < r.numel(); i++) r.setInt(i, random.nextInt(bound));
            return sync();
        }

        Pair sync() {
            dut.copy(d, r);
            return this;
        }

        /** The backend's values, brought to the host. */
        float[] dutValues() {
            Tensor h = hostArena.allocate(r.dtype(), r.shape());
            dut.copy(h, d);
            return h.toFloatArray();
        }

        void assertClose(String what) {
            assertClose(what, r.toFloatArray(), dutValues());
        }

        static void assertClose(String what, float[] expected, float[] actual) {
            assertThat(actual).as(what + " length").hasSameSizeAs(expected);
            double maxRef = 0, maxDiff = 0;
            int worst = -1;
            for (int i = 0; i < expected.length; i++) {
                assertThat(Float.isFinite(actual[i])).as(what + "[" + i + "] is finite").isTrue();
                maxRef = Math.max(maxRef, Math.abs(expected[i]));
                double diff = Math.abs((double) expected[i] - actual[i]);
                if (diff > maxDiff) {
                    maxDiff = diff;
                    worst = i;
                }
            }
            double rel = maxDiff / Math.max(maxRef, 1e-6);
            assertThat(rel).as(what + ": max |diff| " + maxDiff + " at " + worst + " vs max |ref| " + maxRef)
                    .isLessThanOrEqualTo(TOLERANCE);
        }
    }

    protected Pair randn(double scale, long... shape) {
        return new Pair(DType.F32, shape).randn(scale);
    }

    protected Pair tokens(int bound, long... shape) {
        return new Pair(DType.I32, shape).ints(bound);
    }

    // ---- ops ------------------------------------------------------------------------------------

    @Test
    void encoder() {
        Pair out = randn(1, B, T, C), tok = tokens(V, B, T), wte = randn(1, V, C), wpe = randn(1, T, C);
        ref.encoderForward(out.r, tok.r, wte.r, wpe.r, B, T, C);
        dut.encoderForward(out.d, tok.d, wte.d, wpe.d, B, T, C);
        out.assertClose("encoder out");

        Pair dwte = randn(1, V, C), dwpe = randn(1, T, C), dout = randn(1, B, T, C);
        ref.encoderBackward(dwte.r, dwpe.r, dout.r, tok.r, B, T, C);
        dut.encoderBackward(dwte.d, dwpe.d, dout.d, tok.d, B, T, C);
        dwte.assertClose("dwte");
        dwpe.assertClose("dwpe");
    }

    @Test
    void layernorm() {
        Pair out = randn(1, N, C), mean = randn(1, N), rstd = randn(1, N);
        Pair inp = randn(3, N, C), w = randn(1, C), b = randn(1, C);
        ref.layernormForward(out.r, mean.r, rstd.r, inp.r, w.r, b.r, N, C);
        dut.layernormForward(out.d, mean.d, rstd.d, inp.d, w.d, b.d, N, C);
        out.assertClose("layernorm out");
        mean.assertClose("mean");
        rstd.assertClose("rstd");

        Pair dinp = randn(1, N, C), dw = randn(1, C), db = randn(1, C), dout = randn(1, N, C);
        ref.layernormBackward(dinp.r, dw.r, db.r, dout.r, inp.r, w.r, mean.r, rstd.r, N, C);
        dut.layernormBackward(dinp.d, dw.d, db.d, dout.d, inp.d, w.d, mean.d, rstd.d, N, C);
        dinp.assertClose("layernorm dinp");
        dw.assertClose("layernorm dweight");
        db.assertClose("layernorm dbias");

        Pair copy = randn(1, N, C);
        ref.layernormBackwardCopy(dinp.r, copy.r, dw.r, db.r, dout.r, inp.r, w.r, mean.r, rstd.r, N, C);
        dut.layernormBackwardCopy(dinp.d, copy.d, dw.d, db.d, dout.d, inp.d, w.d, mean.d, rstd.d, N, C);
        dinp.assertClose("layernorm dinp (with a copy)");
        copy.assertClose("layernorm dinp's copy");
        Pair.assertClose("the copy is dinp", dinp.r.toFloatArray(), copy.dutValues());
        dw.assertClose("layernorm dweight (with a copy)");
    }

    @Test
    void residualLayernorm() {
        Pair residual = randn(1, N, C), out = randn(1, N, C), mean = randn(1, N), rstd = randn(1, N);
        Pair x = randn(2, N, C), y = randn(1, N, C), w = randn(1, C), b = randn(1, C);
        ref.residualLayernormForward(residual.r, out.r, mean.r, rstd.r, x.r, y.r, w.r, b.r, N, C);
        dut.residualLayernormForward(residual.d, out.d, mean.d, rstd.d, x.d, y.d, w.d, b.d, N, C);
        residual.assertClose("residual");
        out.assertClose("residual layernorm out");
        mean.assertClose("mean");
        rstd.assertClose("rstd");
    }

    @Test
    void matmulWithAndWithoutBias() {
        int OC = 3 * C + 1;
        Pair out = randn(1, N, OC), inp = randn(1, N, C), w = randn(1, OC, C), bias = randn(1, OC);
        ref.matmulForward(out.r, inp.r, w.r, bias.r, N, C, OC);
        dut.matmulForward(out.d, inp.d, w.d, bias.d, N, C, OC);
        out.assertClose("matmul out (bias)");
        ref.matmulForward(out.r, inp.r, w.r, null, N, C, OC);
        dut.matmulForward(out.d, inp.d, w.d, null, N, C, OC);
        out.assertClose("matmul out (no bias)");

        Pair dinp = randn(1, N, C), dw = randn(1, OC, C), db = randn(1, OC), dout = randn(1, N, OC);
        ref.matmulBackward(dinp.r, dw.r, db.r, dout.r, inp.r, w.r, N, C, OC);
        dut.matmulBackward(dinp.d, dw.d, db.d, dout.d, inp.d, w.d, N, C, OC);
        dinp.assertClose("matmul dinp");
        dw.assertClose("matmul dweight");
        db.assertClose("matmul dbias");
        ref.matmulBackward(dinp.r, dw.r, null, dout.r, inp.r, w.r, N, C, OC);
        dut.matmulBackward(dinp.d, dw.d, null, dout.d, inp.d, w.d, N, C, OC);
        dinp.assertClose("matmul dinp (no dbias)");
        dw.assertClose("matmul dweight (no dbias)");
    }

    /** The overwriting backward ignores what dinp held, NaNs included, and still accumulates dweight and dbias. */
    @Test
    void matmulBackwardOverwritesDinp() {
        int OC = 3 * C + 1;
        Pair inp = randn(1, N, C), w = randn(1, OC, C), dout = randn(1, N, OC);
        Pair dinp = new Pair(DType.F32, N, C), dw = randn(1, OC, C), db = randn(1, OC);
        for (long i = 0; i < dinp.r.numel(); i++) dinp.r.setFloat(i, Float.NaN);
        dinp.sync();
        ref.matmulBackwardOverwrite(dinp.r, dw.r, db.r, dout.r, inp.r, w.r, N, C, OC);
        dut.matmulBackwardOverwrite(dinp.d, dw.d, db.d, dout.d, inp.d, w.d, N, C, OC);
        dinp.assertClose("matmul dinp (overwritten)");
        dw.assertClose("matmul dweight (accumulated)");
        db.assertClose("matmul dbias (accumulated)");
    }

    /**
     * A frozen weight (LoRA's base matrices): with dweight null, matmulBackward and matmulBackwardOverwrite give the dinp
     * (and the dbias, where one is given) that they give with a dweight, and write nothing else: the inputs stay as
     * they were.
     */
    @Test
    void matmulBackwardWithAFrozenWeight() {
        int OC = 3 * C + 1;
        Pair inp = randn(1, N, C), w = randn(1, OC, C), dout = randn(1, N, OC);
        float[] inpBefore = inp.r.toFloatArray(), wBefore = w.r.toFloatArray(), doutBefore = dout.r.toFloatArray();
        for (boolean overwrite : new boolean[] {false, true}) {
            for (boolean withBias : new boolean[] {false, true}) {
                String tag = (overwrite ? " (overwrite" : " (accumulate") + (withBias ? ", dbias)" : ", no dbias)");
                Pair dinp = overwrite ? nans(N, C) : randn(1, N, C), frozenDinp = same(dinp), dw = randn(1, OC, C);
                Pair db = randn(1, OC), frozenDb = same(db);
                // the expected values: the backward with a dweight, on both sides
                matmulBackward(ref, overwrite, dinp.r, dw.r, withBias ? db.r : null, dout.r, inp.r, w.r, OC);
                matmulBackward(dut, overwrite, dinp.d, dw.d, withBias ? db.d : null, dout.d, inp.d, w.d, OC);
                matmulBackward(ref, overwrite, frozenDinp.r, null, withBias ? frozenDb.r : null, dout.r, inp.r, w.r, OC);
                matmulBackward(dut, overwrite, frozenDinp.d, null, withBias ? frozenDb.d : null, dout.d, inp.d, w.d, OC);
                assertThat(frozenDinp.r.toFloatArray()).as("reference dinp of a frozen weight" + tag).containsExactly(dinp.r.toFloatArray());
                Pair.assertClose("dinp of a frozen weight vs with a dweight" + tag, dinp.r.toFloatArray(), frozenDinp.dutValues());
                Pair.assertClose("dinp of a frozen weight vs the backend's own with a dweight" + tag, dinp.dutValues(),
                        frozenDinp.dutValues());
                Pair.assertClose("dbias of a frozen weight" + tag, db.r.toFloatArray(), frozenDb.dutValues());
            }
        }
        assertThat(inp.dutValues()).as("inp untouched").containsExactly(inpBefore);
        assertThat(w.dutValues()).as("weight untouched").containsExactly(wBefore);
        assertThat(dout.dutValues()).as("dout untouched").containsExactly(doutBefore);
    }

    private static void matmulBackward(Backend b, boolean overwrite, Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout,
                                       Tensor inp, Tensor weight, int OC) {
        if (overwrite) b.matmulBackwardOverwrite(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
        else b.matmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
    }

    /**
     * A LoRA adapter's B product, {@code out += alpha * inp @ weight^T}: onto an out that holds the frozen product
     * already, at LoRA's shape (a low rank in, a wide out) and a plain one; against a hand loop on the host, on the
     * reference and on the backend under test.
     */
    @Test
    void matmulAddForwardAccumulatesTheScaledProduct() {
        for (int[] shape : new int[][] {{5, 3 * C + 1}, {C, 8}}) {
            int c = shape[0], oc = shape[1];
            for (float alpha : new float[] {0.37f, 2.0f}) {
                String tag = " (C=" + c + " OC=" + oc + " alpha=" + alpha + ")";
                Pair out = randn(1, N, oc), inp = randn(1, N, c), w = randn(1, oc, c);
                float[] x = inp.r.toFloatArray(), wt = w.r.toFloatArray(), expected = out.r.toFloatArray();
                for (int n = 0; n < N; n++) {
                    for (int o = 0; o < oc; o++) {
                        double acc = 0;
                        for (int i = 0; i < c; i++) acc += (double) x[n * c + i] * wt[o * c + i];
                        expected[n * oc + o] += (float) (alpha * acc);
                    }
                }
                ref.matmulAddForward(out.r, inp.r, w.r, N, c, oc, alpha);
                dut.matmulAddForward(out.d, inp.d, w.d, N, c, oc, alpha);
                Pair.assertClose("reference matmulAdd out vs a hand loop" + tag, expected, out.r.toFloatArray());
                Pair.assertClose("matmulAdd out vs a hand loop" + tag, expected, out.dutValues());
                out.assertClose("matmulAdd out" + tag);
            }
        }
    }

    /**
     * The backward of {@link Backend#matmulAddForward}: dinp = alpha * dout @ weight overwritten (it starts as NaNs),
     * dweight += alpha * dout^T @ inp onto a non-zero start; against hand loops, on the reference and on the backend.
     */
    @Test
    void matmulAddBackwardOverwritesDinpAndAccumulatesDweight() {
        for (int[] shape : new int[][] {{5, 3 * C + 1}, {C, 8}}) {
            int c = shape[0], oc = shape[1];
            for (float alpha : new float[] {0.37f, 2.0f}) {
                String tag = " (C=" + c + " OC=" + oc + " alpha=" + alpha + ")";
                Pair dinp = nans(N, c), dw = randn(1, oc, c), dout = randn(1, N, oc), inp = randn(1, N, c), w = randn(1, oc, c);
                float[] g = dout.r.toFloatArray(), x = inp.r.toFloatArray(), wt = w.r.toFloatArray();
                float[] wantDinp = new float[N * c], wantDw = dw.r.toFloatArray();
                for (int n = 0; n < N; n++) {
                    for (int i = 0; i < c; i++) {
                        double acc = 0;
                        for (int o = 0; o < oc; o++) acc += (double) g[n * oc + o] * wt[o * c + i];
                        wantDinp[n * c + i] = (float) (alpha * acc);
                    }
                }
                for (int o = 0; o < oc; o++) {
                    for (int i = 0; i < c; i++) {
                        double acc = 0;
                        for (int n = 0; n < N; n++) acc += (double) g[n * oc + o] * x[n * c + i];
                        wantDw[o * c + i] += (float) (alpha * acc);
                    }
                }
                ref.matmulAddBackward(dinp.r, dw.r, dout.r, inp.r, w.r, N, c, oc, alpha);
                dut.matmulAddBackward(dinp.d, dw.d, dout.d, inp.d, w.d, N, c, oc, alpha);
                Pair.assertClose("reference matmulAdd dinp vs a hand loop" + tag, wantDinp, dinp.r.toFloatArray());
                Pair.assertClose("reference matmulAdd dweight vs a hand loop" + tag, wantDw, dw.r.toFloatArray());
                Pair.assertClose("matmulAdd dinp (overwritten) vs a hand loop" + tag, wantDinp, dinp.dutValues());
                Pair.assertClose("matmulAdd dweight (accumulated) vs a hand loop" + tag, wantDw, dw.dutValues());
            }
        }
    }

    @Test
    void matmulAddRefusesBadArguments() {
        int OC = 8;
        Pair out = randn(1, N, OC), inp = randn(1, N, C), w = randn(1, OC, C), small = randn(1, N, OC - 1);
        Pair ids = tokens(3, N, C);
        assertThatThrownBy(() -> dut.matmulAddForward(small.d, inp.d, w.d, N, C, OC, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out");
        assertThatThrownBy(() -> dut.matmulAddForward(out.d, ids.d, w.d, N, C, OC, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("inp");
        assertThatThrownBy(() -> dut.matmulAddForward(out.d, inp.d, null, N, C, OC, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight");
        Pair dinp = randn(1, N, C), dw = randn(1, OC, C);
        assertThatThrownBy(() -> dut.matmulAddBackward(dinp.d, null, out.d, inp.d, w.d, N, C, OC, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dweight");
        assertThatThrownBy(() -> dut.matmulAddBackward(dinp.d, dw.d, small.d, inp.d, w.d, N, C, OC, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dout");
        assertThatThrownBy(() -> dut.matmulAddBackward(null, dw.d, out.d, inp.d, w.d, N, C, OC, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dinp");
        assertThatThrownBy(() -> dut.matmulAddForward(out.d, inp.d, w.d, 0, C, OC, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("N");
    }

    @Test
    void attention() {
        Pair out = randn(1, B, T, C), att = randn(1, B, NH, T, T), qkv = randn(1, B, T, 3 * C);
        ref.attentionForward(out.r, att.r, qkv.r, B, T, C, NH);
        dut.attentionForward(out.d, att.d, qkv.d, B, T, C, NH);
        att.assertClose("att");
        out.assertClose("attention out");

        Pair dqkv = randn(1, B, T, 3 * C), datt = randn(1, B, NH, T, T), dout = randn(1, B, T, C);
        ref.attentionBackward(dqkv.r, datt.r, dout.r, qkv.r, att.r, out.r, B, T, C, NH);
        dut.attentionBackward(dqkv.d, datt.d, dout.d, qkv.d, att.d, out.d, B, T, C, NH);
        dqkv.assertClose("dqkv");
    }

    @Test
    void attentionBackwardOverwritesDqkv() {
        Pair out = randn(1, B, T, C), att = randn(1, B, NH, T, T), qkv = randn(1, B, T, 3 * C);
        ref.attentionForward(out.r, att.r, qkv.r, B, T, C, NH);
        dut.attentionForward(out.d, att.d, qkv.d, B, T, C, NH);
        Pair dqkv = new Pair(DType.F32, B, T, 3 * C), datt = randn(1, B, NH, T, T), dout = randn(1, B, T, C);
        for (long i = 0; i < dqkv.r.numel(); i++) dqkv.r.setFloat(i, Float.NaN);
        dqkv.sync();
        ref.attentionBackwardOverwrite(dqkv.r, datt.r, dout.r, qkv.r, att.r, out.r, B, T, C, NH);
        dut.attentionBackwardOverwrite(dqkv.d, datt.d, dout.d, qkv.d, att.d, out.d, B, T, C, NH);
        dqkv.assertClose("dqkv (overwritten)");
    }

    /** A longer sequence than the tests' T: kernels that tile the causal triangle (64 rows) cross tiles here. */
    @Test
    void attentionAcrossCausalBlocks() {
        int b = 2, t = 131, c = 12, nh = 3;
        Pair out = randn(1, b, t, c), att = randn(1, b, nh, t, t), qkv = randn(1, b, t, 3 * c);
        ref.attentionForward(out.r, att.r, qkv.r, b, t, c, nh);
        dut.attentionForward(out.d, att.d, qkv.d, b, t, c, nh);
        att.assertClose("att (T=131)");
        out.assertClose("attention out (T=131)");
        Pair dqkv = randn(1, b, t, 3 * c), datt = randn(1, b, nh, t, t), dout = randn(1, b, t, c);
        ref.attentionBackward(dqkv.r, datt.r, dout.r, qkv.r, att.r, out.r, b, t, c, nh);
        dut.attentionBackward(dqkv.d, datt.d, dout.d, qkv.d, att.d, out.d, b, t, c, nh);
        dqkv.assertClose("dqkv (T=131)");
        datt.assertClose("datt (T=131): d(scores), zero above the diagonal");
    }

    /**
     * The block ops at shapes that stress a kernel's indexing: one token; widths below, at and above a warp
     * (24, 32, 96) and GPT-2's 768 with 12 heads of 64; sequence lengths that cross 32- and 64-row tiles
     * (33, 65); a vocabulary that is no multiple of anything (1,000) in one chunk and in several; more sequences than
     * heads (5 of 2: cuda's attention products then loop over heads, batching the sequences).
     */
    @Test
    void blockOpsAcrossShapes() {
        int[][] shapes = {{1, 1, 32, 1, 3}, {2, 33, 96, 3, 1000}, {1, 65, 24, 6, 50}, {1, 40, 768, 12, 257}, {5, 9, 16, 2, 40}};
        for (int[] sh : shapes) {
            int b = sh[0], t = sh[1], c = sh[2], nh = sh[3], v = sh[4], n = b * t;
            String at = " at B=" + b + " T=" + t + " C=" + c + " NH=" + nh + " V=" + v;
            Pair x = randn(1, n, c), y = randn(1, n, c), w = randn(1, c), bias = randn(1, c);
            Pair res = randn(1, n, c), ln = randn(1, n, c), mean = randn(1, n), rstd = randn(1, n);
            ref.residualLayernormForward(res.r, ln.r, mean.r, rstd.r, x.r, y.r, w.r, bias.r, n, c);
            dut.residualLayernormForward(res.d, ln.d, mean.d, rstd.d, x.d, y.d, w.d, bias.d, n, c);
            ln.assertClose("residual layernorm" + at);
            Pair dx = randn(1, n, c), dw = randn(1, c), db = randn(1, c), dout = randn(1, n, c);
            ref.layernormBackward(dx.r, dw.r, db.r, dout.r, res.r, w.r, mean.r, rstd.r, n, c);
            dut.layernormBackward(dx.d, dw.d, db.d, dout.d, res.d, w.d, mean.d, rstd.d, n, c);
            dx.assertClose("layernorm dinp" + at);
            dw.assertClose("layernorm dweight" + at);
            db.assertClose("layernorm dbias" + at);

            Pair out = randn(1, n, c), att = randn(1, b, nh, t, t), qkv = randn(1, n, 3 * c);
            ref.attentionForward(out.r, att.r, qkv.r, b, t, c, nh);
            dut.attentionForward(out.d, att.d, qkv.d, b, t, c, nh);
            out.assertClose("attention out" + at);
            Pair dqkv = randn(1, n, 3 * c), datt = randn(1, b, nh, t, t), dao = randn(1, n, c);
            ref.attentionBackward(dqkv.r, datt.r, dao.r, qkv.r, att.r, out.r, b, t, c, nh);
            dut.attentionBackward(dqkv.d, datt.d, dao.d, qkv.d, att.d, out.d, b, t, c, nh);
            dqkv.assertClose("dqkv" + at);

            Pair losses = randn(1, n), wte = randn(0.5, v, c), targets = tokens(v, n), dxc = randn(1, n, c), dwte = randn(1, v, c);
            for (int rows : new int[] {n, Math.max(1, n / 3)}) { // one chunk, then several
                Pair scratch = randn(1, rows, v);
                double r = ref.classifier(losses.r, dxc.r, dwte.r, ln.r, wte.r, targets.r, scratch.r, n, c, v, 1f / n, true);
                double d = dut.classifier(losses.d, dxc.d, dwte.d, ln.d, wte.d, targets.d, scratch.d, n, c, v, 1f / n, true);
                assertThat(d).as("summed loss" + at).isCloseTo(r, org.assertj.core.data.Offset.offset(Math.abs(r) * TOLERANCE));
                losses.assertClose("losses" + at + ", chunks of " + rows);
                dxc.assertClose("classifier dx" + at + ", chunks of " + rows);
                dwte.assertClose("classifier dwte" + at + ", chunks of " + rows);
            }
        }
    }

    @Test
    void attentionDecodeMatchesTheLastRowOfFullAttention() {
        int maxT = 9, pos = 6;
        Pair out = randn(1, C), att = randn(1, NH * maxT), q = randn(1, C), k = randn(1, maxT, C), v = randn(1, maxT, C);
        ref.attentionDecode(out.r, att.r, q.r, k.r, v.r, pos, C, NH);
        dut.attentionDecode(out.d, att.d, q.d, k.d, v.d, pos, C, NH);
        out.assertClose("decode out");
        float[] a = att.r.toFloatArray(), b = att.dutValues();
        float[] ra = java.util.Arrays.copyOf(a, NH * (pos + 1)), rb = java.util.Arrays.copyOf(b, NH * (pos + 1));
        Pair.assertClose("decode att", ra, rb);
        // pos 0: attends to itself only, out = v[0]
        dut.attentionDecode(out.d, att.d, q.d, k.d, v.d, 0, C, NH);
        Pair.assertClose("decode pos 0", java.util.Arrays.copyOf(v.r.toFloatArray(), C), out.dutValues());
    }

    @Test
    void gelu() {
        int n = N * 4 * C + 3;
        Pair out = randn(1, n), inp = randn(3, n);
        ref.geluForward(out.r, inp.r, n);
        dut.geluForward(out.d, inp.d, n);
        out.assertClose("gelu out");
        Pair dinp = randn(1, n), dout = randn(1, n);
        ref.geluBackward(dinp.r, inp.r, dout.r, n);
        dut.geluBackward(dinp.d, inp.d, dout.d, n);
        dinp.assertClose("gelu dinp");
    }

    @Test
    void residual() {
        int n = N * C + 1;
        Pair out = randn(1, n), a = randn(1, n), b = randn(1, n);
        ref.residualForward(out.r, a.r, b.r, n);
        dut.residualForward(out.d, a.d, b.d, n);
        out.assertClose("residual out");
        Pair dout = randn(1, n);
        ref.residualBackward(a.r, b.r, dout.r, n);
        dut.residualBackward(a.d, b.d, dout.d, n);
        a.assertClose("residual da");
        b.assertClose("residual db");
    }

    @Test
    void classifierForwardOnly() {
        Pair losses = randn(1, N), x = randn(1, N, C), wte = randn(0.5, V, C), targets = tokens(V, N);
        Pair scratch = randn(1, 4, V);
        double r = ref.classifier(losses.r, null, null, x.r, wte.r, targets.r, scratch.r, N, C, V, 1f / N, false);
        double d = dut.classifier(losses.d, null, null, x.d, wte.d, targets.d, scratch.d, N, C, V, 1f / N, false);
        losses.assertClose("losses");
        assertThat(d).isCloseTo(r, org.assertj.core.data.Offset.offset(Math.abs(r) * TOLERANCE));
    }

    @Test
    void classifierBackwardInChunksWithMaskedRows() {
        Pair losses = randn(1, N), x = randn(1, N, C), wte = randn(0.5, V, C), targets = tokens(V, N);
        targets.r.setInt(2, -1);
        targets.r.setInt(N - 1, -1);
        targets.sync();
        Pair dx = randn(1, N, C), dwte = randn(1, V, C);
        // 5 rows of scratch: 21 rows in chunks 5,5,5,5,1
        Pair scratch = randn(1, 5, V);
        double r = ref.classifier(losses.r, dx.r, dwte.r, x.r, wte.r, targets.r, scratch.r, N, C, V, 1f / N, true);
        double d = dut.classifier(losses.d, dx.d, dwte.d, x.d, wte.d, targets.d, scratch.d, N, C, V, 1f / N, true);
        losses.assertClose("losses");
        assertThat(losses.dutValues()[2]).isZero();
        assertThat(d).isCloseTo(r, org.assertj.core.data.Offset.offset(Math.abs(r) * TOLERANCE));
        dx.assertClose("classifier dx");
        dwte.assertClose("classifier dwte");
    }

    /** A frozen wte (LoRA's): with dwte null the backward gives the losses, summed loss and dx it gives with a dwte. */
    @Test
    void classifierBackwardWithAFrozenWte() {
        Pair losses = randn(1, N), x = randn(1, N, C), wte = randn(0.5, V, C), targets = tokens(V, N);
        targets.r.setInt(3, -1);
        targets.sync();
        Pair dx = randn(1, N, C), dwte = randn(1, V, C), frozenLosses = randn(1, N), frozenDx = same(dx);
        float[] wteBefore = wte.r.toFloatArray();
        for (int rows : new int[] {N, 5}) { // one chunk, then chunks of 5, 5, 5, 5, 1
            Pair scratch = randn(1, rows, V);
            double r = ref.classifier(losses.r, dx.r, dwte.r, x.r, wte.r, targets.r, scratch.r, N, C, V, 1f / N, true);
            double rf = ref.classifier(frozenLosses.r, frozenDx.r, null, x.r, wte.r, targets.r, scratch.r, N, C, V, 1f / N, true);
            double d = dut.classifier(frozenLosses.d, frozenDx.d, null, x.d, wte.d, targets.d, scratch.d, N, C, V, 1f / N, true);
            assertThat(rf).as("reference summed loss of a frozen wte").isEqualTo(r);
            assertThat(frozenDx.r.toFloatArray()).as("reference dx of a frozen wte").containsExactly(dx.r.toFloatArray());
            assertThat(d).as("summed loss of a frozen wte").isCloseTo(r, org.assertj.core.data.Offset.offset(Math.abs(r) * TOLERANCE));
            Pair.assertClose("losses of a frozen wte, chunks of " + rows, losses.r.toFloatArray(), frozenLosses.dutValues());
            Pair.assertClose("classifier dx of a frozen wte, chunks of " + rows, dx.r.toFloatArray(), frozenDx.dutValues());
        }
        assertThat(wte.dutValues()).as("wte untouched").containsExactly(wteBefore);
    }

    @Test
    void sumSquaresAndAdamw() {
        int n = 1000 * C + 7;
        Pair g = randn(1, n);
        double r = ref.sumSquares(g.r), d = dut.sumSquares(g.d);
        assertThat(d).isCloseTo(r, org.assertj.core.data.Offset.offset(r * 1e-6));

        Pair p = randn(1, n), m = randn(0.1, n), v = randn(0.1, n);
        for (long i = 0; i < n; i++) v.r.setFloat(i, Math.abs(v.r.getFloat(i)));
        v.sync();
        for (int step = 1; step <= 3; step++) {
            ref.adamw(p.r, g.r, m.r, v.r, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 0.5f);
            dut.adamw(p.d, g.d, m.d, v.d, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 0.5f);
        }
        p.assertClose("adamw params");
        m.assertClose("adamw m");
        v.assertClose("adamw v");
    }

    @Test
    void copyAndZero() {
        Pair a = randn(1, 13), b = randn(1, 13);
        ref.copy(b.r, a.r);
        dut.copy(b.d, a.d);
        b.assertClose("copy");
        ref.zero(b.r);
        dut.zero(b.d);
        assertThat(b.dutValues()).containsOnly(0f);
    }

    @Test
    void threadsKnob() {
        dut.setThreads(1);
        assertThat(dut.threads()).isEqualTo(1);
        Pair out = randn(1, N, C), inp = randn(1, N, C), w = randn(1, C, C);
        ref.matmulForward(out.r, inp.r, w.r, null, N, C, C);
        dut.matmulForward(out.d, inp.d, w.d, null, N, C, C);
        out.assertClose("matmul on 1 thread");
        assertThatThrownBy(() -> dut.setThreads(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads");
    }

    // ---- bad input ------------------------------------------------------------------------------

    @Test
    void tooSmallTensorNamesTheArgument() {
        Pair out = randn(1, N, C), inp = randn(1, N, C - 1), w = randn(1, C), b = randn(1, C);
        Pair mean = randn(1, N), rstd = randn(1, N);
        assertThatThrownBy(() -> dut.layernormForward(out.d, mean.d, rstd.d, inp.d, w.d, b.d, N, C))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("inp");
        Pair att = randn(1, B, NH, T, T - 1), qkv = randn(1, B, T, 3 * C);
        assertThatThrownBy(() -> dut.attentionForward(out.d, att.d, qkv.d, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("att");
    }

    @Test
    void wrongDtypeNullAndBadDimsAreRefused() {
        Pair out = randn(1, N, C), tok = randn(1, B, T), wte = randn(1, V, C), wpe = randn(1, T, C);
        assertThatThrownBy(() -> dut.encoderForward(out.d, tok.d, wte.d, wpe.d, B, T, C))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens");
        assertThatThrownBy(() -> dut.geluForward(null, out.d, N))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out");
        assertThatThrownBy(() -> dut.geluForward(out.d, out.d, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("N");
        Pair qkv = randn(1, B, T, 3 * C), att = randn(1, B, 3, T, T);
        assertThatThrownBy(() -> dut.attentionForward(out.d, att.d, qkv.d, B, T, C, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NH");
    }

    @Test
    void tokensAndTargetsOutsideTheVocabularyAreRefused() {
        Pair out = randn(1, B, T, C), tok = tokens(V, B, T), wte = randn(1, V, C), wpe = randn(1, T, C);
        tok.r.setInt(5, V);
        tok.sync();
        assertThatThrownBy(() -> dut.encoderForward(out.d, tok.d, wte.d, wpe.d, B, T, C))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens");
        Pair losses = randn(1, N), x = randn(1, N, C), scratch = randn(1, 2, V);
        assertThatThrownBy(() -> dut.classifier(losses.d, null, null, x.d, wte.d, tok.d.reshape(N), scratch.d,
                N, C, V, 1f, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("targets");
    }

    // ---- Llama-style layers: RMSNorm, RoPE, SwiGLU, grouped-query attention -----------------------

    @Test
    void rmsnorm() {
        Pair out = randn(1, N, C), rstd = randn(1, N), inp = randn(3, N, C), w = randn(1, C);
        ref.rmsnormForward(out.r, rstd.r, inp.r, w.r, N, C, 1e-5f);
        dut.rmsnormForward(out.d, rstd.d, inp.d, w.d, N, C, 1e-5f);
        out.assertClose("rmsnorm out");
        rstd.assertClose("rmsnorm rstd");

        Pair dinp = randn(1, N, C), dw = randn(1, C), dout = randn(1, N, C);
        ref.rmsnormBackward(dinp.r, dw.r, dout.r, inp.r, w.r, rstd.r, N, C);
        dut.rmsnormBackward(dinp.d, dw.d, dout.d, inp.d, w.d, rstd.d, N, C);
        dinp.assertClose("rmsnorm dinp");
        dw.assertClose("rmsnorm dweight");
        Pair copy = randn(1, N, C);
        ref.rmsnormBackwardCopy(dinp.r, copy.r, dw.r, dout.r, inp.r, w.r, rstd.r, N, C);
        dut.rmsnormBackwardCopy(dinp.d, copy.d, dw.d, dout.d, inp.d, w.d, rstd.d, N, C);
        dinp.assertClose("rmsnorm dinp (with a copy)");
        Pair.assertClose("the copy is dinp", dinp.r.toFloatArray(), copy.dutValues());
    }

    /** llama2.c's angles (tables built on the host, copied), and tables longer than T (the model's maxT). */
    @Test
    void ropeForwardAndBackwardInPlace() {
        int nh = 4, hs = 6, maxT = T + 3;
        Pair cos = randn(1, maxT, hs / 2), sin = randn(1, maxT, hs / 2);
        Backend.ropeTables(cos.r, sin.r, maxT, hs, 10000.0);
        cos.sync();
        sin.sync();
        for (int heads : new int[] {nh, 2}) {
            Pair x = randn(1, B, T, heads * hs);
            ref.ropeForward(x.r, cos.r, sin.r, B, T, heads, hs);
            dut.ropeForward(x.d, cos.d, sin.d, B, T, heads, hs);
            x.assertClose("rope forward (" + heads + " heads)");
            Pair dx = randn(1, B, T, heads * hs);
            ref.ropeBackward(dx.r, cos.r, sin.r, B, T, heads, hs);
            dut.ropeBackward(dx.d, cos.d, sin.d, B, T, heads, hs);
            dx.assertClose("rope backward (" + heads + " heads)");
        }
    }

    @Test
    void swiglu() {
        int n = N * 3 * C + 5;
        Pair out = randn(1, n), gate = randn(3, n), up = randn(1, n);
        ref.swigluForward(out.r, gate.r, up.r, n);
        dut.swigluForward(out.d, gate.d, up.d, n);
        out.assertClose("swiglu out");
        Pair dgate = randn(1, n), dup = randn(1, n), dout = randn(1, n);
        ref.swigluBackward(dgate.r, dup.r, dout.r, gate.r, up.r, n);
        dut.swigluBackward(dgate.d, dup.d, dout.d, gate.d, up.d, n);
        dgate.assertClose("swiglu dgate");
        dup.assertClose("swiglu dup");
    }

    /** NKV = NH (multi-head), NKV < NH (grouped) and NKV = 1 (multi-query); head size 6. */
    @Test
    void gqaAttention() {
        for (int nkv : new int[] {NH, 2, 1}) gqaAttentionCase(B, T, NH, nkv, 6);
    }

    /** A longer sequence: kernels that tile the causal triangle (64 rows) cross tiles here. */
    @Test
    void gqaAttentionAcrossCausalBlocks() {
        gqaAttentionCase(2, 131, 4, 2, 6);
    }

    private void gqaAttentionCase(int b, int t, int nh, int nkv, int hs) {
        String tag = " (B=" + b + " T=" + t + " NH=" + nh + " NKV=" + nkv + " hs=" + hs + ")";
        Pair out = randn(1, b, t, nh * hs), att = randn(1, b, nh, t, t);
        Pair q = randn(1, b, t, nh * hs), k = randn(1, b, t, nkv * hs), v = randn(1, b, t, nkv * hs);
        ref.gqaAttentionForward(out.r, att.r, q.r, k.r, v.r, b, t, nh, nkv, hs);
        dut.gqaAttentionForward(out.d, att.d, q.d, k.d, v.d, b, t, nh, nkv, hs);
        att.assertClose("gqa att" + tag);
        out.assertClose("gqa out" + tag);

        Pair dq = randn(1, b, t, nh * hs), dk = randn(1, b, t, nkv * hs), dv = randn(1, b, t, nkv * hs);
        Pair datt = randn(1, b, nh, t, t), dout = randn(1, b, t, nh * hs);
        ref.gqaAttentionBackward(dq.r, dk.r, dv.r, datt.r, dout.r, q.r, k.r, v.r, att.r, out.r, b, t, nh, nkv, hs);
        dut.gqaAttentionBackward(dq.d, dk.d, dv.d, datt.d, dout.d, q.d, k.d, v.d, att.d, out.d, b, t, nh, nkv, hs);
        dq.assertClose("gqa dq" + tag);
        dk.assertClose("gqa dk" + tag);
        dv.assertClose("gqa dv" + tag);
        datt.assertClose("gqa datt: d(scores), zero above the diagonal" + tag);
    }

    /** The overwriting variants of Llama's backward ops: their gradients start as NaNs. */
    @Test
    void swigluAndGqaAttentionBackwardsOverwrite() {
        int n = N * 3 * C + 5;
        Pair gate = randn(3, n), up = randn(1, n), dout = randn(1, n);
        Pair dgate = nans(n), dup = nans(n);
        ref.swigluBackwardOverwrite(dgate.r, dup.r, dout.r, gate.r, up.r, n);
        dut.swigluBackwardOverwrite(dgate.d, dup.d, dout.d, gate.d, up.d, n);
        dgate.assertClose("swiglu dgate (overwritten)");
        dup.assertClose("swiglu dup (overwritten)");

        int b = 2, t = 9, nh = 4, nkv = 2, hs = 6;
        Pair out = randn(1, b, t, nh * hs), att = randn(1, b, nh, t, t);
        Pair q = randn(1, b, t, nh * hs), k = randn(1, b, t, nkv * hs), v = randn(1, b, t, nkv * hs);
        ref.gqaAttentionForward(out.r, att.r, q.r, k.r, v.r, b, t, nh, nkv, hs);
        dut.gqaAttentionForward(out.d, att.d, q.d, k.d, v.d, b, t, nh, nkv, hs);
        Pair dq = nans(b, t, nh * hs), dk = nans(b, t, nkv * hs), dv = nans(b, t, nkv * hs);
        Pair datt = randn(1, b, nh, t, t), g = randn(1, b, t, nh * hs);
        ref.gqaAttentionBackwardOverwrite(dq.r, dk.r, dv.r, datt.r, g.r, q.r, k.r, v.r, att.r, out.r, b, t, nh, nkv, hs);
        dut.gqaAttentionBackwardOverwrite(dq.d, dk.d, dv.d, datt.d, g.d, q.d, k.d, v.d, att.d, out.d, b, t, nh, nkv, hs);
        dq.assertClose("gqa dq (overwritten)");
        dk.assertClose("gqa dk (overwritten)");
        dv.assertClose("gqa dv (overwritten)");
    }

    /** A new pair holding p's reference values on both sides. */
    private Pair same(Pair p) {
        Pair q = new Pair(p.r.dtype(), p.r.shape());
        q.r.copyFrom(p.r.toFloatArray());
        return q.sync();
    }

    /** An F32 pair of the shape, every element NaN on both sides. */
    private Pair nans(long... shape) {
        Pair p = new Pair(DType.F32, shape);
        for (long i = 0; i < p.r.numel(); i++) p.r.setFloat(i, Float.NaN);
        p.sync();
        return p;
    }

    /**
     * Grouped-query decoding over a cache (maxT > pos + 1 rows, the rows past pos garbage that must not be read):
     * equal to the reference, and the reference equal to row pos of {@link Backend#gqaAttentionForward} over the
     * first pos + 1 rows (so the oracle itself is checked against the training op). Head sizes 6 (no 16-byte rows),
     * 16 and 64 (cuda's vectorized path: 4 and 16 lanes per position), positions past one block's threads (150).
     */
    @Test
    void gqaAttentionDecodeMatchesTheLastRowOfGqaAttention() {
        for (int[] shape : new int[][] {{6, 9, 6}, {16, 40, 37}, {64, 160, 150}}) {
            gqaAttentionDecodeMatchesTheLastRowOfGqaAttention(shape[0], shape[1], shape[2]);
        }
    }

    private void gqaAttentionDecodeMatchesTheLastRowOfGqaAttention(int hs, int maxT, int pos) {
        int T = pos + 1;
        for (int nkv : new int[] {NH, 2, 1}) {
            String tag = " (NH=" + NH + " NKV=" + nkv + " hs=" + hs + " pos=" + pos + ")";
            Pair out = randn(1, NH * hs), att = randn(1, NH * maxT), q = randn(1, NH * hs);
            Pair k = randn(1, maxT, nkv * hs), v = randn(1, maxT, nkv * hs);
            ref.gqaAttentionDecode(out.r, att.r, q.r, k.r, v.r, pos, 1, NH, nkv, hs);
            dut.gqaAttentionDecode(out.d, att.d, q.d, k.d, v.d, pos, 1, NH, nkv, hs);
            out.assertClose("gqa decode out" + tag);
            int used = NH * T;
            Pair.assertClose("gqa decode att" + tag, java.util.Arrays.copyOf(att.r.toFloatArray(), used),
                    java.util.Arrays.copyOf(att.dutValues(), used));

            // the oracle: a full causal pass whose query row pos is q gives the same output row
            Tensor fq = refArena.allocate(DType.F32, T, NH * hs), fout = refArena.allocate(DType.F32, T, NH * hs);
            Tensor fatt = refArena.allocate(DType.F32, NH, T, T);
            for (int i = 0; i < NH * hs; i++) fq.setFloat((long) pos * NH * hs + i, q.r.getFloat(i));
            ref.gqaAttentionForward(fout, fatt, fq, k.r.view(0, (long) T * nkv * hs), v.r.view(0, (long) T * nkv * hs), 1, T, NH, nkv, hs);
            float[] row = java.util.Arrays.copyOfRange(fout.toFloatArray(), pos * NH * hs, T * NH * hs);
            Pair.assertClose("reference gqa decode vs row pos of gqaAttentionForward" + tag, row, out.r.toFloatArray());
        }
        // pos 0: every head attends to its kv head's first value only
        Pair out = randn(1, NH * hs), att = randn(1, NH), q = randn(1, NH * hs), k = randn(1, 2, 2 * hs), v = randn(1, 2, 2 * hs);
        dut.gqaAttentionDecode(out.d, att.d, q.d, k.d, v.d, 0, 1, NH, 2, hs);
        float[] got = out.dutValues(), v0 = v.r.toFloatArray();
        for (int h = 0; h < NH; h++) {
            for (int i = 0; i < hs; i++) {
                assertThat(got[h * hs + i]).as("pos 0, head %d", h).isCloseTo(v0[(h / (NH / 2)) * hs + i], org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
        Pair small = randn(1, pos, 2 * hs), bigAtt = randn(1, NH * maxT);
        assertThatThrownBy(() -> dut.gqaAttentionDecode(out.d, bigAtt.d, q.d, small.d, small.d, pos, 1, NH, 2, hs))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kCache");
        assertThatThrownBy(() -> dut.gqaAttentionDecode(out.d, att.d, q.d, k.d, v.d, 0, 1, NH, 3, hs))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NKV");
    }

    /** {@link Backend#encoderForwardCheckedIds}: for ids in the vocabulary, exactly {@code encoderForward}'s rows. */
    @Test
    void encoderForwardOfCheckedIdsEqualsEncoderForward() {
        int maxT = 10, n = 4;
        Pair ids = tokens(V, 1, n), wte = randn(1, V, C), wpe = randn(1, maxT, C), a = randn(1, n, C), b = randn(1, n, C);
        ref.encoderForward(a.r, ids.r, wte.r, wpe.r, 1, n, C);
        ref.encoderForwardCheckedIds(b.r, ids.r, wte.r, wpe.r, 1, n, C);
        dut.encoderForwardCheckedIds(b.d, ids.d, wte.d, wpe.d, 1, n, C);
        assertThat(b.r.toFloatArray()).isEqualTo(a.r.toFloatArray());
        b.assertClose("encoder of checked ids");
    }

    /**
     * Embeddings of a batched decode step ({@link Backend#encoderForwardRows}): row r = wte[tokens[r]] +
     * wpe[pos[r]]; n = 35 crosses the cuda backend's 32 rows per launch; an id outside the vocabulary is one
     * clear error (as for {@code encoderForward}).
     */
    @Test
    void encoderForwardRowsAddsEachRowsOwnPosition() {
        int maxT = 10;
        for (int n : new int[] {3, 35}) {
            int[] pos = new int[n];
            for (int r = 0; r < n; r++) pos[r] = r == 0 ? 0 : random.nextInt(maxT);
            Pair out = randn(1, n, C), ids = tokens(V, n), wte = randn(1, V, C), wpe = randn(1, maxT, C);
            ref.encoderForwardRows(out.r, ids.r, wte.r, wpe.r, pos, n, C);
            dut.encoderForwardRows(out.d, ids.d, wte.d, wpe.d, pos, n, C);
            out.assertClose("encoder rows (n=" + n + ")");
            int r = n - 1, tok = ids.r.getInt(r);
            for (int c = 0; c < C; c++) {
                assertThat(out.r.getFloat((long) r * C + c)).isEqualTo(wte.r.getFloat((long) tok * C + c) + wpe.r.getFloat((long) pos[r] * C + c));
            }
        }
        Pair out = randn(1, 2, C), wte = randn(1, V, C), wpe = randn(1, maxT, C);
        Pair bad = new Pair(DType.I32, 2);
        bad.r.setInt(0, 1);
        bad.r.setInt(1, V);
        bad.sync();
        assertThatThrownBy(() -> dut.encoderForwardRows(out.d, bad.d, wte.d, wpe.d, new int[] {0, 1}, 2, C))
                .hasMessageContaining(String.valueOf(V));
    }

    /**
     * RoPE of a batched decode step ({@link Backend#ropeForwardRows}): row r rotated by the tables' row pos[r];
     * equals the reference, whose rows equal {@code ropeForward} of that row alone at that position. n = 35
     * crosses the cuda backend's 32 rows per launch.
     */
    @Test
    void ropeForwardRowsRotatesEachRowAtItsOwnPosition() {
        int hs = 6, heads = 3, maxT = 12, half = hs / 2;
        for (int n : new int[] {4, 35}) {
            int[] pos = new int[n];
            for (int r = 0; r < n; r++) pos[r] = r == 0 ? 0 : random.nextInt(maxT);
            Pair x = randn(1, n, heads * hs), cos = randn(1, maxT, half), sin = randn(1, maxT, half);
            float[] before = x.r.toFloatArray();
            ref.ropeForwardRows(x.r, cos.r, sin.r, pos, n, heads, hs);
            dut.ropeForwardRows(x.d, cos.d, sin.d, pos, n, heads, hs);
            x.assertClose("rope rows (n=" + n + ")");
            int r = n - 1, w = heads * hs;
            Tensor one = refArena.allocate(DType.F32, w);
            for (int i = 0; i < w; i++) one.setFloat(i, before[r * w + i]);
            ref.ropeForward(one, cos.r.view((long) pos[r] * half, half), sin.r.view((long) pos[r] * half, half), 1, 1, heads, hs);
            Pair.assertClose("rope rows, last row vs ropeForward at its position", one.toFloatArray(),
                    java.util.Arrays.copyOfRange(x.r.toFloatArray(), r * w, (r + 1) * w));
            assertThat(java.util.Arrays.copyOfRange(x.r.toFloatArray(), 0, w)).as("position 0 rotates by its table row 0")
                    .isNotEqualTo(java.util.Arrays.copyOfRange(before, 0, w));
        }
    }

    /**
     * A server's batched decode step ({@link Backend#gqaAttentionDecodeRows}): n sequences with their own caches
     * at different positions (position 0 included); every new key and value lands in its own cache at its own
     * position (other cache rows untouched), and every output row equals the reference's. n = 35 crosses the cuda
     * backend's 32 rows per launch. Checked against the reference's own one-row decode too (the default).
     */
    @Test
    void gqaAttentionDecodeRowsWritesEachCacheAndMatchesOneRowAtATime() {
        int hs = 6;
        for (int n : new int[] {3, 35}) {
            for (int nkv : new int[] {NH, 2, 1}) {
                String tag = " (n=" + n + " NH=" + NH + " NKV=" + nkv + ")";
                int kv = nkv * hs, qw = NH * hs;
                int[] pos = new int[n];
                Pair[] k = new Pair[n], v = new Pair[n];
                Tensor[] kr = new Tensor[n], vr = new Tensor[n], kd = new Tensor[n], vd = new Tensor[n];
                for (int i = 0; i < n; i++) {
                    pos[i] = i == 1 ? 0 : random.nextInt(9);
                    int maxT = pos[i] + 1 + random.nextInt(3);   // room past the position: must stay as it was
                    k[i] = randn(1, maxT, kv);
                    v[i] = randn(1, maxT, kv);
                    kr[i] = k[i].r; vr[i] = v[i].r; kd[i] = k[i].d; vd[i] = v[i].d;
                }
                long scratch = Backend.gqaAttentionDecodeRowsScratchFloats(pos, n, NH);
                Pair out = randn(1, n, qw), att = randn(1, scratch), q = randn(1, n, qw), kNew = randn(1, n, kv), vNew = randn(1, n, kv);
                float[][] kBefore = new float[n][];
                for (int i = 0; i < n; i++) kBefore[i] = k[i].r.toFloatArray();
                ref.gqaAttentionDecodeRows(out.r, att.r, q.r, kNew.r, vNew.r, kr, vr, pos, n, NH, nkv, hs);
                dut.gqaAttentionDecodeRows(out.d, att.d, q.d, kNew.d, vNew.d, kd, vd, pos, n, NH, nkv, hs);
                out.assertClose("decode rows out" + tag);
                for (int i = 0; i < n; i++) {
                    k[i].assertClose("cache k of row " + i + tag);
                    v[i].assertClose("cache v of row " + i + tag);
                    float[] kAfter = k[i].r.toFloatArray();
                    for (int j = 0; j < kAfter.length; j++) {
                        float want = j / kv == pos[i] ? kNew.r.getFloat((long) i * kv + j % kv) : kBefore[i][j];
                        assertThat(kAfter[j]).as("reference cache k of row %d at %d%s", i, j, tag).isEqualTo(want);
                    }
                }
                // the oracle for one row: the reference's gqaAttentionDecode over that row's cache
                int i = n - 1;
                Tensor one = refArena.allocate(DType.F32, qw), oneAtt = refArena.allocate(DType.F32, (long) NH * (pos[i] + 1));
                ref.gqaAttentionDecode(one, oneAtt, q.r.view((long) i * qw, qw), kr[i], vr[i], pos[i], 1, NH, nkv, hs);
                Pair.assertClose("decode rows, last row vs gqaAttentionDecode" + tag, one.toFloatArray(),
                        java.util.Arrays.copyOfRange(out.r.toFloatArray(), i * qw, (i + 1) * qw));
            }
        }
        Pair out = randn(1, 2, NH * hs), att = randn(1, 100), q = randn(1, 2, NH * hs), kn = randn(1, 2, 2 * hs);
        Pair small = randn(1, 3, 2 * hs);
        assertThatThrownBy(() -> dut.gqaAttentionDecodeRows(out.d, att.d, q.d, kn.d, kn.d, new Tensor[] {small.d, small.d},
                new Tensor[] {small.d, small.d}, new int[] {1, 3}, 2, NH, 2, hs))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Cache");
    }

    /**
     * A block of query rows over the cache in one call (prefill that starts or continues a sequence): rows
     * pos..pos+rows-1 of {@link Backend#gqaAttentionForward} over the first pos+rows positions, output and
     * probabilities, on the reference and on the backend under test; cache rows past pos+rows are garbage that
     * must not be read. Rows of the query block differ, so a backend that gave every row the first (or the last)
     * row's causal span fails.
     */
    @Test
    void gqaAttentionDecodeOfARowBlockMatchesTheRowsOfGqaAttention() {
        int hs = 6;
        for (int[] posRows : new int[][] {{0, 5}, {3, 4}, {6, 2}}) {
            int pos = posRows[0], rows = posRows[1], T = pos + rows, maxT = T + 2;
            for (int nkv : new int[] {NH, 2, 1}) {
                String tag = " (pos=" + pos + " rows=" + rows + " NH=" + NH + " NKV=" + nkv + ")";
                long scratch = Backend.gqaAttentionDecodeScratchFloats(pos, rows, NH);
                Pair out = randn(1, rows, NH * hs), att = randn(1, scratch), q = randn(1, rows, NH * hs);
                Pair k = randn(1, maxT, nkv * hs), v = randn(1, maxT, nkv * hs);
                ref.gqaAttentionDecode(out.r, att.r, q.r, k.r, v.r, pos, rows, NH, nkv, hs);
                dut.gqaAttentionDecode(out.d, att.d, q.d, k.d, v.d, pos, rows, NH, nkv, hs);

                // the oracle: a causal pass over positions 0..T-1 whose last `rows` query rows are the block
                Tensor fq = refArena.allocate(DType.F32, T, NH * hs), fout = refArena.allocate(DType.F32, T, NH * hs);
                Tensor fatt = refArena.allocate(DType.F32, NH, T, T);
                for (long i = 0; i < (long) pos * NH * hs; i++) fq.setFloat(i, (float) random.nextGaussian());
                for (long i = 0; i < (long) rows * NH * hs; i++) fq.setFloat((long) pos * NH * hs + i, q.r.getFloat(i));
                ref.gqaAttentionForward(fout, fatt, fq, k.r.view(0, (long) T * nkv * hs), v.r.view(0, (long) T * nkv * hs),
                        1, T, NH, nkv, hs);
                float[] rowsOut = java.util.Arrays.copyOfRange(fout.toFloatArray(), pos * NH * hs, T * NH * hs);
                float[] all = fatt.toFloatArray(), rowsAtt = new float[(int) scratch];
                for (int h = 0; h < NH; h++) {
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(all, (h * T + pos + r) * T, rowsAtt, (h * rows + r) * T, T);
                    }
                }
                Pair.assertClose("reference block decode out vs rows of gqaAttentionForward" + tag, rowsOut, out.r.toFloatArray());
                Pair.assertClose("reference block decode att vs rows of gqaAttentionForward" + tag, rowsAtt, att.r.toFloatArray());
                Pair.assertClose("block decode out vs rows of gqaAttentionForward" + tag, rowsOut, out.dutValues());
                Pair.assertClose("block decode att (NH, rows, pos+rows), zero past each row" + tag, rowsAtt, att.dutValues());
            }
        }
        int pos = 3, rows = 4;
        Pair q = randn(1, rows, NH * 6), out = randn(1, rows, NH * 6), k = randn(1, pos + rows, 2 * 6);
        Pair smallAtt = randn(1, Backend.gqaAttentionDecodeScratchFloats(pos, rows, NH) - 1);
        assertThatThrownBy(() -> dut.gqaAttentionDecode(out.d, smallAtt.d, q.d, k.d, k.d, pos, rows, NH, 2, 6))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("att");
        Pair bigAtt = randn(1, Backend.gqaAttentionDecodeScratchFloats(pos, rows + 1, NH));
        assertThatThrownBy(() -> dut.gqaAttentionDecode(out.d, bigAtt.d, q.d, k.d, k.d, pos, rows + 1, NH, 2, 6))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out");
        assertThatThrownBy(() -> dut.gqaAttentionDecode(out.d, bigAtt.d, q.d, k.d, k.d, pos, 0, NH, 2, 6))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rows");
    }

    @Test
    void llamaOpsRefuseBadShapes() {
        Pair q = randn(1, B, T, NH * 6), k = randn(1, B, T, 3 * 6), out = randn(1, B, T, NH * 6), att = randn(1, B, NH, T, T);
        assertThatThrownBy(() -> dut.gqaAttentionForward(out.d, att.d, q.d, k.d, k.d, B, T, NH, 3, 6))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NKV");
        Pair small = randn(1, B, T, 2 * 6);
        assertThatThrownBy(() -> dut.gqaAttentionForward(out.d, att.d, q.d, small.d, k.d, B, T, NH, 4, 6))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k");
        Pair cos = randn(1, T, 3), sin = randn(1, T, 3);
        assertThatThrownBy(() -> dut.ropeForward(q.d, cos.d, sin.d, B, T, NH * 2, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hs");
        Pair shortCos = randn(1, T - 1, 3);
        assertThatThrownBy(() -> dut.ropeForward(q.d, shortCos.d, sin.d, B, T, NH, 6))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cos");
        Pair rstd = randn(1, N - 1), x = randn(1, N, C), w = randn(1, C);
        assertThatThrownBy(() -> dut.rmsnormForward(x.d, rstd.d, x.d, w.d, N, C, 1e-5f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rstd");
        assertThatThrownBy(() -> dut.swigluForward(x.d, x.d, null, N))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("up");
    }
}
