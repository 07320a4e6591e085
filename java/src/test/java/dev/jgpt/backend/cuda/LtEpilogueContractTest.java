package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The cuBLASLt epilogue path ({@link CudaBackend#setLt}) against the reference backend: {@code matmulForward} with and
 * without a bias ({@code EPILOGUE_BIAS}), {@code matmulBackward} with a bias gradient ({@code BGRADB} into a scratch,
 * then added: the contract accumulates, so every gradient starts non-zero here), and the GELU fusions
 * {@code matmulGeluForward} ({@code GELU_AUX_BIAS}) and {@code matmulBackwardGelu} ({@code DGELU}, its dpre
 * overwritten) against the reference's two-op defaults; in fp32 (1e-4) and bf16 (1e-2, and different from fp32), and
 * the same numbers with Lt switched off. Subclasses open the backend: the stand-in driver or a GPU.
 */
abstract class LtEpilogueContractTest extends CudaReferenceFixture {
    static final double FP32 = 1e-4, BF16 = 1e-2, MIN_BF16_EFFECT = 1e-5;
    private final Random random = new Random(23);

    @Override
    void configure(CudaBackend cuda) {
        cuda.setLt(true);
        assertThat(cuda.lt()).as("cuBLASLt available").isTrue();
    }

    @Test
    void matmulForwardWithAndWithoutBias() {
        for (GemmMath math : new GemmMath[] {GemmMath.FP32, GemmMath.BF16}) {
            cuda.setMath(math);
            int N = 21, C = 24, OC = 40;
            Tensor inp = randn(N, C), w = randn(OC, C), bias = randn(OC);
            for (Tensor b : new Tensor[] {bias, null}) {
                Tensor out = host.allocate(DType.F32, N, OC), dOut = up(randn(N, OC)); // overwritten
                ref.matmulForward(out, inp, w, b, N, C, OC);
                cuda.matmulForward(dOut, up(inp), up(w), b == null ? null : up(b), N, C, OC);
                check(math, "matmulForward" + (b == null ? "" : " + bias"), out, down(dOut));
            }
        }
    }

    @Test
    void matmulBackwardAccumulatesIntoEveryGradient() {
        for (GemmMath math : new GemmMath[] {GemmMath.FP32, GemmMath.BF16}) {
            cuda.setMath(math);
            int N = 19, C = 32, OC = 24;
            Tensor inp = randn(N, C), w = randn(OC, C), dout = randn(N, OC);
            Tensor dinp = randn(N, C), dw = randn(OC, C), db = randn(OC);
            Tensor ddinp = up(dinp), ddw = up(dw), ddb = up(db);
            for (int round = 0; round < 2; round++) { // twice: accumulation, and the scratch reused
                ref.matmulBackward(dinp, dw, db, dout, inp, w, N, C, OC);
                cuda.matmulBackward(ddinp, ddw, ddb, up(dout), up(inp), up(w), N, C, OC);
            }
            check(math, "dinp", dinp, down(ddinp));
            check(math, "dweight", dw, down(ddw));
            // dbias: a sum of dout, small next to the random start; compare what was added
            Tensor start = randnAgain(db), added = host.allocate(DType.F32, OC), got = down(ddb), gotAdded = host.allocate(DType.F32, OC);
            for (int i = 0; i < OC; i++) {
                added.setFloat(i, db.getFloat(i) - start.getFloat(i));
                gotAdded.setFloat(i, got.getFloat(i) - start.getFloat(i));
            }
            assertThat(relative(added, gotAdded)).as(math + " dbias increments").isLessThanOrEqualTo(math == GemmMath.FP32 ? FP32 : BF16);
            assertThat(relative(db, got)).as(math + " dbias").isLessThanOrEqualTo(math == GemmMath.FP32 ? FP32 : BF16);
        }
    }

    @Test
    void geluForwardFusionMatchesTheTwoOps() {
        for (GemmMath math : new GemmMath[] {GemmMath.FP32, GemmMath.BF16}) {
            cuda.setMath(math);
            int N = 17, C = 16, OC = 64;
            Tensor inp = randn(N, C), w = randn(OC, C), bias = randn(OC);
            Tensor pre = host.allocate(DType.F32, N, OC), out = host.allocate(DType.F32, N, OC);
            ref.matmulGeluForward(pre, out, inp, w, bias, N, C, OC);
            Tensor dPre = up(randn(N, OC)), dOut = up(randn(N, OC));
            cuda.matmulGeluForward(dPre, dOut, up(inp), up(w), up(bias), N, C, OC);
            check(math, "matmulGeluForward pre", pre, down(dPre));
            check(math, "matmulGeluForward out", out, down(dOut));
        }
    }

    /** With the DGELU epilogue, and with it switched off ({@code JGPT_CUDA_LT_DGELU=0}: the plain product and the kernel). */
    @Test
    void geluBackwardFusionOverwritesDpreAndAccumulatesTheWeights() {
        for (int pass = 0; pass < 4; pass++) {
            GemmMath math = pass % 2 == 0 ? GemmMath.FP32 : GemmMath.BF16;
            cuda.setLtDgelu(pass >= 2); // off, then on (the default)
            cuda.setMath(math);
            int N = 13, C = 64, OC = 24; // the fc proj's shape: its input is gelu(pre), C wide
            Tensor pre = randn(N, C), inp = host.allocate(DType.F32, N, C), w = randn(OC, C), dout = randn(N, OC);
            ref.geluForward(inp, pre, N * C);
            Tensor dpre = randn(N, C), dgelu = randn(N, C), dw = randn(OC, C), db = randn(OC);
            Tensor ddpre = up(dpre), ddgelu = up(dgelu), ddw = up(dw), ddb = up(db);
            ref.matmulBackwardGelu(dpre, dgelu, dw, db, dout, inp, w, pre, N, C, OC);
            cuda.matmulBackwardGelu(ddpre, ddgelu, ddw, ddb, up(dout), up(inp), up(w), up(pre), N, C, OC);
            String dgeluMode = cuda.ltDgelu() ? " (DGELU)" : " (product, then the kernel)";
            check(math, "matmulBackwardGelu dpre (overwritten)" + dgeluMode, dpre, down(ddpre));
            check(math, "matmulBackwardGelu dweight" + dgeluMode, dw, down(ddw));
            assertThat(relative(db, down(ddb))).as(math + " dbias" + dgeluMode).isLessThanOrEqualTo(math == GemmMath.FP32 ? FP32 : BF16);
        }
    }

    @Test
    void switchedOffGivesTheSameNumbers() {
        int N = 11, C = 16, OC = 32;
        Tensor inp = up(randn(N, C)), w = up(randn(OC, C)), bias = up(randn(OC)), dout = up(randn(N, OC));
        Tensor w2 = up(randn(C, OC)), dout2 = up(randn(N, C));
        Tensor[] results = new Tensor[2];
        for (int pass = 0; pass < 2; pass++) {
            cuda.setLt(pass == 0);
            assertThat(cuda.lt()).isEqualTo(pass == 0);
            Tensor out = dev.allocate(DType.F32, N, OC), pre = dev.allocate(DType.F32, N, OC), gel = dev.allocate(DType.F32, N, OC);
            cuda.matmulForward(out, inp, w, bias, N, C, OC);
            cuda.matmulGeluForward(pre, gel, inp, w, bias, N, C, OC);
            Tensor dinp = dev.allocate(DType.F32, N, C), dw = dev.allocate(DType.F32, OC, C), db = dev.allocate(DType.F32, OC);
            cuda.matmulBackward(dinp, dw, db, dout, inp, w, N, C, OC);
            // the fc proj's backward: input gel (N, OC), weight w2 (C, OC), through the GELU into dpre
            Tensor dpre = dev.allocate(DType.F32, N, OC), dgelu = dev.allocate(DType.F32, N, OC);
            Tensor dw2 = dev.allocate(DType.F32, C, OC), db2 = dev.allocate(DType.F32, C);
            cuda.matmulBackwardGelu(dpre, dgelu, dw2, db2, dout2, gel, w2, pre, N, OC, C);
            Tensor[] parts = {out, pre, gel, dinp, dw, db, dpre, dw2, db2};
            long total = 0;
            for (Tensor t : parts) total += t.numel();
            Tensor all = host.allocate(DType.F32, total);
            long o = 0;
            for (Tensor t : parts) {
                Tensor h = down(t);
                for (long i = 0; i < h.numel(); i++) all.setFloat(o++, h.getFloat(i));
            }
            results[pass] = all;
        }
        assertThat(relative(results[1], results[0])).as("Lt on vs off").isLessThanOrEqualTo(1e-5);
    }

    private void check(GemmMath math, String what, Tensor expected, Tensor actual) {
        double rel = relative(expected, actual);
        if (math == GemmMath.FP32) {
            assertThat(rel).as(what + " fp32").isLessThanOrEqualTo(FP32);
        } else {
            assertThat(rel).as(what + " bf16").isLessThanOrEqualTo(BF16);
            assertThat(rel).as(what + ": bf16 results must differ from fp32").isGreaterThan(MIN_BF16_EFFECT);
        }
    }

    private final java.util.IdentityHashMap<Tensor, Tensor> starts = new java.util.IdentityHashMap<>();

    private Tensor randn(long... shape) {
        Tensor t = host.allocate(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) random.nextGaussian());
        Tensor copy = host.allocate(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) copy.setFloat(i, t.getFloat(i));
        starts.put(t, copy);
        return t;
    }

    /** The values {@code t} had when {@link #randn} made it. */
    private Tensor randnAgain(Tensor t) {
        return starts.get(t);
    }
}
