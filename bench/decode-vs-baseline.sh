#!/usr/bin/env bash
# Same-run comparison of `jgpt bench decode` with bench/c/llama_baseline.c (a plain run.c-style f32
# decoder of our own, gcc -Ofast -march=native -fopenmp) on one random-weight checkpoint.
# The machine is shared, so the two are interleaved round by round and medians are reported; with
# 1 thread also tokens per second of CPU time ("cpu1"), which other processes disturb much less.
#
#   bench/decode-vs-baseline.sh stories15M 3          # preset, rounds
#   THREADS="1 2" DTYPES="f32 bf16 q8" bench/decode-vs-baseline.sh stories110M 3
#   COMPARE_OMP=1 ...   also runs jgpt with JGPT_DECODE_POOL=0 (an OpenMP region per token, as before
#                       the decode worker pool) in the same rounds ("jgpt-omp-D")
# Every line ends with the 1-minute load average at that moment.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/medians.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-stories15M}"; rounds="${2:-3}"
threads="${THREADS:-1 2}"; dtypes="${DTYPES:-f32 bf16 q8}"; tokens="${TOKENS:-256}"
bin="${TMPDIR:-/tmp}/jgpt-llama-baseline"
gcc -Ofast -march=native -fopenmp -o "$bin" "$root/bench/c/llama_baseline.c" -lm
# writes the cached random checkpoint once (same file the baseline reads)
"$root/jgpt" bench decode --random "$preset" --tokens 2 --runs 1 --prompt-tokens 0 --threads 1 --json >/dev/null 2>&1
model="${TMPDIR:-/tmp}/jgpt-random-$preset-seed1.bin"
out="$(mktemp)"
for r in $(seq "$rounds"); do
  for t in $threads; do
    b=$(OMP_NUM_THREADS=$t "$bin" "$model" "$tokens")
    echo "baseline t=$t $(echo "$b" | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')" | sed "s/\$/ load=$(cut -d" " -f1 /proc/loadavg)/" | tee -a "$out" >&2
    if [ "$t" != 1 ]; then  # libgomp's workers sleep instead of spinning, as jgpt's loader sets for OpenMP
      echo "baseline-passive t=$t $(OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$t "$bin" "$model" "$tokens" | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')" | sed "s/\$/ load=$(cut -d" " -f1 /proc/loadavg)/" | tee -a "$out" >&2
    fi
    if [ "$t" = 1 ]; then echo "baseline cpu1 $(echo "$b" | sed 's/.*"tokensPerCpuSecond":\([0-9.]*\).*/\1/')" | sed "s/\$/ load=$(cut -d" " -f1 /proc/loadavg)/" | tee -a "$out" >&2; fi
    for d in $dtypes; do
      j=$("$root/jgpt" bench decode --model "$model" --dtype "$d" --threads "$t" --tokens "$tokens" --runs 1 \
            --prompt-tokens 0 --json 2>/dev/null)
      echo "jgpt-$d t=$t $(echo "$j" | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')" | sed "s/\$/ load=$(cut -d" " -f1 /proc/loadavg)/" | tee -a "$out" >&2
      if [ "$t" = 1 ]; then echo "jgpt-$d cpu1 $(echo "$j" | sed 's/.*"tokensPerCpuSecond":\([0-9.]*\).*/\1/')" | sed "s/\$/ load=$(cut -d" " -f1 /proc/loadavg)/" | tee -a "$out" >&2; fi
      if [ "${COMPARE_OMP:-0}" = 1 ] && [ "$t" != 1 ]; then
        j=$(JGPT_DECODE_POOL=0 "$root/jgpt" bench decode --model "$model" --dtype "$d" --threads "$t" --tokens "$tokens" \
              --runs 1 --prompt-tokens 0 --json 2>/dev/null)
        echo "jgpt-omp-$d t=$t $(echo "$j" | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/')" | sed "s/\$/ load=$(cut -d" " -f1 /proc/loadavg)/" | tee -a "$out" >&2
      fi
    done
  done
done
echo "# $preset, $rounds rounds, median tok/s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
medians "$out" 3 4
rm -f "$out"
