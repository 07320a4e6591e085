#!/usr/bin/env bash
# bench/gpu-check.sh - jgpt's checks on a machine with an NVIDIA GPU but no JDK and no Maven.
# Needs the bundle from bench/gpu-bundle.sh in .gpu/ (see docs/gpu.md). Run from the project root:
#   OUT=/some/dir bench/gpu-check.sh
# Every log lands in $OUT; the last line is GPU-CHECK PASSED or GPU-CHECK FAILED. $OUT/results.md collects
# the figures (GPU, driver, exact commands, tokens/s, MFU) as a section to paste into docs/PERFORMANCE.md.
# Meant to fit in one 10-minute call: each benchmark runs under a timeout, and the (informational) memcheck
# only gets the time that is left (CHECK_SECONDS, default 560, is the whole budget).
# DRY_RUN=1 rehearses the whole script on a machine without a GPU (this one): the stand-in driver and cuBLAS
# (java/src/test/c/fake_cuda.c) with the real kernels under the host emulation (java/src/test/c/cuda_host),
# tiny shapes, 5-step loss curves. It checks the script, the bundle and results.md, never the GPU.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-/tmp/gpu-check-out}; mkdir -p "$OUT"; LOG=$OUT/gpu-check.log; exec > >(tee "$LOG") 2>&1
fail=0; step(){ echo; echo "== $(date -u +%H:%M:%S) $*"; }
BUDGET=${CHECK_SECONDS:-560}; SECONDS=0
bad(){ echo "!! FAILED: $*"; fail=1; }
# limit N: N seconds, or what is left of the budget (less 20 s for results.md) if that is less, at least 1: a step that
# hangs cannot push results.md past the call's end
limit(){ local left=$((BUDGET - SECONDS - 20)); [ "$left" -lt "$1" ] || left=$1; [ "$left" -ge 1 ] || left=1; echo "$left"; }

# shapes: the issue's on a GPU; tiny ones for a dry run (the emulation runs every CUDA thread on the CPU)
SMALL=(--preset small --batch 8 --seq 256); GPT2=(--preset gpt2 --batch 8 --seq 1024); GEMM=2048; DECODE=gpt2
GPT2_B64=(--preset gpt2 --batch 64 --seq 1024) # bf16: ~28 GiB with fused attention, ~45 GiB on the cuBLAS path (computed)
GPT2_B16=(--preset gpt2 --batch 16 --seq 1024)
ATTN=(--batch 8 --seq 256,1024,2048 --channels 768 --heads 12) # bench attention: GPT-2 124M's width, three lengths
ATTN_GQA=(--batch 8 --seq 1024 --channels 768 --heads 12 --kv-heads 4) # the same width as Llama-style grouped-query attention
LLAMA=(--arch llama --kv-heads 2 --preset small --batch 8 --seq 256) # GQA: 4 query heads over 2 kv heads, head size 64
CURVE_STEPS=50; DRY=${DRY_RUN:-0}
step "device"
if [ "$DRY" = 1 ]; then
  SMALL=(--preset tiny --batch 2 --seq 32); GPT2=(--preset tiny --batch 2 --seq 64); GEMM=128; DECODE=tiny; CURVE_STEPS=5
  GPT2_B64=(--preset tiny --batch 4 --seq 64); GPT2_B16=(--preset tiny --batch 3 --seq 64); ATTN=(--batch 1 --seq 40,72 --channels 64 --heads 2 --reps 1 --warmup 0)
  ATTN_GQA=(--batch 1 --seq 40 --channels 64 --heads 4 --kv-heads 2 --reps 1 --warmup 0)
  LLAMA=(--arch llama --kv-heads 2 --preset tiny --batch 2 --seq 40) # head size 32 < T: the fused path runs
  fake="$OUT/libfakecuda.so"
  java/src/test/c/cuda_host/build.sh "$fake" java/src/test/c/fake_cuda.c kernels/*.cu || { bad "stand-in driver build"; echo "GPU-CHECK FAILED"; exit 1; }
  export JGPT_LIBCUDA="$fake" CUBLAS_LIB="$fake"
  printf 'name, driver_version, memory.total [MiB], clocks.max.sm [MHz], compute_cap\nDRY RUN (host emulation; no GPU), n/a, n/a, n/a, n/a\n' | tee "$OUT/gpu.csv"
else
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv | tee "$OUT/gpu.csv" || bad "nvidia-smi"
fi
step "toolchain"
nvcc --version | tail -2; command -v cuobjdump compute-sanitizer ncu || true

step "fatbin contents (built on the development machine)"
if command -v cuobjdump >/dev/null; then
  cuobjdump --list-elf --list-ptx .gpu/kernels.fatbin | tee "$OUT/cuobjdump.txt" || bad "cuobjdump"
  for a in sm_80 sm_90a; do grep -q "$a" "$OUT/cuobjdump.txt" || bad "no $a ELF in the fatbin"; done
  # cuobjdump names compute_90 PTX "sm_90.ptx" (seen on the H200, CUDA 13)
  grep -qE "compute_90|sm_90\.ptx" "$OUT/cuobjdump.txt" || bad "no compute_90 PTX in the fatbin"
fi

step "rebuild kernels with this machine's nvcc, one process per file in the background; fail on register spills"
# the tests and benchmarks below do not wait for it (they load the fatbin built on the development machine, where
# the CMake build already failed on spills); the summary waits for it. A dry run compiles one file with the same
# command line (the CMake build compiled every kernel with these flags here: 37 s a file on 2 cores).
sources=(kernels/*.cu); [ "$DRY" = 1 ] && sources=("${sources[0]}")
mkdir -p "$OUT/nvcc"
rebuild() {
  local f=$1 name; name=$(basename "$f" .cu)
  nvcc -O3 -std=c++17 -fatbin -Xptxas=-v,-warn-spills,-warn-lmem-usage --Werror all-warnings -I kernels \
       -gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_90,code=compute_90 \
       -o "$OUT/nvcc/$name.fatbin" "$f" 2> "$OUT/nvcc/$name.ptxas.txt" || echo "$f" >> "$OUT/nvcc/failed.txt"
}
# six at a time: the tests beside them need the cores too
( for f in "${sources[@]}"; do rebuild "$f" & while [ "$(jobs -rp | wc -l)" -ge 6 ]; do wait -n; done; done; wait ) &
rebuild_pid=$!
rebuild_check() {
  step "kernel rebuild (started at the beginning)"
  local t; t=$(limit 120); local waited=0
  while [ $waited -lt "$t" ] && kill -0 $rebuild_pid 2>/dev/null; do sleep 1; waited=$((waited + 1)); done
  if kill -0 $rebuild_pid 2>/dev/null; then pkill -P $rebuild_pid; kill $rebuild_pid; bad "nvcc rebuild did not finish in time"; return; fi
  cat "$OUT"/nvcc/*.ptxas.txt > "$OUT/ptxas.txt"
  [ -s "$OUT/nvcc/failed.txt" ] && bad "nvcc failed on: $(tr '\n' ' ' < "$OUT/nvcc/failed.txt") (see nvcc/*.ptxas.txt)"
  if grep -E 'spill' "$OUT/ptxas.txt" | grep -qv ' 0 bytes spill stores, 0 bytes spill loads'; then bad "register spills (see ptxas.txt)"
  else echo "${#sources[@]} kernel files rebuilt, no spills"; fi
}

step "runtime"
source bench/gpu-runtime.sh
gpu_runtime "$CURVE_STEPS" || { bad "no Java runtime"; echo "GPU-CHECK FAILED"; exit 1; }

step "jgpt info"
"${J[@]}" -cp "$CP" dev.jgpt.cli.Main info | tee "$OUT/info.txt" || bad "jgpt info"
"${J[@]}" -cp "$CP" dev.jgpt.cli.Main info --json > "$OUT/info.json" || bad "jgpt info --json"
grep -q "^cuda: usable" "$OUT/info.txt" || bad "CUDA is not usable (see info.txt)"

# $1 = report name, $2 = seconds it may take, rest = JUnit selectors; jgpt.cuda.require turns a skip into a failure;
# jgpt.cuda.attention=cublas: the path the tests expect from CudaBackend.open() (they switch fused on where they test it).
# The limit keeps a kernel that hangs on the GPU (which the emulation cannot show) from taking the whole call: the
# steps after it still run and report.
run_tests() {
  local name=$1 limit=$2; shift 2
  timeout -k 10 "$(limit "$limit")" "${J[@]}" -Djgpt.cuda.require=true -Djgpt.cuda.attention=cublas ${JGPT_CUDA_DEBUG:+-Djgpt.cuda.debug=true} -cp "$CP" \
    org.junit.platform.console.ConsoleLauncher execute --disable-banner --details=tree --disable-ansi-colors \
    --reports-dir "$OUT/junit-$name" "$@" > "$OUT/tests-$name.txt" 2>&1
  local rc=$?; tail -20 "$OUT/tests-$name.txt"
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "!! $name: stopped after $limit s (a hang?); the log ends where it stood"
  return $rc
}

step "CI checks again here (fatbin contents, kernel names, availability) and the error paths (out of memory, a kernel fault in a child JVM)"
run_tests ci 90 --select-class dev.jgpt.backend.cuda.FatbinTest --select-class dev.jgpt.backend.cuda.CudaAvailabilityTest \
  --select-class dev.jgpt.backend.cuda.CudaErrorPathsTest || bad "fatbin/availability/error-path tests"

step "backend contract: cuda vs reference, op by op (fp32, TF32 off, 1e-4 relative; bf16 operands 1e-2; fused attention fwd+bwd)"
JGPT_CUDA_DEBUG=1 run_tests contract 180 --select-class dev.jgpt.backend.cuda.CudaBackendContractTest \
  --select-class dev.jgpt.backend.cuda.CudaBf16ContractTest --select-class dev.jgpt.backend.cuda.CudaRowProductsTest --select-class dev.jgpt.backend.cuda.CudaLtTest --select-class dev.jgpt.backend.cuda.CudaClassifierSplitTest \
  --select-class dev.jgpt.backend.cuda.CudaBf16ActivationsTest \
  --select-class dev.jgpt.backend.cuda.FusedAttentionTest --select-class dev.jgpt.backend.cuda.CudaFlashAttentionTest \
  --select-class dev.jgpt.backend.cuda.CudaGqaFusedAttentionTest \
  --select-class dev.jgpt.backend.cuda.CudaBf16FusedAttentionTest \
  --select-class dev.jgpt.backend.cuda.TopKTest --select-class dev.jgpt.backend.cuda.CudaQ8Test \
  --select-class dev.jgpt.backend.cuda.GemmMathTest || bad "cuda contract tests"

step "the model on cuda (finite differences, overfit, inference) and 50 small steps tracking cpu's loss curve (fp32, bf16, fused attention); the kernel timeline's counts; runs that repeat bit for bit"
run_tests model 240 --select-class dev.jgpt.model.CudaGpt2Test --select-class dev.jgpt.model.KernelTimelineGpt2Test \
  --select-class dev.jgpt.backend.cuda.CudaDeterminismTest \
  --select-class dev.jgpt.backend.cuda.KernelTimelineTest --select-class dev.jgpt.llama.CudaLlamaDecodeTest \
  --select-class dev.jgpt.serve.CudaBatchSamplingTest --select-class dev.jgpt.backend.cuda.CudaDecodeGraphTest \
  --select-class dev.jgpt.backend.cuda.CudaBatchDecodeGraphTest --select-class dev.jgpt.model.CudaReservedMemoryTest \
  --select-class dev.jgpt.llama.CudaLlamaTrainTest \
  || bad "cuda model tests"
grep -E "^(fp32 |bf16 |bf16 fused attention |fused attention )?step +[0-9]+ cpu" "$OUT/tests-model.txt" > "$OUT/loss-curves.txt" || true

step "benchmarks (same process and machine: cuda vs cpu)"
# the issue's figures first (GPT-2 124M MFU, the kernel timeline, decode tokens/s), the informational rows after them,
# so a slow step late in the call cannot cost them
# GPT-2 124M (B=8, T=1024) at each precision, MFU against the GPU's datasheet peak for that precision
for math in fp32 tf32 bf16; do
  timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2[@]}" --precision $math \
    --steps 5 --json > "$OUT/bench-train-cuda-gpt2-$math.json" || bad "bench train-step gpt2 $math"
  cat "$OUT/bench-train-cuda-gpt2-$math.json"; echo
done
# where a GPT-2 step goes on the GPU: CUDA events around every kernel, cuBLAS call and copy (KernelTimeline)
timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2[@]}" --precision bf16 \
  --steps 3 --profile --json > "$OUT/profile-train-cuda-gpt2-bf16.json" || bad "bench train-step gpt2 bf16 --profile"
cat "$OUT/profile-train-cuda-gpt2-bf16.json"; echo
# two defaults chosen from session 18's profile without a timed comparison, each switched off once in the same run:
# the classifier's products over all V rows in one (not 50,240 + 17) and the backward through GELU without cuBLASLt's
# DGELU epilogue (the plain product and the gelu backward kernel); results.md's "What these figures decide" reads them
for sw in CLASSIFIER_SPLIT:nosplit LT_DGELU:nodgelu; do
  env "JGPT_CUDA_${sw%%:*}=0" timeout "$(limit 100)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2[@]}" \
    --precision bf16 --steps 5 --json > "$OUT/bench-train-cuda-gpt2-bf16-${sw##*:}.json" \
    && cat "$OUT/bench-train-cuda-gpt2-bf16-${sw##*:}.json" || echo "(informational) train-step with JGPT_CUDA_${sw%%:*}=0 did not finish"; echo
done
# decoding (KV cache, greedy, logits to the host each token): GPT-2 124M, random weights
for dev in cuda cpu; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode-gpt2 --backend $dev --preset $DECODE --prompt-tokens 64 \
    --tokens $([ $dev = cuda ] && [ "$DRY" != 1 ] && echo 256 || echo 64) --runs 3 --json > "$OUT/bench-decode-gpt2-$dev.json" || bad "bench decode-gpt2 $dev"
  cat "$OUT/bench-decode-gpt2-$dev.json"; echo
done
# the row kernels for decode products (kernels/matmul.cu, JGPT_CUDA_ROW_PRODUCTS, on since session 20 without a timed
# comparison) switched off once: the same decode through cuBLASLt; results.md's "What these figures decide" reads both
JGPT_CUDA_ROW_PRODUCTS=0 timeout "$(limit 90)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode-gpt2 --backend cuda --preset $DECODE \
  --prompt-tokens 64 --tokens $([ "$DRY" != 1 ] && echo 256 || echo 64) --runs 3 --json > "$OUT/bench-decode-gpt2-cuda-norows.json" \
  && cat "$OUT/bench-decode-gpt2-cuda-norows.json" || echo "(informational) decode with JGPT_CUDA_ROW_PRODUCTS=0 did not finish"; echo
# where a decode token goes (graphs off: every kernel and product timed by CUDA events): GPT-2 124M took ~1.1 ms a
# token on the H200 where its weights read in ~0.12 ms (session 18)
timeout "$(limit 90)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode-gpt2 --backend cuda --preset $DECODE --prompt-tokens 64 \
  --tokens $([ "$DRY" != 1 ] && echo 128 || echo 8) --runs 1 --profile --json > "$OUT/profile-decode-gpt2-cuda.json" \
  || echo "(informational) bench decode-gpt2 --profile did not finish"
# tokens/s with graphs on over off for one label (bench-decode-gpt2-cuda-graphs-on|off-LABEL.json)
graph_ratio() {
  python3 -c 'import json,sys; on,off=(json.load(open(f)) for f in sys.argv[2:4]); r=on["tokensPerSecond"]/max(off["tokensPerSecond"],1e-9); print("CUDA graphs, %s decode: %.1f tokens/s on (graphs=%s), %.1f off: ratio %.2f" % (sys.argv[1], on["tokensPerSecond"], on.get("graphs"), off["tokensPerSecond"], r))' \
    $1 "$OUT/bench-decode-gpt2-cuda-graphs-on-$1.json" "$OUT/bench-decode-gpt2-cuda-graphs-off-$1.json" \
    || echo "(no ratio for $1: see the JSON above)"
}
# CUDA graphs for single-sequence decode: the step captured once and replayed per token (--graphs on) vs every kernel and
# product launched per token (--graphs off), same process and GPU; the ratio of tokens/s printed here and in results.md
for preset in $([ "$DRY" != 1 ] && echo "gpt2 small" || echo tiny); do
  for graphs in on off; do
    # small's context is 256: 64 + 192
    timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode-gpt2 --backend cuda --preset $preset --graphs $graphs \
      --prompt-tokens 64 --tokens $([ "$DRY" = 1 ] && echo 16 || { [ $preset = small ] && echo 192 || echo 256; }) --runs 3 --json \
      > "$OUT/bench-decode-gpt2-cuda-graphs-$graphs-$preset.json" || bad "bench decode-gpt2 --graphs $graphs $preset"
    cat "$OUT/bench-decode-gpt2-cuda-graphs-$graphs-$preset.json"; echo
  done
  graph_ratio $preset
done
for dev in cuda cpu; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench gemm --backend $dev --size $GEMM --json > "$OUT/bench-gemm-$dev.json" || bad "bench gemm $dev"
  cat "$OUT/bench-gemm-$dev.json"; echo
done
for dev in cuda cpu; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend $dev "${SMALL[@]}" --steps 5 --json \
    > "$OUT/bench-train-$dev.json" || bad "bench train-step $dev"
  cat "$OUT/bench-train-$dev.json"; echo
done
for math in tf32 bf16; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${SMALL[@]}" --precision $math \
    --steps 5 --json > "$OUT/bench-train-cuda-$math.json" && cat "$OUT/bench-train-cuda-$math.json"; echo
done
# attention alone, every path side by side (cublas; fused on tensor cores: mma.sync (fused-tc) and WMMA (fused-wmma);
# fused on CUDA cores): which should be the default
for math in bf16 fp32; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench attention --backend cuda --precision $math "${ATTN[@]}" --json \
    > "$OUT/bench-attention-cuda-$math.json" && cat "$OUT/bench-attention-cuda-$math.json" || bad "bench attention $math"; echo
done
timeout "$(limit 60)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench attention --backend cuda --precision bf16 "${ATTN_GQA[@]}" --json \
  > "$OUT/bench-attention-cuda-bf16-gqa.json" && cat "$OUT/bench-attention-cuda-bf16-gqa.json" || bad "bench attention gqa"; echo
# the bf16 row above runs the cuBLASLt epilogues (bias, GELU, bias gradients in the products; the default): the same
# step with them off (cuBLAS + add_bias/gelu/matmul_backward_bias kernels), same run, informational ("Lt" column)
JGPT_CUDA_LT=0 timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2[@]}" \
  --precision bf16 --steps 5 --json > "$OUT/bench-train-cuda-gpt2-bf16-nolt.json" \
  && cat "$OUT/bench-train-cuda-gpt2-bf16-nolt.json" || echo "(informational) train-step with JGPT_CUDA_LT=0 did not finish"; echo
# the bf16 rows store product-input activations as bf16 (the default): the same step with fp32 activations, each
# product's inputs rounded per product as before, same run, informational ("stored" column: F32)
JGPT_CUDA_BF16_ACTIVATIONS=0 timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2[@]}" \
  --precision bf16 --steps 5 --json > "$OUT/bench-train-cuda-gpt2-bf16-f32act.json" \
  && cat "$OUT/bench-train-cuda-gpt2-bf16-f32act.json" || echo "(informational) train-step with JGPT_CUDA_BF16_ACTIVATIONS=0 did not finish"; echo
# bf16 attention runs fused on tensor cores by default (JGPT_CUDA_ATTENTION=auto, kernels/attention_flash_mma.cu; H100,
# session 20: 1.23x the cuBLAS path's step): the cuBLAS path's step in the same run, so a regression shows at once
JGPT_CUDA_ATTENTION=cublas timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2[@]}" \
  --precision bf16 --steps 5 --json > "$OUT/bench-train-cuda-gpt2-bf16-cublas.json" \
  && cat "$OUT/bench-train-cuda-gpt2-bf16-cublas.json" || echo "(informational) cuBLAS-attention train-step did not finish"; echo
# the same with the CUDA-core fused kernels forced (bf16 fused attention runs on tensor cores otherwise): both rows
# side by side in results.md ("attention" fused-tc vs fused-cudacore)
JGPT_CUDA_ATTENTION=fused-cudacore timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2[@]}" \
  --precision bf16 --steps 3 --json > "$OUT/bench-train-cuda-gpt2-bf16-fused-cudacore.json" \
  && cat "$OUT/bench-train-cuda-gpt2-bf16-fused-cudacore.json" || echo "(informational) fused-cudacore train-step did not finish"; echo
# the issue's B 16-64 range with the default (fused) attention, which keeps no (B,NH,T,T) matrices: at B 64 about 26 GiB
# of parameters, optimizer state and bf16 activations instead of 45 GiB on the cuBLAS path (Gpt2.activationBytes)
for bsz in 16 64; do
  if [ $bsz = 16 ]; then shape=("${GPT2_B16[@]}"); else shape=("${GPT2_B64[@]}"); fi
  timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${shape[@]}" \
    --precision bf16 --steps 3 --json > "$OUT/bench-train-cuda-gpt2-bf16-b$bsz.json" \
    && cat "$OUT/bench-train-cuda-gpt2-bf16-b$bsz.json" || echo "(informational) train-step ${shape[*]} did not finish"; echo
done
# the same B=64 on the cuBLAS attention path (it fits: its probabilities are bf16), same run, informational
JGPT_CUDA_ATTENTION=cublas timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${GPT2_B64[@]}" \
  --precision bf16 --steps 3 --json > "$OUT/bench-train-cuda-gpt2-bf16-cublas-b64.json" \
  && cat "$OUT/bench-train-cuda-gpt2-bf16-cublas-b64.json" || echo "(informational) cuBLAS-attention train-step ${GPT2_B64[*]} did not finish"; echo
# Llama training (GQA: 4 query heads over 2 kv heads, head size 64) with kernels/llama.cu's attention (default)
# and with the fused flash-style kernels (JGPT_CUDA_ATTENTION=fused), same run: informational rows in results.md
for attn in cublas fused; do
  JGPT_CUDA_ATTENTION=$attn timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench train-step --backend cuda "${LLAMA[@]}" \
    --steps 5 --json > "$OUT/bench-train-cuda-llama-$attn.json" \
    && cat "$OUT/bench-train-cuda-llama-$attn.json" || echo "(informational) llama train-step ($attn attention) did not finish"; echo
done
# bf16 products read the weights' bf16 copy (no weight converted per token): informational beside the fp32 row
timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode-gpt2 --backend cuda --precision bf16 --preset $DECODE --prompt-tokens 64 \
  --tokens $([ "$DRY" != 1 ] && echo 256 || echo 64) --runs 3 --json > "$OUT/bench-decode-gpt2-cuda-bf16.json" \
  && cat "$OUT/bench-decode-gpt2-cuda-bf16.json" || echo "(informational) bench decode-gpt2 cuda bf16 did not finish"; echo
# the server's batched step (8 sequences, one product per weight): k = 1 candidates per row on the device vs the (8, V) logits copied
for sampling in auto host; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode-gpt2 --backend cuda --preset $DECODE --batch 8 --sampling $sampling \
    --prompt-tokens 64 --tokens $([ "$DRY" != 1 ] && echo 128 || echo 8) --runs 3 --json > "$OUT/bench-decode-gpt2-cuda-batch8-$sampling.json" \
    && cat "$OUT/bench-decode-gpt2-cuda-batch8-$sampling.json" || echo "(informational) bench decode-gpt2 --batch 8 --sampling $sampling did not finish"; echo
done

# CUDA graphs for the server's batched step (8 sequences; one graph per batch size, the device top-1 inside it) vs op by
# op: the rows "<preset>-batch8" of the same table
bpreset=$([ "$DRY" != 1 ] && echo gpt2 || echo tiny)
for graphs in on off; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode-gpt2 --backend cuda --preset $bpreset --batch 8 --graphs $graphs \
    --prompt-tokens 64 --tokens $([ "$DRY" != 1 ] && echo 128 || echo 8) --runs 3 --json \
    > "$OUT/bench-decode-gpt2-cuda-graphs-$graphs-$bpreset-batch8.json" || bad "bench decode-gpt2 --batch 8 --graphs $graphs"
  cat "$OUT/bench-decode-gpt2-cuda-graphs-$graphs-$bpreset-batch8.json"; echo
done
graph_ratio $bpreset-batch8

# Llama decoding (LlamaOpsInference on cuda, f32, device top-1; libjgpt's decoder on cpu): stories15M's shape, random weights
for dev in cuda cpu; do
  timeout "$(limit 120)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode --backend $dev --random stories15M --prompt-tokens 64 \
    --tokens $([ "$DRY" != 1 ] && echo 256 || echo 8) --runs 3 --json > "$OUT/bench-decode-llama-$dev.json" \
    && cat "$OUT/bench-decode-llama-$dev.json" || echo "(informational) bench decode (llama) $dev did not finish"; echo
done

# Llama decoding by weight storage on cuda (stories110M's shape): f32, bf16 (the matrices stored as bf16 only) and q8 (int8
# and a scale per 32 weights, kernels/quant.cu): tokens/s beside the bytes a token reads. The dry run checks q8's plumbing only.
if [ "$DRY" = 1 ]; then storage="q8"; spreset=stories15M; else storage="f32 bf16 q8"; spreset=stories110M; fi
for dt in $storage; do
  timeout "$(limit 150)" "${J[@]}" -cp "$CP" dev.jgpt.cli.Main bench decode --backend cuda --random $spreset --dtype $dt \
    --prompt-tokens $([ "$DRY" != 1 ] && echo 64 || echo 8) --tokens $([ "$DRY" != 1 ] && echo 256 || echo 4) --runs 3 --json \
    > "$OUT/bench-decode-llama-cuda-$spreset-$dt.json" && cat "$OUT/bench-decode-llama-cuda-$spreset-$dt.json" \
    || echo "(informational) bench decode (llama) cuda $spreset --dtype $dt did not finish"; echo
done

rebuild_check

step "jgpt serve over HTTP on cuda (informational): what the server adds to one request, then 8 streaming clients"
spreset_http=$([ "$DRY" != 1 ] && echo gpt2 || echo tiny)
timeout "$(limit 90)" "${J[@]}" -cp "$CP" dev.jgpt.serve.LoadClient --overhead $spreset_http --device cuda --max-tokens 64 \
  --requests $([ "$DRY" != 1 ] && echo 5 || echo 1) > "$OUT/serve-overhead-cuda.json" && cat "$OUT/serve-overhead-cuda.json" \
  || echo "(informational) serve overhead on cuda did not finish"
"${J[@]}" -cp "$CP" dev.jgpt.cli.Main serve --random-model $spreset_http --device cuda --port 0 --json --instances 8 \
  > "$OUT/serve-cuda-server.txt" 2>&1 &
server=$!
for _ in $(seq 1 300); do grep -q '"url"' "$OUT/serve-cuda-server.txt" && break; sleep 0.2; done
url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$OUT/serve-cuda-server.txt" | head -1)"
if [ -n "$url" ]; then
  timeout "$(limit 90)" "${J[@]}" -cp "$CP" dev.jgpt.serve.LoadClient --url "$url" --model "random-$spreset_http" --endpoint completions \
    --clients 8 --requests $([ "$DRY" != 1 ] && echo 4 || echo 1) --max-tokens $([ "$DRY" != 1 ] && echo 64 || echo 8) \
    > "$OUT/serve-load-cuda.json" && cat "$OUT/serve-load-cuda.json" || echo "(informational) serve load on cuda did not finish"
else
  echo "(informational) jgpt serve on cuda did not start:"; tail -5 "$OUT/serve-cuda-server.txt"
fi
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; echo

step "results file for docs/PERFORMANCE.md"
python3 bench/gpu-results.py "$OUT" > "$OUT/results.md" && cat "$OUT/results.md" || bad "gpu-results.py"

step "compute-sanitizer memcheck over the contract tests (informational, the time left: $((BUDGET - SECONDS)) s)"
left=$((BUDGET - SECONDS)); [ "$left" -gt "${MEMCHECK_SECONDS:-240}" ] && left=${MEMCHECK_SECONDS:-240}
if [ "$DRY" = 1 ]; then echo "skipped: dry run"
elif [ "$left" -lt 30 ]; then echo "skipped: no time left in this call (a larger CHECK_SECONDS gives it time)"
elif command -v compute-sanitizer >/dev/null; then
  # JGPT_CUDA_ARENA_CHUNK=0: every device tensor its own cuMemAlloc, so memcheck sees an access past a tensor's end
  # (in the arena's 64 MiB chunks it would land in a neighbour, inside the allocation); bench/stand-in-asan.sh's twin
  JGPT_CUDA_ARENA_CHUNK=0 timeout "$left" compute-sanitizer --tool memcheck --target-processes all "${J[@]}" -cp "$CP" org.junit.platform.console.ConsoleLauncher \
    execute --disable-banner --details=summary --select-class dev.jgpt.backend.cuda.CudaBackendContractTest \
    --select-class dev.jgpt.backend.cuda.CudaBf16ContractTest --select-class dev.jgpt.backend.cuda.CudaRowProductsTest --select-class dev.jgpt.backend.cuda.FusedAttentionTest --select-class dev.jgpt.backend.cuda.TopKTest \
    --select-class dev.jgpt.backend.cuda.CudaGqaFusedAttentionTest --select-class dev.jgpt.backend.cuda.CudaBf16FusedAttentionTest \
    --select-class dev.jgpt.backend.cuda.CudaFlashAttentionTest > "$OUT/memcheck.txt" 2>&1 && echo "memcheck clean" || { echo "memcheck reported (see memcheck.txt)"; grep -E "ERROR SUMMARY|Invalid" "$OUT/memcheck.txt" | head; }
fi

step "summary"
verdict="GPU-CHECK $([ $fail = 0 ] && echo PASSED || echo FAILED)"
[ -f "$OUT/results.md" ] && printf '\nOutcome of the whole check: %s (%d s; failures are the lines starting with "!! FAILED" in gpu-check.log).\n' "$verdict" "$SECONDS" >> "$OUT/results.md"
echo "$verdict"; exit $fail
