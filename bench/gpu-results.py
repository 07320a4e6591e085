#!/usr/bin/env python3
"""Turns the logs and JSON files bench/gpu-check.sh leaves in OUT into one Markdown section for
docs/PERFORMANCE.md: the GPU and driver, the exact commands, what the tests said, the loss curves and
the figures (train-step ms/tokens/MFU per precision, the per-kernel GPU profile of a GPT-2 step, decode
tokens/s, sgemm GFLOP/s).
Usage: python3 bench/gpu-results.py OUT > OUT/results.md   (standard library only)"""
import datetime
import glob
import json
import os
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gpu-check-out"
J = "jgpt"


def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def fmt(x, digits=1):
    return "n/a" if x is None else (f"{x:,.{digits}f}" if isinstance(x, (int, float)) else str(x))


gpu = "unknown GPU"
try:
    with open(os.path.join(out, "gpu.csv")) as f:
        rows = [r.strip() for r in f if r.strip()]
    if len(rows) > 1:
        gpu = rows[1]
except OSError:
    pass

print(f"## CUDA: {gpu.split(',')[0]} ({datetime.date.today().isoformat()}, bench/gpu-check.sh)")
print()
print(f"GPU (nvidia-smi name, driver, memory, max SM clock, compute capability): `{gpu}`. "
      "Every figure below comes from one run of `OUT=... bench/gpu-check.sh` on that machine; "
      "`jgpt` stands for `java --enable-native-access=ALL-UNNAMED -Xmx8g -cp '.gpu/junit-console.jar:.gpu/app/*' "
      "dev.jgpt.cli.Main` with the bundle's Java 25 runtime. Timings are medians after warm-up, "
      "host wall clock around synchronised steps.")
print()

print("### Tests on the GPU")
print()
for name in ("ci", "contract", "model"):
    path = os.path.join(out, f"tests-{name}.txt")
    if not os.path.exists(path):
        continue
    text = open(path, errors="replace").read()
    found = {k: re.search(rf"\[\s*(\d+) tests {k}\s*\]", text) for k in ("successful", "failed", "skipped")}
    counts = ", ".join(f"{m.group(1)} {k}" for k, m in found.items() if m)
    print(f"- `{name}`: {counts or 'no summary (see tests-' + name + '.txt)'}")
print()

curves = os.path.join(out, "loss-curves.txt")
if os.path.exists(curves):
    series = {}
    for line in open(curves):
        m = re.match(r"(?:(fp32|bf16 fused attention|bf16|fused attention) )?step +(\d+) cpu ([\d.]+) cuda ([\d.]+)", line.strip())
        if m:
            series.setdefault(m.group(1) or "fp32", []).append((int(m.group(2)), float(m.group(3)), float(m.group(4))))
    if series:
        print(f"### {max(len(p) for p in series.values())}-step `small` loss curves, cpu vs cuda (CudaGpt2Test)")
        print()
        print("| cuda mode | step | cpu loss | cuda loss | relative diff |")
        print("|---|---|---|---|---|")
        for mode, pts in series.items():
            for s, c, g in pts:
                if s in (0, 10, 20, 30, 40, len(pts) - 1):
                    print(f"| {mode} | {s} | {c:.4f} | {g:.4f} | {abs(g - c) / abs(c):.2e} |")
        print()

print("### Training step (`bench train-step`)")
print()
print("| preset | B x T | backend | precision | attention | Lt | stored | probs | logit chunks | ms/step | tokens/s | TFLOP/s | MFU | peak TFLOP/s | activations GiB | GPU memory GiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for path in sorted(glob.glob(os.path.join(out, "bench-train-*.json"))):
    d = load(os.path.basename(path))
    if not d:
        print(f"| {os.path.basename(path)}: no result | | | | | | | | | | | | | | | |")
        continue
    mfu = d.get("mfu")
    peak = d.get("peakGflops")
    act = (d.get("offHeap") or {}).get("activations")
    preset = f"llama {d['preset']} (kv {d.get('kvHeads')})" if d.get("arch") == "llama" else d['preset']
    lt = d.get('lt', '-')  # and the two switches beside the epilogues, where a run turned one off
    lt += ", no DGELU" if lt == "on" and d.get("ltDgelu") == "off" else ""
    lt += ", one classifier product" if d.get("classifierSplit") == "off" else ""
    print(f"| {preset} | {d['batch']} x {d['seq']} | {d['backend']} | {d.get('precision', 'fp32')} | "
          f"{d.get('attention', '-')} | {lt} | {d.get('activationDType', '-')} | {d.get('attentionDType', '-')} | "
          f"{d.get('classifierChunks', '-')} | {fmt(d['msPerStepMedian'], 1)} | {fmt(d['tokensPerSecond'], 0)} | "
          f"{fmt(d['achievedGflops'] / 1000, 2)} | {fmt(None if mfu is None else 100 * mfu, 1)}{'%' if mfu is not None else ''} | "
          f"{fmt(None if peak is None else peak / 1000, 1)} | {fmt(None if act is None else act / 2**30, 2)} | "
          f"{fmt(None if d.get('deviceMemoryUsedBytes') is None else d['deviceMemoryUsedBytes'] / 2**30, 2)} |")
print()
print("MFU = 6 x (matmul parameters) + 12 x L x C x T FLOPs per token, over the datasheet dense peak of the precision "
      "(jgpt's GpuPeak table; the cpu rows use the detected CPU peak). Activations: the model's activation "
      "arena (device memory on cuda), which fused attention shrinks (no (B, NH, T, T) matrices). Lt: cuBLASLt epilogues "
      "(bias, GELU and bias gradients inside the products; `JGPT_CUDA_LT=0` is the off row). Stored: the type the model "
      "keeps its product-input activations in (BF16 in bf16 mode; `JGPT_CUDA_BF16_ACTIVATIONS=0` is the F32 row). Probs: "
      "the type of the attention probabilities and their gradient (BF16 on the cuBLAS path in bf16 mode; F32 where fused "
      "attention keeps log-sum-exps). Logit chunks: classifier chunks per step (the logits are in the stored type). GPU memory: in use on the whole "
      "device after the steps (cuMemGetInfo: the context, cuBLAS workspaces and the arenas' reservations too).")
print()

def profile_table(name, heading, unit, plain_name):
    """The per-kernel table of a --profile run (train-step: per step; decode-gpt2: per token)."""
    profile = load(name)
    if not (profile and profile.get("profileGpu")):
        if os.path.exists(os.path.join(out, name)):
            print(f"### {heading}: no result (see {name} and gpu-check.log)")
            print()
        return
    g = profile["profileGpu"]
    share = g.get("busyShare")
    print(f"### {heading}")
    print()
    plain = load(plain_name) if plain_name else None
    cost = (f" (median {fmt(profile['msPerStepMedian'], 2)} ms/{unit} with the events, {fmt(plain['msPerStepMedian'], 2)} "
            f"ms/{unit} in the plain run of the same shape above)") if plain and plain.get("seq") == profile.get("seq") \
        and plain.get("batch") == profile.get("batch") and profile.get("msPerStepMedian") else ""
    print(f"GPU busy {fmt(g['gpuBusyMsPerStep'], 3)} ms of {fmt(g['wallMsPerStep'], 3)} ms wall per {unit} "
          f"({fmt(None if share is None else 100 * share, 1)}%), mean of {g['steps']} {unit}s; the rest is launch overhead, "
          f"host work and waits. Recording the events costs time of its own{cost}; speed figures come from the "
          "plain runs.")
    print()
    print(f"| kernel / product / copy | kind | ms/{unit} | share of GPU time | calls/{unit} | TFLOP/s |")
    print("|---|---|---|---|---|---|")
    rows = profile.get("profile", [])
    for r in rows[:30]:
        print(f"| {r['op']} | {r.get('kind', '-')} | {fmt(r['msPerStep'], 3)} | {fmt(100 * r['share'], 1)}% | "
              f"{r['callsPerStep']} | {fmt(r.get('tflops'), 2) if r.get('tflops') is not None else ''} |")
    if len(rows) > 30:
        rest = rows[30:]
        print(f"| {len(rest)} more | | {fmt(sum(r['msPerStep'] for r in rest), 3)} | "
              f"{fmt(100 * sum(r['share'] for r in rest), 1)}% | | |")
    print()


train_profile = load("profile-train-cuda-gpt2-bf16.json") or {}
profile_table("profile-train-cuda-gpt2-bf16.json",
              f"Where a `{train_profile.get('preset', 'gpt2')}` training step goes on the GPU (`bench train-step --profile`: "
              f"CUDA events, {train_profile.get('precision', 'fp32')}, B={train_profile.get('batch')}, T={train_profile.get('seq')})",
              "step", f"bench-train-cuda-gpt2-{train_profile.get('precision', 'fp32')}.json")
serve_overhead, serve_load = load("serve-overhead-cuda.json"), load("serve-load-cuda.json")
if serve_overhead or serve_load:
    print("### `jgpt serve` over HTTP on the GPU (random weights)")
    print()
    if serve_overhead:
        o = serve_overhead
        print(f"- One request at a time, preset {o.get('preset')}, {o.get('tokens')} tokens greedy: in process "
              f"{fmt(o.get('inprocess_total_ms'), 1)} ms (first token {fmt(o.get('inprocess_ttft_ms'), 1)}), through the server "
              f"{fmt(o.get('http_total_ms'), 1)} ms (first token {fmt(o.get('http_ttft_ms'), 1)}): the server adds "
              f"{fmt(o.get('added_total_ms'), 1)} ms (`LoadClient --overhead`).")
    if serve_load:
        o = serve_load
        print(f"- {o.get('clients')} streaming clients, {o.get('requests')} completions of {o.get('max_tokens')} tokens: "
              f"{fmt(o.get('tokens_per_s'), 1)} tokens/s, {fmt(o.get('requests_per_s'), 2)} requests/s, first token p50 "
              f"{fmt(o.get('ttft_p50_ms'), 1)} ms / p99 {fmt(o.get('ttft_p99_ms'), 1)} ms (`serve --instances 8`, `LoadClient`).")
    print()
profile_table("profile-decode-gpt2-cuda.json",
              "Where a GPT-2 decode token goes on the GPU (`bench decode-gpt2 --profile`: CUDA events, graphs off, one sequence)",
              "token", None)

attention_runs = sorted(glob.glob(os.path.join(out, "bench-attention-*.json")))
if attention_runs:
    print("### Attention alone (`bench attention`: forward + backward at GPT-2 124M's width, each path vs the unfused path "
          "(cuBLAS; with NKV < NH Llama's grouped-query rows) in the same run)")
    print()
    print("| precision | B | NH / NKV | T | path | forward ms | backward ms | GPU fwd / bwd ms (events) | causal TFLOP/s (events) | state MiB | vs baseline | max rel diff out / gradients |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in attention_runs:
        d = load(os.path.basename(path))
        if d is None:
            print(f"| {os.path.basename(path)}: no result | | | | | | | | | | | |")
            continue
        heads = f"{d['heads']} / {d.get('kvHeads', d['heads'])}"
        for r in d["rows"]:
            # events: the GPU's own time (bench attention since session 20); the wall clock carries launches and syncs
            gpu = f"{fmt(r['forwardGpuMs'], 3)} / {fmt(r['backwardGpuMs'], 3)}" if "forwardGpuMs" in r else "-"
            tflops = f"{fmt(r['causalTflopsGpu'], 1)}" if "causalTflopsGpu" in r else f"{fmt(r['causalTflops'], 1)} (wall)"
            print(f"| {d.get('precision', 'fp32')} | {d['batch']} | {heads} | {r['seq']} | {r['path']} | {fmt(r['forwardMs'], 3)} | "
                  f"{fmt(r['backwardMs'], 3)} | {gpu} | {tflops} | {fmt(r['stateBytes'] / 2**20, 1)} | "
                  f"{fmt(r['speedup'], 2)}x | {r['maxRelDiffOut']:.1e} / {r['maxRelDiffGradients']:.1e} |")
    print()
    print("Causal FLOPs as FlashAttention counts them: forward 4 x B x NH x hs x T(T+1)/2, backward 2.5 x that. The "
          "fused-tc row (mma.sync, FlashAttention-2 style; fused-wmma: the first WMMA kernels) is bf16's default attention "
          "(JGPT_CUDA_ATTENTION=auto) since the H100 run of session 20.")
    print()


def dtype_label(d):
    """Storage dtype, and the products' precision where it is not fp32 (cuda --precision bf16: bf16 products on f32 weights)."""
    dt, p = d.get("dtype"), d.get("precision")
    if dt is None:
        return p or "fp32"
    return f"{dt}, {p} products" if p and p != "fp32" else dt


print("### Decoding (`bench decode-gpt2` and `bench decode` (Llama): random weights, greedy, KV cache)")
print()
print("| model | backend | engine | sampling | dtype | batch | CUDA graph | prompt | tokens | first token ms | tokens/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for path in sorted(glob.glob(os.path.join(out, "bench-decode-*.json"))):
    d = load(os.path.basename(path))
    if not d:
        print(f"| {os.path.basename(path)}: no result | | | | | | | | | | | |")
        continue
    model = d.get("preset") or d.get("model") or "?"
    print(f"| {model} | {d.get('backend', '?')} | {d.get('engine', '-')} | {d.get('sampling', '-')} | "
          f"{dtype_label(d)} | {d.get('batch', 1)} | {d.get('graphs', '-')} | {d.get('promptTokens', '-')} | {d.get('tokens', '-')} | "
          f"{fmt(d.get('timeToFirstTokenMs'), 1)} | {fmt(d.get('tokensPerSecond'), 1)} |")
print()

graph_rows = []
for path in sorted(glob.glob(os.path.join(out, "bench-decode-gpt2-cuda-graphs-on-*.json"))):
    preset = os.path.basename(path)[len("bench-decode-gpt2-cuda-graphs-on-"):-len(".json")]
    on, off = load(os.path.basename(path)), load(f"bench-decode-gpt2-cuda-graphs-off-{preset}.json")
    if on and off and off.get("tokensPerSecond"):
        graph_rows.append(f"| {preset} | {fmt(on.get('tokensPerSecond'), 1)} ({on.get('graphs', '?')}) | "
                          f"{fmt(off.get('tokensPerSecond'), 1)} | {on['tokensPerSecond'] / off['tokensPerSecond']:.2f} |")
    else:
        graph_rows.append(f"| {preset} | no result (see the JSON files) | | |")
if graph_rows:
    print("### CUDA graphs for decode (`bench decode-gpt2 --graphs on|off`, same run; `-batch8`: the server's batched step, 8 sequences)")
    print()
    print("| preset | tokens/s, graphs on (replayed?) | tokens/s, graphs off | on / off |")
    print("|---|---|---|---|")
    for row in graph_rows:
        print(row)
    print()



def ms(name):
    d = load(name)
    return None if not d else d.get("msPerStepMedian")


def decision(label, base_name, base, other_name, other, switch):
    """One line: which of two runs of the same step was faster, and what to change if the other one won."""
    a, b = ms(base), ms(other)
    if a is None or b is None:
        return f"- {label}: no comparison ({base if a is None else other} has no result)"
    d = load(base)
    label = f"{label} ({d.get('preset')}, B {d.get('batch')}, T {d.get('seq')}, {d.get('precision', 'fp32')})"
    faster = b < a / 1.03  # within 3% is run-to-run noise on these medians of 3-5 steps: keep the default
    verdict = f"**{other_name}** is {a / b:.2f}x faster: {switch}" if faster else \
        (f"**{base_name}** is {b / a:.2f}x faster: keep the default" if a <= b else
         f"{other_name} is {a / b:.2f}x faster, within 3% (noise): keep the default")
    return f"- {label}: {base_name} {fmt(a, 2)} ms/step, {other_name} {fmt(b, 2)} ms/step; {verdict}"


# What these figures decide, so a session with a GPU can act on them at once (the defaults were chosen without one).
print("### What these figures decide")
print()
# (what, the default's name and run, the other's name and run, what to change if the other is faster)
DECISIONS = [
    ("bf16 attention", "fused-tc", "bench-train-cuda-gpt2-bf16.json", "cublas", "bench-train-cuda-gpt2-bf16-cublas.json",
     "make the cuBLAS path bf16's default again (CudaBackend.open: setFusedAttention(false) for JGPT_CUDA_ATTENTION=auto) "
     "and profile the attention_flash_mma kernels"),
    ("cuBLASLt epilogues", "Lt on", "bench-train-cuda-gpt2-bf16.json", "Lt off", "bench-train-cuda-gpt2-bf16-nolt.json",
     "turn the epilogues off by default (CudaBackend's useLt; llm.c found cuBLASLt's bf16 GELU slower, PR #338)"),
    ("Llama attention", "rows", "bench-train-cuda-llama-cublas.json", "fused", "bench-train-cuda-llama-fused.json",
     "make fused attention the default for Llama training too (JGPT_CUDA_ATTENTION's default), "
     "if CudaGqaFusedAttentionTest passed"),
    ("classifier products", "split (V rounded down to 64, then the tail)", "bench-train-cuda-gpt2-bf16.json", "one product over V",
     "bench-train-cuda-gpt2-bf16-nosplit.json",
     "make JGPT_CUDA_CLASSIFIER_SPLIT default to off (CudaBackend's classifierSplit): the odd extent was not the cause"),
    ("DGELU epilogue", "DGELU on", "bench-train-cuda-gpt2-bf16.json", "DGELU off", "bench-train-cuda-gpt2-bf16-nodgelu.json",
     "make JGPT_CUDA_LT_DGELU default to off (CudaBackend's ltDgelu): the plain product and gelu backward kernel win"),
    ("bf16 activation storage", "bf16 stored", "bench-train-cuda-gpt2-bf16.json", "fp32 stored",
     "bench-train-cuda-gpt2-bf16-f32act.json",
     "look at the bf16 kernels in the profile: storage in bf16 moves half the bytes and should not lose"),
]
for row in DECISIONS:
    print(decision(*row))
rows_on, rows_off = load("bench-decode-gpt2-cuda.json"), load("bench-decode-gpt2-cuda-norows.json")
if rows_on and rows_off and rows_on.get("tokensPerSecond") and rows_off.get("tokensPerSecond"):
    r = rows_on["tokensPerSecond"] / rows_off["tokensPerSecond"]
    print(f"- decode products on the row kernels ({rows_on.get('preset')}, cuda, fp32): {fmt(rows_on['tokensPerSecond'], 1)} "
          f"tokens/s against cuBLASLt's {fmt(rows_off['tokensPerSecond'], 1)}: {r:.2f}x — "
          + ("keep JGPT_CUDA_ROW_PRODUCTS on" if r >= 0.97 else
             "**switch JGPT_CUDA_ROW_PRODUCTS off by default** (CudaBackend's rowProducts) and profile jg_matmul_rows"))
else:
    print("- decode products on the row kernels: no pair of GPT-2 decode runs (JGPT_CUDA_ROW_PRODUCTS on and off) in this run")
q8, b16 = load("bench-decode-llama-cuda-stories110M-q8.json"), load("bench-decode-llama-cuda-stories110M-bf16.json")
if q8 and b16 and q8.get("tokensPerSecond") and b16.get("tokensPerSecond"):
    r = q8["tokensPerSecond"] / b16["tokensPerSecond"]
    print(f"- Llama q8 decode (stories110M, cuda): {fmt(q8['tokensPerSecond'], 1)} tokens/s against bf16's "
          f"{fmt(b16['tokensPerSecond'], 1)}: {r:.2f}x (bytes per weight 1.125 vs 2: at most 1.78x where bandwidth-bound)"
          + ("" if r > 1.05 else " — q8 is not faster: profile matmul_q8_row (kernels/quant.cu, the one-row decode kernel) before recommending it"))
else:
    print("- Llama q8 decode: no stories110M q8/bf16 pair on cuda in this run")
best = None
for name in ("bench-train-cuda-gpt2-bf16.json", "bench-train-cuda-gpt2-bf16-cublas.json", "bench-train-cuda-gpt2-bf16-b16.json",
             "bench-train-cuda-gpt2-bf16-b64.json", "bench-train-cuda-gpt2-bf16-cublas-b64.json"):
    d = load(name)
    if d and d.get("mfu") is not None and (best is None or d["mfu"] > best[1]["mfu"]):
        best = (name, d)
if best:
    d = best[1]
    print(f"- MFU: best bf16 GPT-2 124M run {100 * d['mfu']:.1f}% ({best[0]}: B {d['batch']}, attention {d.get('attention')}, "
          f"{fmt(d['tokensPerSecond'], 0)} tokens/s); the issue's first target is 30%, llm.c reaches 50-60%"
          + (" — **reached**" if d["mfu"] >= 0.30 else " — not reached: the profile above says where the time goes"))
else:
    print("- MFU: no bf16 GPT-2 124M run reported one (no GpuPeak entry for this GPU, or no result)")
print()

print("### sgemm (`bench gemm`)")
print()
for path in sorted(glob.glob(os.path.join(out, "bench-gemm-*.json"))):
    d = load(os.path.basename(path))
    if d:
        print(f"- {d['backend']}, {d['size']}^3: {fmt(d['gflopsMedian'], 0)} GFLOP/s median ({fmt(d['msMedian'], 3)} ms)")
print()

print("### Commands")
print()
print("```")
print(f"{J} bench train-step --backend cuda --preset gpt2 --precision fp32|tf32|bf16 --batch 8 --seq 1024 --steps 5 --json")
print(f"JGPT_CUDA_LT=0 {J} bench train-step --backend cuda --preset gpt2 --precision bf16 --batch 8 --seq 1024 --steps 5 --json")
print(f"JGPT_CUDA_BF16_ACTIVATIONS=0 {J} bench train-step --backend cuda --preset gpt2 --precision bf16 --batch 8 --seq 1024 --steps 5 --json")
print(f"JGPT_CUDA_ATTENTION=cublas {J} bench train-step --backend cuda --preset gpt2 --precision bf16 --batch 8 --seq 1024 --steps 5 --json")
print(f"JGPT_CUDA_ATTENTION=fused-cudacore {J} bench train-step --backend cuda --preset gpt2 --precision bf16 --batch 8 --seq 1024 --steps 3 --json")
print(f"{J} bench train-step --backend cuda --preset gpt2 --precision bf16 --batch 16|64 --seq 1024 --steps 3 --json")
print(f"JGPT_CUDA_ATTENTION=cublas {J} bench train-step --backend cuda --preset gpt2 --precision bf16 --batch 64 --seq 1024 --steps 3 --json")
print(f"{J} bench train-step --backend cuda|cpu --preset small [--precision tf32|bf16] --batch 8 --seq 256 --steps 5 --json")
print(f"{J} bench train-step --backend cuda --preset gpt2 --precision bf16 --batch 8 --seq 1024 --steps 3 --profile --json")
print(f"JGPT_CUDA_ATTENTION=cublas|fused {J} bench train-step --backend cuda --arch llama --kv-heads 2 --preset small --batch 8 --seq 256 --steps 5 --json")
print(f"{J} bench decode-gpt2 --backend cuda|cpu --preset gpt2 [--precision bf16] --prompt-tokens 64 --tokens 256|64 --runs 3 --json")
print(f"JGPT_CUDA_ROW_PRODUCTS=0 {J} bench decode-gpt2 --backend cuda --preset gpt2 --prompt-tokens 64 --tokens 256 --runs 3 --json")
print(f"{J} bench decode-gpt2 --backend cuda --preset gpt2 --batch 8 --sampling auto|host --prompt-tokens 64 --tokens 128 --runs 3 --json")
print(f"{J} bench decode-gpt2 --backend cuda --preset gpt2|small --graphs on|off --prompt-tokens 64 --tokens 256 --runs 3 --json")
print(f"{J} bench decode-gpt2 --backend cuda --preset gpt2 --batch 8 --graphs on|off --prompt-tokens 64 --tokens 128 --runs 3 --json")
print(f"{J} bench decode --backend cuda|cpu --random stories15M --prompt-tokens 64 --tokens 256 --runs 3 --json")
print(f"{J} bench decode --backend cuda --random stories110M --dtype f32|bf16|q8 --prompt-tokens 64 --tokens 256 --runs 3 --json")
print(f"{J} bench gemm --backend cuda|cpu --size 2048 --json")
print("```")
