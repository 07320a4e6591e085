package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * bf16 activation storage ({@link CudaBackend#activationDType}): the ops that may receive BF16 activations, on the
 * cuBLAS attention path, with cuBLASLt on and off, and Llama's RMSNorm, SwiGLU, RoPE and grouped-query attention (rows
 * and fused). Two kinds of check:
 * <ul>
 *   <li>the same op on F32 tensors holding the same bf16-representable values, in bf16 mode (so the products take
 *       the same bf16 operands): a BF16 output is that F32 output rounded to bf16, within {@value #ULPS} bf16 ulp
 *       (one rounding of the same sum; a GPU may sum in another order), and an F32 output (gradients, logits) equals
 *       it within {@value #SAME} relative. The exception: without cuBLASLt a product with a bias is written as bf16
 *       and then has its bias added ({@code add_bias_bf16}), two roundings, so where the bias cancels most of the
 *       product an element may be many ulps off; there the bound is {@value #TWO_ROUNDINGS} of the largest |value|
 *       (one bf16 ulp of it);</li>
 *   <li>against the fp32 reference backend on the unrounded inputs, within the bf16 bound {@value #BF16}.</li>
 * </ul>
 * And mixed types are one clear error. Subclasses open the backend: the stand-in driver or a GPU.
 */
abstract class Bf16ActivationsContractTest extends CudaReferenceFixture {
    static final double BF16 = 1e-2, SAME = 1e-5;
    static final int ULPS = 1;
    static final double TWO_ROUNDINGS = 1.0 / 128;
    private final Random random = new Random(31);

    @Override
    void configure(CudaBackend cuda) {
        cuda.setMath(GemmMath.BF16);
        cuda.setBf16Activations(true);
    }

    @Test
    void theModeDecidesTheActivationType() {
        assertThat(cuda.activationDType()).isEqualTo(DType.BF16);
        cuda.setBf16Activations(false);
        assertThat(cuda.activationDType()).as("switched off").isEqualTo(DType.F32);
        cuda.setBf16Activations(true);
        cuda.setMath(GemmMath.FP32);
        assertThat(cuda.activationDType()).as("fp32 mode").isEqualTo(DType.F32);
        cuda.setMath(GemmMath.TF32);
        assertThat(cuda.activationDType()).as("tf32 mode").isEqualTo(DType.F32);
    }

    @Test
    void layernormWritesItsOutputRounded() {
        int N = 13, C = 40;
        Tensor inp = up(randn(N, C)), w = up(randn(C)), b = up(randn(C)), a = up(randn(N, C));
        Tensor out32 = dev.allocate(DType.F32, N, C), out16 = dev.allocate(DType.BF16, N, C);
        Tensor mean = dev.allocate(DType.F32, N), rstd = dev.allocate(DType.F32, N);
        Tensor mean16 = dev.allocate(DType.F32, N), rstd16 = dev.allocate(DType.F32, N);
        cuda.layernormForward(out32, mean, rstd, inp, w, b, N, C);
        cuda.layernormForward(out16, mean16, rstd16, inp, w, b, N, C);
        assertRounded("layernormForward out", down(out32), down(out16));
        assertSame("mean", down(mean), down(mean16));
        assertSame("rstd", down(rstd), down(rstd16));

        Tensor res32 = dev.allocate(DType.F32, N, C), res16 = dev.allocate(DType.F32, N, C);
        cuda.residualLayernormForward(res32, out32, mean, rstd, inp, a, w, b, N, C);
        cuda.residualLayernormForward(res16, out16, mean16, rstd16, inp, a, w, b, N, C);
        assertSame("the residual stays fp32", down(res32), down(res16));
        assertRounded("residualLayernormForward out", down(out32), down(out16));
        // a bf16 b (GPT-2's attproj/fcproj output in bf16 mode), widened as it is added: the same as an F32 b of its values
        Tensor aR = rounded(down(a)), resB = dev.allocate(DType.F32, N, C), outB = dev.allocate(DType.BF16, N, C);
        Tensor res32b = dev.allocate(DType.F32, N, C);
        cuda.residualLayernormForward(res32b, out32, mean, rstd, inp, up(aR), w, b, N, C);
        cuda.residualLayernormForward(resB, outB, mean16, rstd16, inp, upBf16(aR), w, b, N, C);
        assertSame("the residual of a bf16 b", down(res32b), down(resB));
        assertRounded("residualLayernormForward out, bf16 b", down(out32), down(outB));
        assertThatThrownBy(() -> cuda.residualLayernormForward(res32b, out32, mean, rstd, inp, upBf16(aR), w, b, N, C))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("b is BF16 but out is F32");
    }

    /**
     * GPT-2's layernorm backward in bf16 mode: dinp (fp32) as with an F32 dout holding the same values, and beside it a
     * bf16 copy of dinp's new values (the next backward products' operand), rounded once; for the final layernorm's F32
     * dout (layernorm_backward_copy_bf16) and the blocks' bf16 ones (layernorm_backward_bf16).
     */
    @Test
    void layernormBackwardWritesABf16Copy() {
        int N = 13, C = 40;
        Tensor inp = randn(N, C), w = randn(C), dout = rounded(randn(N, C)), start = randn(N, C);
        Tensor mean = dev.allocate(DType.F32, N), rstd = dev.allocate(DType.F32, N);
        cuda.layernormForward(dev.allocate(DType.F32, N, C), mean, rstd, up(inp), up(w), up(randn(C)), N, C);
        for (boolean bf16Dout : new boolean[] {false, true}) {
            String how = bf16Dout ? " (bf16 dout)" : " (fp32 dout)";
            Tensor d32 = up(start), d16 = up(start), copy = dev.allocate(DType.BF16, N, C);
            Tensor[] g32 = {up(randn(C)), up(randn(C))}, g16 = {up(down(g32[0])), up(down(g32[1]))};
            cuda.layernormBackward(d32, g32[0], g32[1], up(dout), up(inp), up(w), mean, rstd, N, C);
            cuda.layernormBackwardCopy(d16, copy, g16[0], g16[1], bf16Dout ? upBf16(dout) : up(dout), up(inp), up(w), mean, rstd,
                    N, C);
            assertSame("layernormBackward dinp" + how, down(d32), down(d16));
            assertRounded("layernormBackward's bf16 copy of dinp" + how, down(d32), down(copy));
            assertSame("layernormBackward dweight" + how, down(g32[0]), down(g16[0]));
            assertSame("layernormBackward dbias" + how, down(g32[1]), down(g16[1]));
        }
        Tensor d = up(start);
        assertThatThrownBy(() -> cuda.layernormBackward(d, up(randn(C)), up(randn(C)), upBf16(dout), up(inp), up(w), mean, rstd, N, C))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("BF16 dinpCopy");
    }

    @Test
    void geluReadsAndWritesBf16() {
        int n = 1000;
        Tensor x = rounded(randn(n)), dout = randn(n), start = randn(n);
        Tensor out32 = dev.allocate(DType.F32, n), out16 = dev.allocate(DType.BF16, n);
        cuda.geluForward(out32, up(x), n);
        cuda.geluForward(out16, upBf16(x), n);
        assertRounded("geluForward", down(out32), down(out16));

        Tensor d32 = up(start), d16 = up(start);
        cuda.geluBackward(d32, up(x), up(dout), n);
        cuda.geluBackward(d16, upBf16(x), up(dout), n);
        assertSame("geluBackward dinp (fp32, accumulated)", down(d32), down(d16));
        Tensor d32r = up(rounded(start)), dBf16 = upBf16(start); // a bf16 dinp: added to in fp32, rounded once
        cuda.geluBackward(d32r, up(x), up(dout), n);
        cuda.geluBackward(dBf16, upBf16(x), up(dout), n);
        assertRounded("geluBackward into a bf16 dinp", down(d32r), down(dBf16));
    }

    @Test
    void llamaLayersOnBf16Storage() {
        int N = 11, C = 48, n = N * C;
        Tensor inp = up(randn(N, C)), w = up(randn(C));
        Tensor out32 = dev.allocate(DType.F32, N, C), out16 = dev.allocate(DType.BF16, N, C);
        Tensor r32 = dev.allocate(DType.F32, N), r16 = dev.allocate(DType.F32, N);
        cuda.rmsnormForward(out32, r32, inp, w, N, C, 1e-5f);
        cuda.rmsnormForward(out16, r16, inp, w, N, C, 1e-5f);
        assertRounded("rmsnormForward out", down(out32), down(out16));
        assertSame("rmsnorm rstd", down(r32), down(r16));
        Tensor dy = randn(N, C), startD = randn(N, C), dinp32 = up(startD), dinp16 = up(startD), copy = dev.allocate(DType.BF16, N, C);
        Tensor dw32 = up(randn(C)), dw16 = up(down(dw32));
        cuda.rmsnormBackward(dinp32, dw32, up(dy), inp, w, r32, N, C);
        cuda.rmsnormBackwardCopy(dinp16, copy, dw16, up(dy), inp, w, r32, N, C);
        assertSame("rmsnormBackward dinp (with a bf16 copy)", down(dinp32), down(dinp16));
        assertRounded("rmsnormBackward's bf16 copy of dinp", down(dinp32), down(copy));
        assertSame("rmsnormBackward dweight (with a bf16 copy)", down(dw32), down(dw16));

        Tensor gate = rounded(randn(n)), upv = rounded(randn(n)), dout = randn(n), start = randn(n);
        Tensor s32 = dev.allocate(DType.F32, n), s16 = dev.allocate(DType.BF16, n);
        cuda.swigluForward(s32, up(gate), up(upv), n);
        Tensor gate16 = upBf16(gate), up16 = upBf16(upv);
        cuda.swigluForward(s16, gate16, up16, n);
        assertRounded("swigluForward", down(s32), down(s16));
        Tensor[] g32 = {up(start), up(start)}, g16 = {up(start), up(start)};
        cuda.swigluBackward(g32[0], g32[1], up(dout), up(gate), up(upv), n);
        cuda.swigluBackward(g16[0], g16[1], up(dout), gate16, up16, n);
        assertSame("swigluBackward dgate", down(g32[0]), down(g16[0]));
        assertSame("swigluBackward dup", down(g32[1]), down(g16[1]));
        // Llama's SwiGLU gradients in bf16: added to in fp32 and rounded once, from a bf16 dout
        Tensor dr = rounded(dout), sr = rounded(start);
        Tensor[] h32 = {up(sr), up(sr)}, h16 = {upBf16(sr), upBf16(sr)};
        cuda.swigluBackward(h32[0], h32[1], up(dr), gate16, up16, n);
        cuda.swigluBackward(h16[0], h16[1], upBf16(dr), gate16, up16, n);
        assertRounded("swigluBackward dgate in bf16", down(h32[0]), down(h16[0]));
        assertRounded("swigluBackward dup in bf16", down(h32[1]), down(h16[1]));
        // the overwriting variant (NaNs before) gives what zero-and-add gives, bit for bit, for each kernel variant
        for (DType gt : new DType[] {DType.F32, DType.BF16}) {
            for (Tensor gateT : new Tensor[] {up(gate), gate16}) {
                if (gt == DType.BF16 && gateT.dtype() != DType.BF16) continue; // bf16 gradients come with bf16 gate and up
                Tensor upT = gateT.dtype() == DType.BF16 ? up16 : up(upv), g = gt == DType.BF16 ? upBf16(dr) : up(dr);
                Tensor za = dev.allocate(gt, n), zb = dev.allocate(gt, n), wa = nansOn(gt, n), wb = nansOn(gt, n);
                cuda.zero(za);
                cuda.zero(zb);
                cuda.swigluBackward(za, zb, g, gateT, upT, n);
                cuda.swigluBackwardOverwrite(wa, wb, g, gateT, upT, n);
                String what = "swigluBackwardOverwrite, " + gt + " gradients, " + gateT.dtype() + " gate";
                assertBitsEqual(what + ", dgate", down(za), down(wa));
                assertBitsEqual(what + ", dup", down(zb), down(wb));
            }
        }
        assertThatThrownBy(() -> cuda.swigluBackward(h16[0], h16[1], up(dr), gate16, up16, n))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dgate is BF16 but dout is F32");
        assertThatThrownBy(() -> cuda.swigluForward(s32, gate16, up16, n))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gate is BF16 but out is F32");
    }

    @Test
    void ropeAndGroupedQueryAttentionOnBf16Storage() {
        int B = 2, T = 20, NH = 4, NKV = 2, hs = 8, half = hs / 2;
        long bt = (long) B * T;
        Tensor cosH = host.allocate(DType.F32, T, half), sinH = host.allocate(DType.F32, T, half);
        Backend.ropeTables(cosH, sinH, T, hs, 10000.0);
        Tensor cos = up(cosH), sin = up(sinH);
        Tensor x = rounded(randn(bt, NH * hs)), x32 = up(x), x16 = upBf16(x);
        cuda.ropeForward(x32, cos, sin, B, T, NH, hs);
        cuda.ropeForward(x16, cos, sin, B, T, NH, hs);
        assertRounded("ropeForward", down(x32), down(x16));

        Tensor q = rounded(randn(bt, NH * hs)), k = rounded(randn(bt, NKV * hs)), v = rounded(randn(bt, NKV * hs));
        Tensor dout = randn(bt, NH * hs);
        for (boolean fused : new boolean[] {false, true}) { // T 20 > hs 8: the fused kernels where asked for
            cuda.setFusedAttention(fused);
            String how = fused ? " (fused)" : " (rows)";
            long state = cuda.gqaAttentionStateFloats(B, T, NH, NKV, hs), scratch = cuda.gqaAttentionScratchFloats(B, T, NH, NKV, hs);
            Tensor[] outs = new Tensor[2], dq = new Tensor[2], dk = new Tensor[2], dv = new Tensor[2];
            for (int i = 0; i < 2; i++) {
                DType type = i == 0 ? DType.F32 : DType.BF16;
                Tensor dQ = i == 0 ? up(q) : upBf16(q), dK = i == 0 ? up(k) : upBf16(k), dV = i == 0 ? up(v) : upBf16(v);
                Tensor att = dev.allocate(DType.F32, state);
                outs[i] = dev.allocate(type, bt, NH * hs);
                cuda.gqaAttentionForward(outs[i], att, dQ, dK, dV, B, T, NH, NKV, hs);
                dq[i] = dev.allocate(DType.F32, bt, NH * hs);
                dk[i] = dev.allocate(DType.F32, bt, NKV * hs);
                dv[i] = dev.allocate(DType.F32, bt, NKV * hs);
                cuda.gqaAttentionBackward(dq[i], dk[i], dv[i], dev.allocate(DType.F32, scratch), up(dout), dQ, dK, dV, att, outs[i],
                        B, T, NH, NKV, hs);
            }
            assertRounded("gqaAttentionForward out" + how, down(outs[0]), down(outs[1]));
            // rows: the same backward on the same values; fused: the backward's D = dO.O reads the forward's output,
            // which bf16 storage keeps rounded, so the gradients differ by the bf16 bound only
            double bound = fused ? BF16 : SAME;
            assertThat(relative(down(dq[0]), down(dq[1]))).as("gqaAttentionBackward dq" + how).isLessThanOrEqualTo(bound);
            assertThat(relative(down(dk[0]), down(dk[1]))).as("gqaAttentionBackward dk" + how).isLessThanOrEqualTo(bound);
            assertThat(relative(down(dv[0]), down(dv[1]))).as("gqaAttentionBackward dv" + how).isLessThanOrEqualTo(SAME);
            Tensor refOut = host.allocate(DType.F32, bt, NH * hs), refAtt = host.allocate(DType.F32, (long) B * NH * T * T);
            ref.gqaAttentionForward(refOut, refAtt, q, k, v, B, T, NH, NKV, hs);
            assertThat(relative(refOut, down(outs[1]))).as("gqa out vs the fp32 reference" + how).isLessThanOrEqualTo(BF16);
        }
        cuda.setFusedAttention(false);
        Tensor q16 = dev.allocate(DType.BF16, bt, NH * hs), k32 = dev.allocate(DType.F32, bt, NKV * hs);
        assertThatThrownBy(() -> cuda.gqaAttentionForward(dev.allocate(DType.BF16, bt, NH * hs),
                dev.allocate(DType.F32, cuda.gqaAttentionStateFloats(B, T, NH, NKV, hs)), q16, k32, k32, B, T, NH, NKV, hs))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k is F32 but q is BF16");
    }

    /**
     * Llama's attention gradients in bf16: on the rows path ({@code gqa_attention_backward_q/kv_bf16_grads}) and both
     * fused paths, dq, dk and dv from a bf16 dout within one bf16 ulp of the same path's F32 gradients from an F32 dout
     * holding the same values, and the bf16 bound of the fp32 reference; then RoPE's backward on the bf16 dq; mixed
     * types are one clear error.
     */
    @Test
    void gqaAttentionBackwardIntoBf16Gradients() {
        int B = 2, T = 20, NH = 4, NKV = 2, hs = 8, half = hs / 2;
        long bt = (long) B * T;
        Tensor q = rounded(randn(bt, NH * hs)), k = rounded(randn(bt, NKV * hs)), v = rounded(randn(bt, NKV * hs));
        Tensor dout = rounded(randn(bt, NH * hs));
        Tensor refOut = host.allocate(DType.F32, bt, NH * hs), refAtt = host.allocate(DType.F32, (long) B * NH * T * T);
        Tensor refDq = host.allocate(DType.F32, bt, NH * hs), refDk = host.allocate(DType.F32, bt, NKV * hs);
        Tensor refDv = host.allocate(DType.F32, bt, NKV * hs), refDatt = host.allocate(DType.F32, (long) B * NH * T * T);
        ref.gqaAttentionForward(refOut, refAtt, q, k, v, B, T, NH, NKV, hs);
        ref.gqaAttentionBackward(refDq, refDk, refDv, refDatt, dout, q, k, v, refAtt, refOut, B, T, NH, NKV, hs);
        for (String path : new String[] {"rows", "fused-tc", "fused-cudacore"}) {
            cuda.setFusedAttention(!path.equals("rows"));
            cuda.setCudaCoreAttention(path.equals("fused-cudacore"));
            Tensor q16 = upBf16(q), k16 = upBf16(k), v16 = upBf16(v);
            Tensor att = dev.allocate(DType.F32, cuda.gqaAttentionStateFloats(B, T, NH, NKV, hs));
            Tensor datt = dev.allocate(DType.F32, cuda.gqaAttentionScratchFloats(B, T, NH, NKV, hs));
            Tensor out16 = dev.allocate(DType.BF16, bt, NH * hs);
            cuda.gqaAttentionForward(out16, att, q16, k16, v16, B, T, NH, NKV, hs);
            Tensor[] g32 = {dev.allocate(DType.F32, bt, NH * hs), dev.allocate(DType.F32, bt, NKV * hs), dev.allocate(DType.F32, bt, NKV * hs)};
            Tensor[] g16 = {dev.allocate(DType.BF16, bt, NH * hs), dev.allocate(DType.BF16, bt, NKV * hs), dev.allocate(DType.BF16, bt, NKV * hs)};
            for (Tensor t : g32) cuda.zero(t);
            for (Tensor t : g16) cuda.zero(t);
            cuda.gqaAttentionBackward(g32[0], g32[1], g32[2], datt, up(dout), q16, k16, v16, att, out16, B, T, NH, NKV, hs);
            cuda.gqaAttentionBackward(g16[0], g16[1], g16[2], datt, upBf16(dout), q16, k16, v16, att, out16, B, T, NH, NKV, hs);
            String[] names = {"dq", "dk", "dv"};
            // the overwriting variant (NaNs before): what zero-and-add gave, bit for bit, F32 and BF16 gradients
            Tensor[] w32 = {nansOn(DType.F32, bt * NH * hs), nansOn(DType.F32, bt * NKV * hs), nansOn(DType.F32, bt * NKV * hs)};
            Tensor[] w16 = {nansOn(DType.BF16, bt * NH * hs), nansOn(DType.BF16, bt * NKV * hs), nansOn(DType.BF16, bt * NKV * hs)};
            cuda.gqaAttentionBackwardOverwrite(w32[0], w32[1], w32[2], datt, up(dout), q16, k16, v16, att, out16, B, T, NH, NKV, hs);
            cuda.gqaAttentionBackwardOverwrite(w16[0], w16[1], w16[2], datt, upBf16(dout), q16, k16, v16, att, out16, B, T, NH, NKV, hs);
            for (int i = 0; i < 3; i++) {
                assertBitsEqual("gqaAttentionBackwardOverwrite " + names[i] + " F32 (" + path + ")", down(g32[i]), down(w32[i]));
                assertBitsEqual("gqaAttentionBackwardOverwrite " + names[i] + " BF16 (" + path + ")", down(g16[i]), down(w16[i]));
            }
            Tensor[] refs = {refDq, refDk, refDv};
            for (int i = 0; i < 3; i++) {
                assertRounded("gqaAttentionBackward " + names[i] + " in bf16 (" + path + ")", down(g32[i]), down(g16[i]));
                assertThat(relative(refs[i], down(g16[i]))).as(names[i] + " vs the fp32 reference (" + path + ")")
                        .isLessThanOrEqualTo(BF16);
            }
            if (path.equals("rows")) {
                Tensor cosH = host.allocate(DType.F32, T, half), sinH = host.allocate(DType.F32, T, half);
                Backend.ropeTables(cosH, sinH, T, hs, 10000.0);
                cuda.ropeBackward(g32[0], up(cosH), up(sinH), B, T, NH, hs);
                cuda.ropeBackward(g16[0], up(cosH), up(sinH), B, T, NH, hs);
                assertThat(relative(down(g32[0]), down(g16[0]))).as("ropeBackward on a bf16 dq").isLessThanOrEqualTo(BF16);
            }
            Tensor dq16 = g16[0];
            assertThatThrownBy(() -> cuda.gqaAttentionBackward(dq16, g16[1], g16[2], datt, up(dout), q16, k16, v16, att, out16,
                    B, T, NH, NKV, hs)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dq is BF16 but dout is F32");
            assertThatThrownBy(() -> cuda.gqaAttentionBackward(dq16, g32[1], g32[2], datt, upBf16(dout), q16, k16, v16, att, out16,
                    B, T, NH, NKV, hs)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dk");
        }
        cuda.setCudaCoreAttention(false);
        cuda.setFusedAttention(false);
    }

    /**
     * bf16 decoding: the decode attention over bf16 KV caches (one sequence's block, and a batched step of sequences
     * at their own positions that first writes its new keys and values into the caches) and the batched RoPE, against
     * the same ops on F32 tensors holding the same values: the outputs within {@value #ULPS} bf16 ulp of the fp32
     * results rounded, the caches' new rows exactly the new keys and values; mixed types are one clear error.
     */
    @Test
    void decodeAttentionOnBf16Caches() {
        int NH = 4, NKV = 2, hs = 8, maxT = 16, kv = NKV * hs, qw = NH * hs, half = hs / 2;
        int[] pos = {0, 5, 11};
        int n = pos.length;
        Tensor[] k32 = new Tensor[n], v32 = new Tensor[n], k16 = new Tensor[n], v16 = new Tensor[n];
        for (int i = 0; i < n; i++) {
            Tensor kh = rounded(randn(maxT, kv)), vh = rounded(randn(maxT, kv));
            k32[i] = up(kh);
            v32[i] = up(vh);
            k16[i] = upBf16(kh);
            v16[i] = upBf16(vh);
        }
        Tensor q = rounded(randn(n, qw)), kNew = rounded(randn(n, kv)), vNew = rounded(randn(n, kv));
        Tensor out32 = dev.allocate(DType.F32, n, qw), out16 = dev.allocate(DType.BF16, n, qw);
        long scratch = Backend.gqaAttentionDecodeRowsScratchFloats(pos, n, NH);
        cuda.gqaAttentionDecodeRows(out32, dev.allocate(DType.F32, scratch), up(q), up(kNew), up(vNew), k32, v32, pos, n, NH, NKV, hs);
        Tensor q16 = upBf16(q);
        cuda.gqaAttentionDecodeRows(out16, dev.allocate(DType.F32, scratch), q16, upBf16(kNew), upBf16(vNew), k16, v16, pos, n, NH,
                NKV, hs);
        assertRounded("gqaAttentionDecodeRows out", down(out32), down(out16));
        for (int i = 0; i < n; i++) {
            assertSame("k cache " + i + " after the step", down(k32[i]), down(k16[i]));
            assertSame("v cache " + i + " after the step", down(v32[i]), down(v16[i]));
        }

        // a block of 3 rows continuing sequence 2 (positions 12..14) over its caches
        int rows = 3, p0 = 12;
        Tensor qb = rounded(randn(rows, qw));
        Tensor ob32 = dev.allocate(DType.F32, rows, qw), ob16 = dev.allocate(DType.BF16, rows, qw);
        long blockScratch = Backend.gqaAttentionDecodeScratchFloats(p0, rows, NH);
        cuda.gqaAttentionDecode(ob32, dev.allocate(DType.F32, blockScratch), up(qb), k32[2], v32[2], p0, rows, NH, NKV, hs);
        cuda.gqaAttentionDecode(ob16, dev.allocate(DType.F32, blockScratch), upBf16(qb), k16[2], v16[2], p0, rows, NH, NKV, hs);
        assertRounded("gqaAttentionDecode out", down(ob32), down(ob16));

        Tensor cosH = host.allocate(DType.F32, maxT, half), sinH = host.allocate(DType.F32, maxT, half);
        Backend.ropeTables(cosH, sinH, maxT, hs, 10000.0);
        Tensor x = rounded(randn(n, qw)), x32 = up(x), x16 = upBf16(x);
        cuda.ropeForwardRows(x32, up(cosH), up(sinH), pos, n, NH, hs);
        cuda.ropeForwardRows(x16, up(cosH), up(sinH), pos, n, NH, hs);
        assertRounded("ropeForwardRows", down(x32), down(x16));

        assertThatThrownBy(() -> cuda.gqaAttentionDecodeRows(out16, dev.allocate(DType.F32, scratch), q16, up(kNew), up(vNew), k16, v16,
                pos, n, NH, NKV, hs)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q is BF16 but the keys are F32");
        assertThatThrownBy(() -> cuda.gqaAttentionDecode(ob16, dev.allocate(DType.F32, blockScratch), upBf16(qb), k32[2], v32[2], p0,
                rows, NH, NKV, hs)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q is BF16 but the keys are F32");
    }

    @Test
    void matmulForwardIntoBf16() {
        int N = 21, C = 24, OC = 40;
        Tensor inp = rounded(randn(N, C)), w = randn(OC, C), bias = randn(OC);
        for (boolean lt : new boolean[] {true, false}) {
            cuda.setLt(lt);
            for (Tensor b : new Tensor[] {bias, null}) {
                String what = "matmulForward" + (b == null ? "" : " + bias") + (lt ? " (lt)" : " (cublas)");
                Tensor out32 = dev.allocate(DType.F32, N, OC), out16 = dev.allocate(DType.BF16, N, OC);
                Tensor dw = up(w), db = b == null ? null : up(b);
                cuda.matmulForward(out32, up(inp), dw, db, N, C, OC);
                cuda.matmulForward(out16, upBf16(inp), dw, db, N, C, OC);
                if (b != null) {
                    // cublas: the product rounded, then the sum; lt: the bias rounded (cuBLASLt adds a bias of D's type)
                    assertThat(relative(rounded(down(out32)), down(out16))).as(what + ": two roundings").isLessThanOrEqualTo(TWO_ROUNDINGS);
                } else {
                    assertRounded(what, down(out32), down(out16));
                }
                Tensor expected = host.allocate(DType.F32, N, OC);
                ref.matmulForward(expected, inp, w, b, N, C, OC);
                assertThat(relative(expected, down(out16))).as(what + " vs the fp32 reference").isLessThanOrEqualTo(BF16);
            }
        }
    }

    @Test
    void matmulBackwardReadsBf16Inputs() {
        int N = 19, C = 32, OC = 24;
        Tensor inp = rounded(randn(N, C)), w = randn(OC, C), dout = randn(N, OC);
        Tensor dinp = randn(N, C), dw = randn(OC, C), db = randn(OC);
        for (boolean lt : new boolean[] {true, false}) {
            cuda.setLt(lt);
            Tensor[] g32 = {up(dinp), up(dw), up(db)}, g16 = {up(dinp), up(dw), up(db)};
            Tensor dW = up(w), dOut = up(dout);
            cuda.matmulBackward(g32[0], g32[1], g32[2], dOut, up(inp), dW, N, C, OC);
            cuda.matmulBackward(g16[0], g16[1], g16[2], dOut, upBf16(inp), dW, N, C, OC);
            String[] names = {"dinp", "dweight", "dbias"};
            for (int i = 0; i < 3; i++) assertSame(names[i] + (lt ? " (lt)" : " (cublas)"), down(g32[i]), down(g16[i]));
        }
    }

    /** GPT-2's d(attention output) in bf16: the overwriting backward writes dinp rounded once; += into bf16 is refused. */
    @Test
    void matmulBackwardOverwritesABf16Dinp() {
        int N = 19, C = 32, OC = 24;
        Tensor inp = rounded(randn(N, C)), w = randn(OC, C), dout = randn(N, OC);
        for (boolean lt : new boolean[] {true, false}) {
            cuda.setLt(lt);
            Tensor dinp32 = up(randn(N, C)), dinp16 = upBf16(randn(N, C)), dw = randn(OC, C), db = randn(OC);
            Tensor[] g32 = {up(dw), up(db)}, g16 = {up(dw), up(db)};
            cuda.matmulBackwardOverwrite(dinp32, g32[0], g32[1], up(dout), upBf16(inp), up(w), N, C, OC);
            cuda.matmulBackwardOverwrite(dinp16, g16[0], g16[1], up(dout), upBf16(inp), up(w), N, C, OC);
            String how = lt ? " (lt)" : " (cublas)";
            assertRounded("matmulBackwardOverwrite into a bf16 dinp" + how, down(dinp32), down(dinp16));
            assertSame("dweight" + how, down(g32[0]), down(g16[0]));
            assertSame("dbias" + how, down(g32[1]), down(g16[1]));
            assertThatThrownBy(() -> cuda.matmulBackward(dinp16, g16[0], g16[1], up(dout), upBf16(inp), up(w), N, C, OC))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dinp").hasMessageContaining("BF16");
        }
    }

    @Test
    void geluFusionsOnBf16Storage() {
        int N = 17, C = 16, OC = 64;
        Tensor inp = rounded(randn(N, C)), w = randn(OC, C), bias = randn(OC);
        for (boolean lt : new boolean[] {true, false}) {
            cuda.setLt(lt);
            String how = lt ? " (lt)" : " (two ops)";
            Tensor pre = host.allocate(DType.F32, N, OC), out = host.allocate(DType.F32, N, OC);
            ref.matmulGeluForward(pre, out, inp, w, bias, N, C, OC);
            Tensor pre16 = dev.allocate(DType.BF16, N, OC), out16 = dev.allocate(DType.BF16, N, OC);
            cuda.matmulGeluForward(pre16, out16, upBf16(inp), up(w), up(bias), N, C, OC);
            assertThat(relative(pre, down(pre16))).as("matmulGeluForward pre" + how).isLessThanOrEqualTo(BF16);
            assertThat(relative(out, down(out16))).as("matmulGeluForward out" + how).isLessThanOrEqualTo(BF16);

            // the backward through gelu(pre) of a product (OC = C of the forward's next product)
            int C2 = OC, OC2 = 24;
            Tensor w2 = randn(OC2, C2), dout = randn(N, OC2), preR = rounded(pre), gelu = rounded(out);
            Tensor dpre = host.allocate(DType.F32, N, C2), dgelu = host.allocate(DType.F32, N, C2);
            Tensor dw = randn(OC2, C2), db = randn(OC2), dwCuda = up(dw), dbCuda = up(db);
            ref.matmulBackwardGelu(dpre, dgelu, dw, db, dout, gelu, w2, preR, N, C2, OC2);
            Tensor dpreCuda = up(randn(N, C2)), dgeluCuda = dev.allocate(DType.F32, N, C2);
            cuda.matmulBackwardGelu(dpreCuda, dgeluCuda, dwCuda, dbCuda, up(dout), upBf16(gelu), up(w2), upBf16(preR), N, C2, OC2);
            assertThat(relative(dpre, down(dpreCuda))).as("matmulBackwardGelu dpre" + how).isLessThanOrEqualTo(BF16);
            assertThat(relative(dw, down(dwCuda))).as("matmulBackwardGelu dweight" + how).isLessThanOrEqualTo(BF16);
            assertThat(relative(db, down(dbCuda))).as("matmulBackwardGelu dbias" + how).isLessThanOrEqualTo(BF16);
        }
    }

    /**
     * GPT-2's d(fch) in bf16: the fcproj backward through the GELU writes it rounded (the DGELU epilogue, or the product
     * and {@code gelu_backward_bf16_dinp}), and the fc backward reads it as its bf16 operand (the bias gradient from
     * cuBLASLt's BGRADB or {@code matmul_backward_bias_bf16}): the same as an F32 d(fch) holding those values.
     */
    @Test
    void geluBackwardIntoBf16Gradient() {
        int N = 17, C = 64, OC = 24, C2 = 16;
        Tensor pre = rounded(randn(N, C)), gelu = rounded(randn(N, C)), w = randn(OC, C), dout = randn(N, OC);
        Tensor w2 = randn(C, C2), x2 = rounded(randn(N, C2));
        for (boolean lt : new boolean[] {true, false}) {
            cuda.setLt(lt);
            String how = lt ? " (lt)" : " (two ops)";
            Tensor dw = randn(OC, C), db = randn(OC);
            Tensor dpre32 = up(randn(N, C)), dpre16 = upBf16(randn(N, C)), dgelu = dev.allocate(DType.F32, N, C);
            Tensor[] g32 = {up(dw), up(db)}, g16 = {up(dw), up(db)};
            cuda.matmulBackwardGelu(dpre32, dgelu, g32[0], g32[1], up(dout), upBf16(gelu), up(w), upBf16(pre), N, C, OC);
            cuda.matmulBackwardGelu(dpre16, dgelu, g16[0], g16[1], up(dout), upBf16(gelu), up(w), upBf16(pre), N, C, OC);
            assertRounded("matmulBackwardGelu dpre in bf16" + how, down(dpre32), down(dpre16));
            assertSame("matmulBackwardGelu dweight" + how, down(g32[0]), down(g16[0]));
            assertSame("matmulBackwardGelu dbias" + how, down(g32[1]), down(g16[1]));

            // the fc backward on it: dout bf16 vs F32 holding the same values
            Tensor same = up(widen(down(dpre16)));
            Tensor dx32 = up(randn(N, C2)), dx16 = up(randn(N, C2)), dw2 = randn(C, C2), db2 = randn(C);
            Tensor[] h32 = {dx32, up(dw2), up(db2)}, h16 = {dx16, up(dw2), up(db2)};
            cuda.matmulBackwardOverwrite(h32[0], h32[1], h32[2], same, upBf16(x2), up(w2), N, C2, C);
            cuda.matmulBackwardOverwrite(h16[0], h16[1], h16[2], dpre16, upBf16(x2), up(w2), N, C2, C);
            String[] names = {"dinp", "dweight", "dbias"};
            for (int i = 0; i < 3; i++) assertSame("matmulBackward on a bf16 dout: " + names[i] + how, down(h32[i]), down(h16[i]));
            Tensor expected = host.allocate(DType.F32, N, C2), edw = randn(C, C2), edb = randn(C);
            ref.matmulBackwardOverwrite(expected, edw, edb, widen(down(dpre16)), x2, w2, N, C2, C);
            assertThat(relative(expected, down(h16[0]))).as("fc dinp vs the fp32 reference" + how).isLessThanOrEqualTo(BF16);
        }
    }

    @Test
    void attentionOnBf16Storage() {
        cuda.setFusedAttention(false);
        int B = 2, T = 9, C = 24, NH = 3;
        Tensor qkv = rounded(randn(B, T, 3 * C)), dout = randn(B, T, C);
        long att = cuda.attentionStateFloats(B, T, C, NH), datt = cuda.attentionScratchFloats(B, T, C, NH);
        Tensor out32 = dev.allocate(DType.F32, B, T, C), out16 = dev.allocate(DType.BF16, B, T, C);
        Tensor att32 = dev.allocate(DType.F32, att), att16 = dev.allocate(DType.F32, att);
        cuda.attentionForward(out32, att32, up(qkv), B, T, C, NH);
        Tensor qkv16 = upBf16(qkv);
        cuda.attentionForward(out16, att16, qkv16, B, T, C, NH);
        assertRounded("attentionForward out", down(out32), down(out16));
        assertSame("attention probabilities (fp32)", down(att32), down(att16));

        Tensor dqkv32 = dev.allocate(DType.F32, B, T, 3 * C), dqkv16 = dev.allocate(DType.F32, B, T, 3 * C);
        cuda.attentionBackward(dqkv32, dev.allocate(DType.F32, datt), up(dout), up(qkv), att32, out32, B, T, C, NH);
        cuda.attentionBackward(dqkv16, dev.allocate(DType.F32, datt), up(dout), qkv16, att16, out16, B, T, C, NH);
        assertSame("attentionBackward dqkv", down(dqkv32), down(dqkv16));

        Tensor refOut = host.allocate(DType.F32, B, T, C), refAtt = host.allocate(DType.F32, (long) B * NH * T * T);
        Tensor refDqkv = host.allocate(DType.F32, B, T, 3 * C), refDatt = host.allocate(DType.F32, (long) B * NH * T * T);
        ref.attentionForward(refOut, refAtt, qkv, B, T, C, NH);
        ref.attentionBackward(refDqkv, refDatt, dout, qkv, refAtt, refOut, B, T, C, NH);
        assertThat(relative(refOut, down(out16))).as("out vs the fp32 reference").isLessThanOrEqualTo(BF16);
        assertThat(relative(refDqkv, down(dqkv16))).as("dqkv vs the fp32 reference").isLessThanOrEqualTo(BF16);
    }

    /**
     * Attention's gradients in bf16 (GPT-2's d(attention output) and dqkv in bf16 mode) on each path: the cuBLAS
     * products add into a bf16 dqkv, the fused kernels' _bf16_grads pairs (tensor cores and CUDA cores) read a bf16 dout
     * and add into a bf16 dqkv. Each within one bf16 ulp of the same path's F32 dqkv from an F32 dout holding the same
     * values (one rounding of the same sums), and within the bf16 bound of the fp32 reference; mixed types are one error.
     */
    @Test
    void attentionBackwardIntoBf16Gradients() {
        int B = 2, T = 40, C = 24, NH = 3;
        Tensor qkv = rounded(randn(B, T, 3 * C)), dout = rounded(randn(B, T, C));
        Tensor refOut = host.allocate(DType.F32, B, T, C), refAtt = host.allocate(DType.F32, (long) B * NH * T * T);
        Tensor refDqkv = host.allocate(DType.F32, B, T, 3 * C), refDatt = host.allocate(DType.F32, (long) B * NH * T * T);
        ref.attentionForward(refOut, refAtt, qkv, B, T, C, NH);
        ref.attentionBackward(refDqkv, refDatt, dout, qkv, refAtt, refOut, B, T, C, NH);
        for (String path : new String[] {"cublas", "fused-tc", "fused-cudacore"}) {
            cuda.setFusedAttention(!path.equals("cublas"));
            cuda.setCudaCoreAttention(path.equals("fused-cudacore"));
            assertThat(cuda.attentionLabel(C / NH)).isEqualTo(path);
            DType state = cuda.attentionStateDType(B, T, C, NH);
            Tensor att = dev.allocate(state, cuda.attentionStateFloats(B, T, C, NH));
            Tensor datt = dev.allocate(state, cuda.attentionScratchFloats(B, T, C, NH));
            Tensor qkv16 = upBf16(qkv), out16 = dev.allocate(DType.BF16, B, T, C);
            cuda.attentionForward(out16, att, qkv16, B, T, C, NH);
            Tensor dqkv32 = dev.allocate(DType.F32, B, T, 3 * C), dqkv16 = dev.allocate(DType.BF16, B, T, 3 * C);
            cuda.zero(dqkv32);
            cuda.zero(dqkv16);
            cuda.attentionBackward(dqkv32, datt, up(dout), qkv16, att, out16, B, T, C, NH);
            cuda.attentionBackward(dqkv16, datt, upBf16(dout), qkv16, att, out16, B, T, C, NH);
            assertRounded("attentionBackward into a bf16 dqkv (" + path + ")", down(dqkv32), down(dqkv16));
            assertThat(relative(refDqkv, down(dqkv16))).as("bf16 dqkv vs the fp32 reference (" + path + ")").isLessThanOrEqualTo(BF16);

            Tensor dqkvOther = dev.allocate(DType.BF16, B, T, 3 * C), qkv32 = up(qkv);
            assertThatThrownBy(() -> cuda.attentionBackward(dqkvOther, datt, up(dout), qkv16, att, out16, B, T, C, NH))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dqkv is BF16 but dout is F32");
            if (path.equals("cublas")) {
                Tensor att32 = dev.allocate(DType.F32, cuda.attentionStateFloats(B, T, C, NH));
                assertThatThrownBy(() -> cuda.attentionBackward(dqkvOther, datt, upBf16(dout), qkv32, att32, out16, B, T, C, NH))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dqkv is BF16 but qkv is F32");
            }
        }
        cuda.setCudaCoreAttention(false);
        cuda.setFusedAttention(false);
    }

    /**
     * {@link CudaBackend#attentionBackwardOverwrite} writes dqkv (NaNs before) exactly as zeroing it and adding does, on
     * every path and kernel variant: the cuBLAS products with beta 0, and the fused kernels (tensor cores and CUDA
     * cores; fp32 or bf16 q, k, v; fp32 or bf16 gradients) storing each row once.
     */
    @Test
    void attentionBackwardOverwriteEqualsZeroAndAdd() {
        int B = 2, T = 70, C = 24, NH = 3;
        Tensor qkv = rounded(randn(B, T, 3 * C)), dout = rounded(randn(B, T, C)), nans = host.allocate(DType.F32, B, T, 3 * C);
        for (long i = 0; i < nans.numel(); i++) nans.setFloat(i, Float.NaN);
        for (String path : new String[] {"cublas", "fused-tc", "fused-cudacore"}) {
            cuda.setFusedAttention(!path.equals("cublas"));
            cuda.setCudaCoreAttention(path.equals("fused-cudacore"));
            for (DType act : new DType[] {DType.F32, DType.BF16}) {
                for (DType grad : act == DType.BF16 ? new DType[] {DType.F32, DType.BF16} : new DType[] {DType.F32}) {
                    if (path.equals("cublas") && act == DType.F32 && grad == DType.F32) continue; // BackendContractTest's
                    String what = path + ", " + act + " q/k/v, " + grad + " gradients";
                    DType state = act == DType.F32 && path.equals("cublas") ? DType.F32 : cuda.attentionStateDType(B, T, C, NH);
                    Tensor att = dev.allocate(state, cuda.attentionStateFloats(B, T, C, NH));
                    Tensor datt = dev.allocate(state, cuda.attentionScratchFloats(B, T, C, NH));
                    Tensor q = act == DType.BF16 ? upBf16(qkv) : up(qkv), out = dev.allocate(act, B, T, C);
                    Tensor g = grad == DType.BF16 ? upBf16(dout) : up(dout);
                    cuda.attentionForward(out, att, q, B, T, C, NH);
                    Tensor added = dev.allocate(grad, B, T, 3 * C), written = grad == DType.BF16 ? upBf16(nans) : up(nans);
                    cuda.zero(added);
                    cuda.attentionBackward(added, datt, g, q, att, out, B, T, C, NH);
                    cuda.attentionBackwardOverwrite(written, datt, g, q, att, out, B, T, C, NH);
                    Tensor a = down(added), w = down(written);
                    for (long i = 0; i < a.numel(); i++) {
                        assertThat(w.getFloat(i)).as(what + ": dqkv[" + i + "]").isEqualTo(a.getFloat(i));
                    }
                }
            }
        }
        cuda.setCudaCoreAttention(false);
        cuda.setFusedAttention(false);
    }

    /**
     * The cuBLAS path with bf16 probabilities ({@link CudaBackend#attentionStateDType} BF16): the scores product
     * writes bf16, the softmax kernels work in place on bf16, the products read the probabilities and d(scores) as
     * they are. Against the same path with fp32 att and datt on the same bf16 qkv, and against the fp32 reference:
     * the probabilities, out and dqkv within the bf16 bound; zeros above the diagonal; the fused path and mixed types
     * refuse bf16 buffers with one clear error.
     */
    @Test
    void attentionOnBf16Probabilities() {
        cuda.setFusedAttention(false);
        int B = 2, T = 33, C = 24, NH = 3;
        assertThat(cuda.attentionStateDType(B, T, C, NH)).isEqualTo(DType.BF16);
        Tensor qkv = rounded(randn(B, T, 3 * C)), dout = randn(B, T, C);
        long n = (long) B * NH * T * T;
        Tensor qkv16 = upBf16(qkv);
        Tensor outF = dev.allocate(DType.BF16, B, T, C), outB = dev.allocate(DType.BF16, B, T, C);
        Tensor attF = dev.allocate(DType.F32, n), attB = dev.allocate(DType.BF16, n);
        cuda.attentionForward(outF, attF, qkv16, B, T, C, NH);
        cuda.attentionForward(outB, attB, qkv16, B, T, C, NH);
        Tensor pF = down(attF), pB = down(attB);
        boolean differs = false;
        for (long r = 0; r < (long) B * NH * T; r++) {
            int t = (int) (r % T);
            double sum = 0;
            for (int j = 0; j < T; j++) {
                float v = pB.getFloat(r * T + j);
                if (j > t) assertThat(v).as("above the diagonal, row " + r + " column " + j).isZero();
                sum += v;
                differs |= v != pF.getFloat(r * T + j);
            }
            assertThat(sum).as("row " + r + " sums to 1").isCloseTo(1.0, org.assertj.core.data.Offset.offset(BF16));
        }
        assertThat(differs).as("the probabilities went through bf16").isTrue();
        assertThat(relative(pF, pB)).as("bf16 vs fp32 probabilities").isLessThanOrEqualTo(BF16);
        assertThat(relative(down(outF), down(outB))).as("out, bf16 vs fp32 probabilities").isLessThanOrEqualTo(BF16);

        Tensor dqkvF = dev.allocate(DType.F32, B, T, 3 * C), dqkvB = dev.allocate(DType.F32, B, T, 3 * C);
        cuda.attentionBackward(dqkvF, dev.allocate(DType.F32, n), up(dout), qkv16, attF, outF, B, T, C, NH);
        cuda.attentionBackward(dqkvB, dev.allocate(DType.BF16, n), up(dout), qkv16, attB, outB, B, T, C, NH);
        assertThat(relative(down(dqkvF), down(dqkvB))).as("dqkv, bf16 vs fp32 probabilities").isLessThanOrEqualTo(BF16);

        Tensor refOut = host.allocate(DType.F32, B, T, C), refAtt = host.allocate(DType.F32, n);
        Tensor refDqkv = host.allocate(DType.F32, B, T, 3 * C), refDatt = host.allocate(DType.F32, n);
        ref.attentionForward(refOut, refAtt, qkv, B, T, C, NH);
        ref.attentionBackward(refDqkv, refDatt, dout, qkv, refAtt, refOut, B, T, C, NH);
        assertThat(relative(refAtt, pB)).as("probabilities vs the fp32 reference").isLessThanOrEqualTo(BF16);
        assertThat(relative(refOut, down(outB))).as("out vs the fp32 reference").isLessThanOrEqualTo(BF16);
        assertThat(relative(refDqkv, down(dqkvB))).as("dqkv vs the fp32 reference").isLessThanOrEqualTo(BF16);

        assertThatThrownBy(() -> cuda.attentionBackward(dqkvB, dev.allocate(DType.F32, n), up(dout), qkv16, attB, outB, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("att is BF16 but datt is F32");
        cuda.setFusedAttention(true); // T 33 > head size 8: the fused path, whose log-sum-exps stay fp32
        assertThat(cuda.attentionStateDType(B, T, C, NH)).isEqualTo(DType.F32);
        assertThatThrownBy(() -> cuda.attentionForward(outB, attB, qkv16, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fused attention keeps fp32 log-sum-exps");
        cuda.setFusedAttention(false);
    }

    @Test
    void classifierReadsABf16Input() {
        int N = 11, C = 16, V = 37;
        Tensor x = rounded(randn(N, C)), wte = up(randn(V, C)), targets = host.allocate(DType.I32, N);
        for (int i = 0; i < N; i++) targets.setInt(i, (7 * i) % V);
        Tensor dTargets = up(targets);
        Tensor[] losses = new Tensor[3], dx = new Tensor[3], dwte = new Tensor[3];
        double[] sums = new double[3];
        for (int k = 0; k < 3; k++) {
            losses[k] = dev.allocate(DType.F32, N);
            dx[k] = up(randnAgain(N, C, 5));
            dwte[k] = up(randnAgain(V, C, 6));
            // k 2: a scratch of one unpadded row (V elements, less than classifierRowStride(V)): rows V apart, one at a time
            sums[k] = cuda.classifier(losses[k], dx[k], dwte[k], k == 0 ? up(x) : upBf16(x), wte, dTargets,
                    dev.allocate(DType.F32, k == 2 ? V : 4L * V), N, C, V, 1f / N, true);
        }
        for (int k = 1; k < 3; k++) {
            assertThat(sums[k]).as("summed loss").isCloseTo(sums[0], org.assertj.core.data.Offset.offset(SAME * Math.abs(sums[0])));
            assertSame("losses", down(losses[0]), down(losses[k]));
            assertSame("dx", down(dx[0]), down(dx[k]));
            assertSame("dwte", down(dwte[0]), down(dwte[k]));
        }
    }

    /**
     * A BF16 scratch (a model's logits chunk in bf16 mode): the logits product writes bf16, the softmax kernel writes
     * the dlogits in place in bf16 and the backward products read them as they are. Against an F32 scratch on the
     * same bf16 input: each loss within 2^-8 of the row's largest |logit| (the logits rounded once, the log-sum-exp
     * and the target logit each off by at most half a bf16 ulp of it), the gradients within the bf16 bound; and
     * against the fp32 reference within the bf16 bound. Chunks of 5 rows over 21, with ignored rows.
     */
    @Test
    void classifierOnBf16Logits() {
        int N = 21, C = 16, V = 37, R = 5;
        Tensor x = rounded(randn(N, C)), wte = rounded(randn(V, C)), targets = host.allocate(DType.I32, N);
        for (int i = 0; i < N; i++) targets.setInt(i, i % 6 == 5 ? -1 : (7 * i) % V);
        Tensor dTargets = up(targets);
        float[] maxLogit = new float[N];
        for (int i = 0; i < N; i++) {
            for (int v = 0; v < V; v++) {
                float dot = 0;
                for (int c = 0; c < C; c++) dot += x.getFloat((long) i * C + c) * wte.getFloat((long) v * C + c);
                maxLogit[i] = Math.max(maxLogit[i], Math.abs(dot));
            }
        }
        Tensor[] losses = new Tensor[3], dx = new Tensor[3], dwte = new Tensor[3];
        double[] sums = new double[3];
        for (int k = 0; k < 3; k++) { // 0: F32 scratch, 1: BF16 scratch, 2: BF16 scratch after setMath(FP32)
            if (k == 2) cuda.setMath(GemmMath.FP32);
            losses[k] = dev.allocate(DType.F32, N);
            dx[k] = up(host.allocate(DType.F32, N, C)); // zeros: the gradients alone are compared
            dwte[k] = up(host.allocate(DType.F32, V, C));
            Tensor scratch = dev.allocate(k == 0 ? DType.F32 : DType.BF16, R, V);
            sums[k] = cuda.classifier(losses[k], dx[k], dwte[k], upBf16(x), up(wte), dTargets, scratch, N, C, V, 1f / N, true);
        }
        Tensor l32 = down(losses[0]), l16 = down(losses[1]);
        boolean differs = false;
        for (int i = 0; i < N; i++) {
            if (targets.getInt(i) < 0) {
                assertThat(l16.getFloat(i)).as("ignored row " + i).isZero();
                continue;
            }
            assertThat((double) l16.getFloat(i)).as("loss of row " + i + " from bf16 logits")
                    .isCloseTo(l32.getFloat(i), org.assertj.core.data.Offset.offset(0x1p-8 * maxLogit[i] + SAME));
            differs |= l16.getFloat(i) != l32.getFloat(i);
        }
        assertThat(differs).as("the losses went through bf16 logits").isTrue();
        assertThat(relative(down(dx[0]), down(dx[1]))).as("dx, bf16 vs fp32 logits").isLessThanOrEqualTo(BF16);
        assertThat(relative(down(dwte[0]), down(dwte[1]))).as("dwte, bf16 vs fp32 logits").isLessThanOrEqualTo(BF16);
        assertSame("losses: a BF16 scratch multiplies in bf16 whatever the math", l16, down(losses[2]));
        assertSame("dx, whatever the math", down(dx[1]), down(dx[2]));
        assertSame("dwte, whatever the math", down(dwte[1]), down(dwte[2]));

        Tensor refLosses = host.allocate(DType.F32, N), refDx = host.allocate(DType.F32, N, C), refDwte = host.allocate(DType.F32, V, C);
        double refSum = ref.classifier(refLosses, refDx, refDwte, x, wte, targets, host.allocate(DType.F32, R, V),
                N, C, V, 1f / N, true);
        assertThat(sums[1]).as("summed loss vs the fp32 reference").isCloseTo(refSum, org.assertj.core.data.Offset.offset(BF16 * Math.abs(refSum)));
        assertThat(relative(refLosses, l16)).as("losses vs the fp32 reference").isLessThanOrEqualTo(BF16);
        assertThat(relative(refDx, down(dx[1]))).as("dx vs the fp32 reference").isLessThanOrEqualTo(BF16);
        assertThat(relative(refDwte, down(dwte[1]))).as("dwte vs the fp32 reference").isLessThanOrEqualTo(BF16);
    }

    @Test
    void mixedTypesAreOneClearError() {
        int B = 1, T = 4, C = 8, NH = 2;
        Tensor qkv16 = dev.allocate(DType.BF16, B, T, 3 * C), out32 = dev.allocate(DType.F32, B, T, C);
        Tensor att = dev.allocate(DType.F32, cuda.attentionStateFloats(B, T, C, NH));
        assertThatThrownBy(() -> cuda.attentionForward(out32, att, qkv16, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qkv is BF16 but out is F32");
        Tensor a16 = dev.allocate(DType.BF16, 8), b32 = dev.allocate(DType.F32, 8);
        assertThatThrownBy(() -> cuda.residualForward(b32, a16, b32, 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("F32");
        assertThatThrownBy(() -> cuda.geluForward(b32, a16, 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("inp is BF16 but out is F32");
        assertThatThrownBy(() -> cuda.geluBackward(a16, b32, b32, 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dinp is BF16 but inp is F32");
    }

    // ---- helpers ------------------------------------------------------------------------------

    private Tensor randn(long... shape) {
        return randn(random, shape);
    }

    private Tensor randnAgain(long rows, long cols, long seed) {
        Random r = new Random(seed);
        Tensor t = host.allocate(DType.F32, rows, cols);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) r.nextGaussian());
        return t;
    }

    /** An F32 host copy with every value rounded to bf16 (so F32 and BF16 tensors hold the same numbers). */
    private Tensor rounded(Tensor t) {
        Tensor r = host.allocate(DType.F32, t.shape());
        for (long i = 0; i < t.numel(); i++) r.setFloat(i, DType.fromBf16(DType.toBf16(t.getFloat(i))));
        return r;
    }

    /** An F32 host copy of a host tensor's values. */
    private Tensor widen(Tensor t) {
        Tensor r = host.allocate(DType.F32, t.shape());
        for (long i = 0; i < t.numel(); i++) r.setFloat(i, t.getFloat(i));
        return r;
    }

    /** A BF16 device tensor of host F32 values (rounded). */
    private Tensor upBf16(Tensor t) {
        Tensor h = host.allocate(DType.BF16, t.shape());
        for (long i = 0; i < t.numel(); i++) h.setFloat(i, t.getFloat(i));
        return up(h);
    }

    /** Every BF16 value within {@link #ULPS} bf16 ulp of the F32 value rounded to bf16. */
    private static void assertRounded(String what, Tensor f32, Tensor bf16) {
        assertThat(bf16.dtype()).isEqualTo(DType.BF16);
        int worst = 0;
        for (long i = 0; i < f32.numel(); i++) {
            short want = DType.toBf16(f32.getFloat(i)), got = DType.toBf16(bf16.getFloat(i));
            assertThat(Float.isFinite(bf16.getFloat(i))).as(what + " finite at " + i).isTrue();
            // bf16 bit patterns of one sign are ordered like their values: the distance in ulps is the difference
            int ulps = Math.signum(DType.fromBf16(want)) * Math.signum(DType.fromBf16(got)) < 0
                    ? Math.abs(want & 0x7fff) + Math.abs(got & 0x7fff) : Math.abs((want & 0x7fff) - (got & 0x7fff));
            worst = Math.max(worst, ulps);
        }
        assertThat(worst).as(what + ": bf16 ulps from the fp32 result rounded").isLessThanOrEqualTo(ULPS);
    }

    private static void assertSame(String what, Tensor expected, Tensor actual) {
        assertThat(relative(expected, actual)).as(what).isLessThanOrEqualTo(SAME);
    }

    /** A device tensor of n elements of {@code type}, every one NaN: an output that must be written, not added to. */
    private Tensor nansOn(DType type, long n) {
        Tensor h = host.allocate(DType.F32, n);
        for (long i = 0; i < n; i++) h.setFloat(i, Float.NaN);
        return type == DType.BF16 ? upBf16(h) : up(h);
    }

    /** Every element the same float (NaN never equals: a NaN left in {@code actual} fails). */
    private static void assertBitsEqual(String what, Tensor expected, Tensor actual) {
        for (long i = 0; i < expected.numel(); i++) {
            assertThat(actual.getFloat(i)).as(what + " [" + i + "]").isEqualTo(expected.getFloat(i));
        }
    }
}
