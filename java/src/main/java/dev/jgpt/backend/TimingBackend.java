package dev.jgpt.backend;

import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link Backend} that forwards every call to another one and adds up the wall time per operation
 * (after {@link Backend#synchronize()}, so device backends are timed honestly). For
 * {@code jgpt bench train-step --profile}: where a training step spends its time.
 */
public final class TimingBackend implements Backend {
    private final Backend inner;
    private final Map<String, long[]> totals = new LinkedHashMap<>(); // name -> {nanos, calls}

    public TimingBackend(Backend inner) {
        this.inner = inner;
    }

    /** Per operation: {@code {total nanoseconds, calls}}, in first-call order. */
    public Map<String, long[]> totals() {
        return totals;
    }

    public void reset() {
        totals.clear();
    }

    private long start() {
        inner.synchronize();
        return System.nanoTime();
    }

    private void stop(String op, long t0) {
        inner.synchronize();
        long[] acc = totals.computeIfAbsent(op, k -> new long[2]);
        acc[0] += System.nanoTime() - t0;
        acc[1]++;
    }

    @Override public String name() { return inner.name(); }
    @Override public TensorArena newArena() { return inner.newArena(); }
    @Override public void setThreads(int threads) { inner.setThreads(threads); }
    @Override public void parametersAre(Tensor params) { inner.parametersAre(params); }
    @Override public dev.jgpt.memory.DType activationDType() { return inner.activationDType(); }
    @Override public dev.jgpt.memory.DType decodeWeightDType() { return inner.decodeWeightDType(); }
    @Override public long classifierRows(long N, int V) { return inner.classifierRows(N, V); }
    @Override public int classifierRowStride(int V) { return inner.classifierRowStride(V); }
    @Override public int threads() { return inner.threads(); }
    @Override public void synchronize() { inner.synchronize(); }
    @Override public void close() { inner.close(); }

    @Override public void copy(Tensor dst, Tensor src) {
        long t = start(); inner.copy(dst, src); stop("copy", t);
    }
    @Override public void zero(Tensor t0) {
        long t = start(); inner.zero(t0); stop("zero", t);
    }
    @Override public void encoderForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C) {
        long t = start(); inner.encoderForward(out, tokens, wte, wpe, B, T, C); stop("encoderForward", t);
    }
    @Override public void encoderForwardCheckedIds(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C) {
        long t = start(); inner.encoderForwardCheckedIds(out, tokens, wte, wpe, B, T, C); stop("encoderForwardCheckedIds", t);
    }
    @Override public void encoderBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens, int B, int T, int C) {
        long t = start(); inner.encoderBackward(dwte, dwpe, dout, tokens, B, T, C); stop("encoderBackward", t);
    }
    @Override public void layernormForward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight, Tensor bias, int N, int C) {
        long t = start(); inner.layernormForward(out, mean, rstd, inp, weight, bias, N, C); stop("layernormForward", t);
    }
    @Override public void residualLayernormForward(Tensor residual, Tensor out, Tensor mean, Tensor rstd, Tensor a, Tensor b,
                                                   Tensor weight, Tensor bias, int N, int C) {
        long t = start(); inner.residualLayernormForward(residual, out, mean, rstd, a, b, weight, bias, N, C); stop("residualLayernormForward", t);
    }
    @Override public void layernormBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                                            Tensor mean, Tensor rstd, int N, int C) {
        long t = start(); inner.layernormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C); stop("layernormBackward", t);
    }
    @Override public void matmulForward(Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC) {
        long t = start(); inner.matmulForward(out, inp, weight, bias, N, C, OC); stop("matmulForward", t);
    }
    @Override public void embeddingLookup(Tensor out, Tensor tokens, Tensor table, Tensor scales, int group, int N, int C) {
        long t = start(); inner.embeddingLookup(out, tokens, table, scales, group, N, C); stop("embeddingLookup", t);
    }
    @Override public void matmulQ8Forward(Tensor out, Tensor inp, Tensor weight, Tensor scales, int group, int N, int C, int OC) {
        long t = start(); inner.matmulQ8Forward(out, inp, weight, scales, group, N, C, OC); stop("matmulQ8Forward", t);
    }
    @Override public void matmulBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                                         int N, int C, int OC) {
        long t = start(); inner.matmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC); stop("matmulBackward", t);
    }
    @Override public void matmulAddForward(Tensor out, Tensor inp, Tensor weight, int N, int C, int OC, float alpha) {
        long t = start(); inner.matmulAddForward(out, inp, weight, N, C, OC, alpha); stop("matmulAddForward", t);
    }
    @Override public void matmulAddBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, int N, int C, int OC,
                                            float alpha) {
        long t = start(); inner.matmulAddBackward(dinp, dweight, dout, inp, weight, N, C, OC, alpha); stop("matmulAddBackward", t);
    }
    @Override public void attentionForward(Tensor out, Tensor att, Tensor qkv, int B, int T, int C, int NH) {
        long t = start(); inner.attentionForward(out, att, qkv, B, T, C, NH); stop("attentionForward", t);
    }
    @Override public void attentionBackward(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out, int B, int T,
                                            int C, int NH) {
        long t = start(); inner.attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH); stop("attentionBackward", t);
    }
    @Override public void attentionBackwardOverwrite(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out, int B,
                                                     int T, int C, int NH) {
        long t = start(); inner.attentionBackwardOverwrite(dqkv, datt, dout, qkv, att, out, B, T, C, NH);
        stop("attentionBackwardOverwrite", t);
    }
    @Override public long attentionStateFloats(int B, int T, int C, int NH) { return inner.attentionStateFloats(B, T, C, NH); }
    @Override public long attentionScratchFloats(int B, int T, int C, int NH) { return inner.attentionScratchFloats(B, T, C, NH); }
    @Override public dev.jgpt.memory.DType attentionStateDType(int B, int T, int C, int NH) { return inner.attentionStateDType(B, T, C, NH); }
    @Override public boolean attentionKeepsProbabilities(int B, int T, int C, int NH) { return inner.attentionKeepsProbabilities(B, T, C, NH); }
    @Override public long gqaAttentionStateFloats(int B, int T, int NH, int NKV, int hs) { return inner.gqaAttentionStateFloats(B, T, NH, NKV, hs); }
    @Override public long gqaAttentionScratchFloats(int B, int T, int NH, int NKV, int hs) { return inner.gqaAttentionScratchFloats(B, T, NH, NKV, hs); }
    @Override public boolean gqaAttentionKeepsProbabilities(int B, int T, int NH, int NKV, int hs) { return inner.gqaAttentionKeepsProbabilities(B, T, NH, NKV, hs); }
    @Override public void matmulGeluForward(Tensor pre, Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC) {
        long t = start(); inner.matmulGeluForward(pre, out, inp, weight, bias, N, C, OC); stop("matmulGeluForward", t);
    }
    @Override public void layernormBackwardCopy(Tensor dinp, Tensor dinpCopy, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                                Tensor weight, Tensor mean, Tensor rstd, int N, int C) {
        long t = start(); inner.layernormBackwardCopy(dinp, dinpCopy, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
        stop("layernormBackwardCopy", t);
    }
    @Override public void rmsnormBackwardCopy(Tensor dinp, Tensor dinpCopy, Tensor dweight, Tensor dout, Tensor inp, Tensor weight,
                                              Tensor rstd, int N, int C) {
        long t = start(); inner.rmsnormBackwardCopy(dinp, dinpCopy, dweight, dout, inp, weight, rstd, N, C);
        stop("rmsnormBackwardCopy", t);
    }
    @Override public void matmulBackwardOverwrite(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                                                  int N, int C, int OC) {
        long t = start(); inner.matmulBackwardOverwrite(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
        stop("matmulBackwardOverwrite", t);
    }
    @Override public void matmulBackwardGelu(Tensor dpre, Tensor dgelu, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                             Tensor weight, Tensor pre, int N, int C, int OC) {
        long t = start(); inner.matmulBackwardGelu(dpre, dgelu, dweight, dbias, dout, inp, weight, pre, N, C, OC);
        stop("matmulBackwardGelu", t);
    }
    @Override public void geluForward(Tensor out, Tensor inp, int N) {
        long t = start(); inner.geluForward(out, inp, N); stop("geluForward", t);
    }
    @Override public void geluBackward(Tensor dinp, Tensor inp, Tensor dout, int N) {
        long t = start(); inner.geluBackward(dinp, inp, dout, N); stop("geluBackward", t);
    }
    @Override public void residualForward(Tensor out, Tensor a, Tensor b, int N) {
        long t = start(); inner.residualForward(out, a, b, N); stop("residualForward", t);
    }
    @Override public void residualBackward(Tensor da, Tensor db, Tensor dout, int N) {
        long t = start(); inner.residualBackward(da, db, dout, N); stop("residualBackward", t);
    }
    @Override public double classifier(Tensor losses, Tensor dx, Tensor dwte, Tensor x, Tensor wte, Tensor targets, Tensor scratch,
                                       int N, int C, int V, float dlossScale, boolean backward) {
        long t = start();
        double r = inner.classifier(losses, dx, dwte, x, wte, targets, scratch, N, C, V, dlossScale, backward);
        stop(backward ? "classifier(fwd+bwd)" : "classifier(fwd)", t);
        return r;
    }
    @Override public double sumSquares(Tensor t0) {
        long t = start(); double r = inner.sumSquares(t0); stop("sumSquares", t); return r;
    }
    @Override public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                                float weightDecay, int step, float gradScale) {
        long t = start(); inner.adamw(params, grads, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale); stop("adamw", t);
    }
    @Override public void attentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int C, int NH) {
        long t = start(); inner.attentionDecode(out, att, q, kCache, vCache, pos, C, NH); stop("attentionDecode", t);
    }
    @Override public void gqaAttentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int rows, int NH, int NKV, int hs) {
        long t = start(); inner.gqaAttentionDecode(out, att, q, kCache, vCache, pos, rows, NH, NKV, hs); stop("gqaAttentionDecode", t);
    }
    @Override public void encoderForwardRows(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int[] pos, int n, int C) {
        long t = start(); inner.encoderForwardRows(out, tokens, wte, wpe, pos, n, C); stop("encoderForwardRows", t);
    }
    @Override public void ropeForwardRows(Tensor x, Tensor cos, Tensor sin, int[] pos, int n, int heads, int hs) {
        long t = start(); inner.ropeForwardRows(x, cos, sin, pos, n, heads, hs); stop("ropeForwardRows", t);
    }
    @Override public void gqaAttentionDecodeRows(Tensor out, Tensor att, Tensor q, Tensor kNew, Tensor vNew, Tensor[] kCaches,
                                                 Tensor[] vCaches, int[] pos, int n, int NH, int NKV, int hs) {
        long t = start(); inner.gqaAttentionDecodeRows(out, att, q, kNew, vNew, kCaches, vCaches, pos, n, NH, NKV, hs);
        stop("gqaAttentionDecodeRows", t);
    }

    // Llama-style layers
    @Override public void rmsnormForward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, int N, int C, float eps) {
        long t = start(); inner.rmsnormForward(out, rstd, inp, weight, N, C, eps); stop("rmsnormForward", t);
    }
    @Override public void rmsnormBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, Tensor rstd, int N, int C) {
        long t = start(); inner.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C); stop("rmsnormBackward", t);
    }
    @Override public void ropeForward(Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        long t = start(); inner.ropeForward(x, cos, sin, B, T, NH, hs); stop("ropeForward", t);
    }
    @Override public void ropeBackward(Tensor dx, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        long t = start(); inner.ropeBackward(dx, cos, sin, B, T, NH, hs); stop("ropeBackward", t);
    }
    @Override public void swigluForward(Tensor out, Tensor gate, Tensor up, int N) {
        long t = start(); inner.swigluForward(out, gate, up, N); stop("swigluForward", t);
    }
    @Override public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N) {
        long t = start(); inner.swigluBackward(dgate, dup, dout, gate, up, N); stop("swigluBackward", t);
    }
    @Override public void swigluBackwardOverwrite(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N) {
        long t = start(); inner.swigluBackwardOverwrite(dgate, dup, dout, gate, up, N); stop("swigluBackwardOverwrite", t);
    }
    @Override public void gqaAttentionForward(Tensor out, Tensor att, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV, int hs) {
        long t = start(); inner.gqaAttentionForward(out, att, q, k, v, B, T, NH, NKV, hs); stop("gqaAttentionForward", t);
    }
    @Override public void gqaAttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k, Tensor v,
                                               Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs) {
        long t = start(); inner.gqaAttentionBackward(dq, dk, dv, datt, dout, q, k, v, att, out, B, T, NH, NKV, hs);
        stop("gqaAttentionBackward", t);
    }
    @Override public void gqaAttentionBackwardOverwrite(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k,
                                                        Tensor v, Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs) {
        long t = start(); inner.gqaAttentionBackwardOverwrite(dq, dk, dv, datt, dout, q, k, v, att, out, B, T, NH, NKV, hs);
        stop("gqaAttentionBackwardOverwrite", t);
    }
}
