#!/usr/bin/env bash
# jgpt and llama.cpp decoding the same GGUF file that llama.cpp's own quantizer made (ggml_quantize_chunk, through
# bench/llamacpp/GgufCheck.java): a random-weight preset (stories15M / stories110M shapes) as F32, then as a
# Q4_K_M-like mix (Q6_K for the classifier, attn_v and ffn_down, Q4_K elsewhere) and as Q8_0. llama.cpp decodes each
# file in its own types; jgpt decodes with --dtype gguf (the file's own blocks in place, its default for these files),
# and, converting each matrix once, q8 and bf16. Greedy, one token at a time, N tokens timed from the second, rounds interleaved, medians; beside each jgpt
# figure its load time and peak RSS, beside llama.cpp's its peak RSS (GNU time).
#
#   bench/decode-gguf-vs-llamacpp.sh stories110M 3
#   THREADS="1 2" bench/decode-gguf-vs-llamacpp.sh stories15M 3
#   FILES="q4_k_m q5_k_m q8_0" DTYPES=gguf bench/decode-gguf-vs-llamacpp.sh stories110M 3   # a Q5_K_M-like file too
#   FILES="q3_k q2_k" DTYPES="gguf q8" bench/decode-gguf-vs-llamacpp.sh stories110M 3   # every matrix of one ggml type
#   PROMPT=256 DTYPES=gguf bench/decode-gguf-vs-llamacpp.sh stories110M 3   # also time to first token of a 256-token prompt (ms)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/medians.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-stories15M}"; rounds="${2:-3}"
threads="${THREADS:-1}"; tokens="${TOKENS:-256}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/jgpt/llamacpp-3.22.1"
[ -d "$cache/node_modules" ] || { echo "llama.cpp (node-llama-cpp) is not installed; run bench/llamacpp-check.sh" >&2; exit 1; }
lib="$cache/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
source "$root/.ci/find-jdk.sh"
java="$(jgpt_find_jdk)/bin/java"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
ln -s "$cache/node_modules" "$work/node_modules"
cp "$root/bench/llamacpp/decode.mjs" "$root/bench/llamacpp/prefill.mjs" "$work/"
"$root/jgpt" bench decode --random "$preset" --tokens 2 --runs 1 --prompt-tokens 0 --threads 1 --json >/dev/null 2>&1
model="${TMPDIR:-/tmp}/jgpt-random-$preset-seed1.bin"
tool=("$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar")
"${tool[@]}" "$root/bench/llamacpp/Llama2cToGguf.java" "$model" "$work/f32.gguf" f32
"${tool[@]}" "$root/bench/llamacpp/GgufCheck.java" quantize "$lib" "$work/f32.gguf" "$work/q4_k_m.gguf" q4_k_m
"${tool[@]}" "$root/bench/llamacpp/GgufCheck.java" quantize "$lib" "$work/f32.gguf" "$work/q8_0.gguf" q8_0
files="${FILES:-q4_k_m q8_0}"
for f in $files; do # q5_k_m, or one ggml type for every matrix (q3_k, q2_k, q6_k ...)
  [ -f "$work/$f.gguf" ] || "${tool[@]}" "$root/bench/llamacpp/GgufCheck.java" quantize "$lib" "$work/f32.gguf" "$work/$f.gguf" "$f"
done
ls -l "$work"/*.gguf | awk '{printf "# %s %.1f MB\n", $NF, $5/1e6}' | sed "s|$work/||"
rss() { sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$1" | awk '{printf "%.0f", $1/1024}'; }
out="$work/results"
for r in $(seq "$rounds"); do
  for t in $threads; do
    for f in $files; do
      l=$(cd "$work" && /usr/bin/time -v -o "$work/time" node decode.mjs "$f.gguf" "$t" "$tokens" 2>/dev/null \
            | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')
      echo "llama.cpp-$f t=$t $l rssMiB=$(rss "$work/time")" | tee -a "$out" >&2
      for d in ${DTYPES:-gguf q8 bf16}; do
        js=$(/usr/bin/time -v -o "$work/time" "$root/jgpt" bench decode --model "$work/$f.gguf" --dtype "$d" --threads "$t" \
              --tokens "$tokens" --runs 1 --prompt-tokens 0 --json 2>/dev/null)
        j=$(echo "$js" | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')
        load=$(echo "$js" | sed 's/.*"loadMs":\([0-9.]*\).*/\1/')
        echo "jgpt-$f-as-$d t=$t $j loadMs=$load rssMiB=$(rss "$work/time")" | tee -a "$out" >&2
        if [ -n "${PROMPT:-}" ]; then
          js=$("$root/jgpt" bench decode --model "$work/$f.gguf" --dtype "$d" --threads "$t" --tokens 1 --runs 3 \
                --prompt-tokens "$PROMPT" --json 2>/dev/null)
          echo "jgpt-$f-as-$d-ttft-ms t=$t $(echo "$js" | sed 's/.*"timeToFirstTokenMs":\([0-9.]*\).*/\1/')" | tee -a "$out" >&2
        fi
      done
      if [ -n "${PROMPT:-}" ]; then   # three prompts in one process; their median
        ms=$(cd "$work" && node prefill.mjs "$f.gguf" "$t" "$PROMPT" 2>/dev/null | sed 's/.*"ttftMs":\[\(.*\)\].*/\1/' \
              | tr ',' '\n' | sort -g | sed -n 2p)
        echo "llama.cpp-$f-ttft-ms t=$t $ms" | tee -a "$out" >&2
      fi
    done
  done
done
echo "# $preset, $rounds rounds, median tok/s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
medians "$out" 3
