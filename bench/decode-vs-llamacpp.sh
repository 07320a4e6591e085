#!/usr/bin/env bash
# Same-run decode speed of jgpt against llama.cpp (the prebuilt CPU build in npm's node-llama-cpp,
# installed by bench/llamacpp-check.sh) on the same random-weight checkpoint, converted to GGUF in the
# same dtype (f32, bf16, q8 = llama.cpp's Q8_0). Greedy, one token at a time, N tokens timed from the
# second. Interleaved round by round; medians reported. llama.cpp's time includes node-llama-cpp's
# JavaScript per token (an async step, a few microseconds).
#
#   bench/decode-vs-llamacpp.sh stories15M 3
#   THREADS="1 2" DTYPES="f32 bf16 q8" bench/decode-vs-llamacpp.sh stories110M 3
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/medians.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-stories15M}"; rounds="${2:-3}"
threads="${THREADS:-1 2}"; dtypes="${DTYPES:-f32 bf16 q8}"; tokens="${TOKENS:-256}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/jgpt/llamacpp-3.22.1"
[ -d "$cache/node_modules" ] || { echo "llama.cpp (node-llama-cpp) is not installed; run bench/llamacpp-check.sh" >&2; exit 1; }
source "$root/.ci/find-jdk.sh"
java="$(jgpt_find_jdk)/bin/java"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
ln -s "$cache/node_modules" "$work/node_modules"
cp "$root/bench/llamacpp/decode.mjs" "$work/"
"$root/jgpt" bench decode --random "$preset" --tokens 2 --runs 1 --prompt-tokens 0 --threads 1 --json >/dev/null 2>&1
model="${TMPDIR:-/tmp}/jgpt-random-$preset-seed1.bin"
for d in $dtypes; do
  "$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar" "$root/bench/llamacpp/Llama2cToGguf.java" \
      "$model" "$work/$d.gguf" "$d"
done
out="$work/results"
for r in $(seq "$rounds"); do
  for t in $threads; do
    for d in $dtypes; do
      l=$(cd "$work" && node decode.mjs "$d.gguf" "$t" "$tokens" 2>/dev/null | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')
      echo "llama.cpp-$d t=$t $l" | tee -a "$out" >&2
      j=$("$root/jgpt" bench decode --model "$model" --dtype "$d" --threads "$t" --tokens "$tokens" --runs 1 \
            --prompt-tokens 0 --json 2>/dev/null | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')
      echo "jgpt-$d t=$t $j" | tee -a "$out" >&2
    done
  done
done
echo "# $preset, $rounds rounds, median tok/s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
medians "$out" 3
