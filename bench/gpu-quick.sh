#!/usr/bin/env bash
# bench/gpu-quick.sh - a subset of bench/gpu-check.sh for a GPU session's second or third call, after a fix (90 s on
# an H200 in session 18; about 3 minutes since session 19 added tests, so CHECK_SECONDS defaults to 300): the contract
# and model tests (jgpt.cuda.require on; the fused attention's, the error paths' and Llama training's too), the GPT-2
# 124M bf16 training rows (fused attention, the default, at B 8 and 64; the cuBLAS path at B 8) with the default's
# per-kernel profile, attention alone on
# every path, GPT-2 bf16 decode with its profile, and (PROBE=1) bench/cublaslt-probe.py.
# Needs the bundle in .gpu/ (bench/gpu-bundle.sh). Run from the project root: OUT=/some/dir bench/gpu-quick.sh
# Writes the same file names as gpu-check.sh, so bench/gpu-results.py makes results.md from what ran.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-/tmp/gpu-quick-out}; mkdir -p "$OUT"; exec > >(tee "$OUT/gpu-check.log") 2>&1
BUDGET=${CHECK_SECONDS:-300}; SECONDS=0
limit(){ local left=$((BUDGET - SECONDS - 15)); [ "$left" -lt "$1" ] || left=$1; [ "$left" -ge 1 ] || left=1; echo "$left"; }
step(){ echo; echo "== $(date -u +%H:%M:%S) ($SECONDS s) $*"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv | tee "$OUT/gpu.csv"
[ "${PROBE:-0}" = 1 ] && { step "cuBLASLt probe"; python3 bench/cublaslt-probe.py | tee "$OUT/ltprobe.txt"; }
step "runtime"
source bench/gpu-runtime.sh
gpu_runtime 50 || { echo "no Java runtime"; exit 1; }
fail=0
t(){ local name=$1 lim=$2; shift 2
  timeout -k 5 "$(limit "$lim")" "${J[@]}" -Djgpt.cuda.require=true -Djgpt.cuda.attention=cublas -cp "$CP" org.junit.platform.console.ConsoleLauncher execute \
    --disable-banner --details=tree --disable-ansi-colors --reports-dir "$OUT/junit-$name" "$@" > "$OUT/tests-$name.txt" 2>&1
  local rc=$?; echo "$name rc $rc"; [ $rc = 0 ] || fail=1
  grep -E "✘|tests (successful|failed)|gradient check" "$OUT/tests-$name.txt" | cut -c1-300; }
step "tests"
t contract 60 --select-class dev.jgpt.backend.cuda.CudaBackendContractTest --select-class dev.jgpt.backend.cuda.CudaBf16ContractTest --select-class dev.jgpt.backend.cuda.CudaRowProductsTest \
  --select-class dev.jgpt.backend.cuda.CudaLtTest --select-class dev.jgpt.backend.cuda.CudaClassifierSplitTest --select-class dev.jgpt.backend.cuda.CudaBf16ActivationsTest \
  --select-class dev.jgpt.backend.cuda.CudaFlashAttentionTest --select-class dev.jgpt.backend.cuda.CudaBf16FusedAttentionTest \
  --select-class dev.jgpt.backend.cuda.CudaGqaFusedAttentionTest --select-class dev.jgpt.backend.cuda.CudaErrorPathsTest
t model 90 --select-class dev.jgpt.model.CudaGpt2Test --select-class dev.jgpt.model.KernelTimelineGpt2Test \
  --select-class dev.jgpt.backend.cuda.CudaDeterminismTest --select-class dev.jgpt.backend.cuda.CudaDecodeGraphTest \
  --select-class dev.jgpt.backend.cuda.CudaBatchDecodeGraphTest --select-class dev.jgpt.llama.CudaLlamaTrainTest
grep -E "^(fp32 |bf16 |bf16 fused attention |fused attention )?step +[0-9]+ cpu" "$OUT/tests-model.txt" > "$OUT/loss-curves.txt"
b(){ local f=$1 lim=$2; shift 2; step "$f"
  timeout "$(limit "$lim")" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main "$@" --json > "$OUT/$f.json" || fail=1; tail -c 700 "$OUT/$f.json"; echo; }
G=(bench train-step --backend cuda --preset gpt2 --seq 1024 --precision bf16)
b bench-train-cuda-gpt2-bf16 60 "${G[@]}" --batch 8 --steps 5
b profile-train-cuda-gpt2-bf16 60 "${G[@]}" --batch 8 --steps 3 --profile
JGPT_CUDA_CLASSIFIER_SPLIT=0 b bench-train-cuda-gpt2-bf16-nosplit 60 "${G[@]}" --batch 8 --steps 5
JGPT_CUDA_LT_DGELU=0 b bench-train-cuda-gpt2-bf16-nodgelu 60 "${G[@]}" --batch 8 --steps 5
JGPT_CUDA_ATTENTION=cublas b bench-train-cuda-gpt2-bf16-cublas 60 "${G[@]}" --batch 8 --steps 5
b bench-train-cuda-gpt2-bf16-b64 60 "${G[@]}" --batch 64 --steps 3
# attention alone at GPT-2 124M's shape: cublas, fused-tc (mma.sync), fused-wmma, fused-cudacore
b bench-attention-cuda-bf16 60 bench attention --backend cuda --precision bf16 --batch 8 --seq 1024 --channels 768 --heads 12
b bench-decode-gpt2-cuda-bf16 40 bench decode-gpt2 --backend cuda --precision bf16 --preset gpt2 --prompt-tokens 64 --tokens 256 --runs 3
b profile-decode-gpt2-cuda 40 bench decode-gpt2 --backend cuda --preset gpt2 --prompt-tokens 64 --tokens 128 --runs 1 --profile
step "results"; python3 bench/gpu-results.py "$OUT" > "$OUT/results.md" || fail=1
echo "GPU-QUICK $([ $fail = 0 ] && echo PASSED || echo FAILED) in $SECONDS s"; exit $fail
