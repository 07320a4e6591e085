#!/usr/bin/env bash
# Compares `jgpt bench gemm --backend cpu` with a plain C program calling cblas_sgemm from the very
# same libopenblas.so.0 (the copy jgpt extracted from its jar), same size, threads and timing rule.
# Runs the two alternately ROUNDS times and compares the best medians (the machine may be shared).
# jgpt's process CPU time includes JVM start-up and JIT, so its per-CPU-second figure is a lower bound.
# Usage: bench/gemm_c_baseline.sh [N=1024] [threads=all cores] [rounds=3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-1024}"; threads="${2:-$(nproc)}"; rounds="${3:-3}"
info="$("$root/jgpt" info --json)"
lib="$(printf '%s' "$info" | grep -o '"path":"[^"]*libopenblas[^"]*"' | head -1 | sed 's/"path":"//; s/"$//')"
[ -n "$lib" ] || { echo "gemm_c_baseline: jgpt info found no OpenBLAS: $info" >&2; exit 1; }
bin="$(mktemp -d)/gemm_c_baseline"
trap 'rm -rf "$(dirname "$bin")"' EXIT
cc -O2 -o "$bin" "$root/bench/gemm_c_baseline.c" -ldl
best_c=0; best_j=0; cpu_c=0; cpu_j=0
field() { printf '%s' "$1" | grep -o "\"$2\":[0-9.]*" | head -1 | cut -d: -f2; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
for r in $(seq "$rounds"); do
  # the C caller gets the OpenBLAS environment jgpt sets for itself (workers sleep after a call)
  c="$(OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-10}" "$bin" "$lib" "$n" "$threads" 2)"
  j="$("$root/jgpt" bench gemm --size "$n" --backend cpu --threads "$threads" --baseline-size 0 --json 2>/dev/null)"
  echo "round $r: C $(field "$c" gflopsMedian) GFLOP/s, jgpt $(field "$j" gflopsMedian) GFLOP/s (medians);" \
       "per CPU second: C $(field "$c" gflopsPerCpuSecond), jgpt $(field "$j" gflopsPerCpuSecond)" >&2
  cpu_c="$(max "$cpu_c" "$(field "$c" gflopsPerCpuSecond)")"
  cpu_j="$(max "$cpu_j" "$(field "$j" gflopsPerCpuSecond)")"
  best_c="$(max "$best_c" "$(field "$c" gflopsMedian)")"
  best_j="$(max "$best_j" "$(field "$j" gflopsMedian)")"
done
ratio="$(awk -v j="$best_j" -v c="$best_c" 'BEGIN { printf "%.3f", j / c }')"
cpu_ratio="$(awk -v j="$cpu_j" -v c="$cpu_c" 'BEGIN { printf "%.3f", j / c }')"
echo "{\"size\":$n,\"threads\":$threads,\"openblas\":\"$lib\",\"cGflops\":$best_c,\"jgptGflops\":$best_j,\"ratio\":$ratio,\"cGflopsPerCpuSecond\":$cpu_c,\"jgptGflopsPerCpuSecond\":$cpu_j,\"cpuRatio\":$cpu_ratio,\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
