#!/usr/bin/env bash
# Same-run decode speed of jgpt's native GPT-2 decoder (Gpt2Decoder, `jgpt bench decode-gpt2 --model RUN`)
# against llama.cpp (the prebuilt CPU build in npm's node-llama-cpp, installed by bench/llamacpp-check.sh)
# on the same weights: the run exported by `jgpt export --format gguf --dtype D` (f32, bf16, q8 = Q8_0).
# Greedy, one token at a time, N tokens timed after the first; interleaved round by round, medians
# reported, each line with the 1-minute load average at that moment. Also the old path (Gpt2Inference
# on the Backend ops, "jgpt-ops", f32) unless OPS=0. llama.cpp's time includes node-llama-cpp's
# JavaScript per token (an async step, a few microseconds). The prompt differs (llama.cpp starts
# from token 1, jgpt from one random token): the speed of a step does not depend on the token.
#
#   bench/decode-gpt2-vs-llamacpp.sh runs/demo/pretrain 3
#   THREADS="1 2" DTYPES="f32 bf16 q8" TOKENS=200 bench/decode-gpt2-vs-llamacpp.sh RUN 3
# (llama.cpp on 2 threads is pathologically slow in this harness: compare at 1 thread.)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/medians.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run="${1:?usage: $0 RUN [rounds]}"; rounds="${2:-3}"
threads="${THREADS:-1}"; dtypes="${DTYPES:-f32 bf16 q8}"; tokens="${TOKENS:-200}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/jgpt/llamacpp-3.22.1"
[ -d "$cache/node_modules" ] || { echo "llama.cpp (node-llama-cpp) is not installed; run bench/llamacpp-check.sh" >&2; exit 1; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
ln -s "$cache/node_modules" "$work/node_modules"
cp "$root/bench/llamacpp/decode.mjs" "$work/"
for d in $dtypes; do
  "$root/jgpt" export --model "$run" --format gguf --dtype "$d" -o "$work/$d.gguf" 2>/dev/null
done
load() { cut -d' ' -f1 /proc/loadavg; }
num() { sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/'; }
out="$work/results"
for r in $(seq "$rounds"); do
  for t in $threads; do
    for d in $dtypes; do
      l=$(cd "$work" && node decode.mjs "$d.gguf" "$t" "$tokens" 2>/dev/null | num)
      echo "llama.cpp-$d t=$t $l load=$(load)" | tee -a "$out" >&2
      j=$("$root/jgpt" bench decode-gpt2 --model "$run" --dtype "$d" --threads "$t" --tokens "$tokens" --prompt-tokens 1 \
            --runs 1 --json 2>/dev/null | num)
      echo "jgpt-$d t=$t $j load=$(load)" | tee -a "$out" >&2
    done
    if [ "${OPS:-1}" = 1 ]; then
      j=$("$root/jgpt" bench decode-gpt2 --model "$run" --engine ops --threads "$t" --tokens "$tokens" --prompt-tokens 1 \
            --runs 1 --json 2>/dev/null | num)
      echo "jgpt-ops-f32 t=$t $j load=$(load)" | tee -a "$out" >&2
    fi
  done
done
echo "# $run, $rounds rounds, $tokens tokens, median tok/s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
medians "$out" 3 4
