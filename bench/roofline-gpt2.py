#!/usr/bin/env python3
"""A computed lower bound for one GPT-2 training step on a GPU, from jgpt's op sequence in bf16 mode (not a measurement).

Each op class is timed at the GPU's datasheet peak: products by their FLOPs at the dense bf16 peak, everything else
(and the cuBLAS attention path's products, whose inner dimension is the head size) by the bytes it moves at the memory
bandwidth. The byte counts follow the code as of 2026-11-26, session 10 (docs/gpu.md, "Precision"): bf16 product inputs,
logits, cuBLAS-path probabilities and every activation gradient (the residual stream's as a bf16 copy beside the
fp32 one); fp32 residual stream and its gradient, weight gradients and AdamW state. Usage:
  bench/roofline-gpt2.py [B] [T]        (default 8 1024; GPT-2 124M; H100 SXM: 989 TFLOP/s bf16 dense, 3.35 TB/s)
Compare its rows with the per-kernel profile of `bench train-step --profile` on a GPU (bench/gpu-check.sh).
"""
import sys

B = int(sys.argv[1]) if len(sys.argv) > 1 else 8
T = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
L, C, NH, V, P = 12, 768, 12, 50257, 124_439_808
PEAK_FLOPS, BANDWIDTH = 989e12, 3.35e12
N = B * T
BTC = N * C
hs = C // NH
M = B * NH * T * T  # one layer's (B, NH, T, T) matrix

# products other than attention's (fwd + bwd = 3 x fwd): the 12 C^2 per layer and the classifier's V C, per token
gemm_flops = 6 * (L * 12 * C * C + V * C) * N
# attention products on the cuBLAS path: QK^T and att.V forward, datt, dV, dQ, dK backward, full T x T
attn_flops_cublas = L * 6 * 2 * B * NH * T * T * hs
# fused (flash) path: causal half, and the backward recomputes the scores: 7 products' worth, halved
attn_flops_fused = L * 7 * 2 * B * NH * T * T * hs / 2
# cuBLAS path's bytes per layer with bf16 probabilities (docs/PERFORMANCE.md, "bf16 attention probabilities"): 22 M
attn_bytes_cublas = L * 22 * M
# classifier: logits written, the softmax kernel's two reads and one write, both backward products' reads, wte read
# by three products, dwte read and written once (one bf16 chunk), in bytes
classifier_bytes = N * V * 2 * (1 + 3 + 2) + 3 * V * C * 2 + 2 * V * C * 4
# per layer: two residual+layernorm forwards (the fp32 residual and the product's bf16 output read, the fp32 residual
# and the bf16 output written), two layernorm
# backwards (bf16 dout, fp32 input read, fp32 dinp read and written, its bf16 copy for the next products written), no
# f32_to_bf16 (every activation gradient is made in bf16 where it is made) and no memset (the product input gradients
# and, since session 10, dqkv are written, not zeroed and added to)
per_layer_bytes = 2 * BTC * (4 + 2 + 4 + 2) + 2 * BTC * (2 + 4 + 8 + 2)
# AdamW (p, g, m, v read; p, m, v written; the bf16 copy written) and the gradient norm (g read)
optimizer_bytes = P * (16 + 12 + 2) + P * 4

rows = [
    ("products (matmuls + classifier), at peak", gemm_flops / PEAK_FLOPS),
    ("attention, cuBLAS path (memory-bound: k = head size)", max(attn_bytes_cublas / BANDWIDTH, attn_flops_cublas / PEAK_FLOPS)),
    ("attention, fused tensor-core path, at half the peak", attn_flops_fused / (PEAK_FLOPS / 2)),
    ("classifier softmax and logits traffic", classifier_bytes / BANDWIDTH),
    ("layernorms and their bf16 copy of dres (per layer x L)", L * per_layer_bytes / BANDWIDTH),
    ("AdamW and gradient norm", optimizer_bytes / BANDWIDTH),
]
palm_flops = (6 * (L * 12 * C * C + V * C) + 12 * L * C * T) * N  # the MFU numerator bench train-step uses
print(f"GPT-2 124M, B {B}, T {T}: {N:,} tokens per step; bf16 peak {PEAK_FLOPS / 1e12:.0f} TFLOP/s, {BANDWIDTH / 1e12:.2f} TB/s")
print("| op class | lower bound, ms |")
print("| --- | --- |")
for name, s in rows:
    print(f"| {name} | {1e3 * s:.2f} |")
others = rows[3][1] + rows[4][1] + rows[5][1]
for label, attn in (("cuBLAS attention", rows[1][1]), ("fused attention", rows[2][1])):
    step = rows[0][1] + attn + others
    print(f"| **step, {label}** | **{1e3 * step:.1f}** (MFU at most {100 * palm_flops / step / PEAK_FLOPS:.0f}%, "
          f"{N / step:,.0f} tokens/s) |")
