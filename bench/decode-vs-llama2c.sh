#!/usr/bin/env bash
# Same-run comparison of `jgpt bench decode` with llama2.c's own run.c, built from a llama2.c
# checkout you supply (this script never downloads anything; nothing of llama2.c is copied into
# jgpt). Both decode greedily from BOS the same random-weight checkpoint, interleaved round by round
# (the machine may be shared: medians over the rounds, 1-minute load average on every line).
#
#   bench/decode-vs-llama2c.sh ~/src/llama2.c                  # stories15M, 3 rounds
#   bench/decode-vs-llama2c.sh ~/src/llama2.c stories110M 5
#   THREADS="1 2" DTYPES="f32 bf16 q8" TOKENS=256 bench/decode-vs-llama2c.sh ...
#
# run.c is built twice, as llama2.c's Makefile does: `make runomp` (gcc -Ofast -fopenmp
# -march=native; OMP_NUM_THREADS=t, with more than one thread also OMP_WAIT_POLICY=passive as
# "run.c-omp-passive") and `make runfast` (gcc -Ofast, no OpenMP, no -march: 1 thread).
#
# The checkpoint: `jgpt bench decode --random PRESET` writes a llama2.c file with a classifier tied to
# the embedding; with random weights greedy decoding from BOS then predicts BOS forever and run.c
# stops at once (it ends a sequence at BOS). bench/peers/UntiedClassifier.java copies it with its
# own random classifier (same cost per token). run.c needs a tokenizer.bin with one piece per
# vocabulary entry: bench/peers/Llama2cTokenizerFile.java writes one whose piece i is " i", so
# run.c's stdout is its greedy ids, checked against jgpt's first 16 ("greedy ids agree").
#
# runq.c (llama2.c's int8 decoder: int8 weights and activations in groups, int32 dot products) is
# measured too when the checkout has it, on the same weights converted to its version-2 file by
# bench/peers/Llama2cQ8Export.java (group size 64, or 32 where 64 does not divide dim, as llama2.c's
# export.py chooses); jgpt's q8 then runs with the same --group-size.
#
# What each counts: run.c runs TOKENS forwards (positions 0..TOKENS-1) and reports
# (TOKENS-1) / time from the end of the first forward to the end (millisecond clock); jgpt reports
# TOKENS / time of positions 0..TOKENS-1 after an untimed 16-token warm-up. Both time the forward
# and the argmax of every token; position 0 (the cheapest, one cached key) is the only difference.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/medians.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
checkout="${1:?usage: bench/decode-vs-llama2c.sh PATH_TO_LLAMA2C_CHECKOUT [preset] [rounds]}"
preset="${2:-stories15M}"; rounds="${3:-3}"
threads="${THREADS:-1 2}"; dtypes="${DTYPES:-f32 bf16 q8}"; tokens="${TOKENS:-256}"
[ -f "$checkout/run.c" ] || { echo "no run.c in $checkout (give the path of a llama2.c checkout)" >&2; exit 1; }
work="${TMPDIR:-/tmp}/jgpt-vs-llama2c"; mkdir -p "$work"
gcc -Ofast -fopenmp -march=native "$checkout/run.c" -lm -o "$work/runomp"   # make runomp
gcc -Ofast -o "$work/runfast" "$checkout/run.c" -lm                         # make runfast
source "$root/.ci/find-jdk.sh"; java="$(jgpt_find_jdk)/bin/java"
# the cached random checkpoint (tied classifier), then its untied copy and the tokenizer
"$root/jgpt" bench decode --random "$preset" --tokens 2 --runs 1 --prompt-tokens 0 --threads 1 --json >/dev/null 2>&1
tied="/tmp/jgpt-random-$preset-seed1.bin"; model="$work/$preset-untied.bin"   # java.io.tmpdir (not $TMPDIR)
[ "$model" -nt "$tied" ] || "$java" "$root/bench/peers/UntiedClassifier.java" "$tied" "$model"
vocab=$(od -An -t d4 -j 20 -N 4 "$model" | tr -d ' -')
"$java" "$root/bench/peers/Llama2cTokenizerFile.java" "$work/tokenizer.bin" "$vocab"
# runq.c (llama2.c's int8 decoder) if the checkout has it: its version-2 file, converted from the same
# weights by bench/peers/Llama2cQ8Export.java; jgpt's q8 then uses the same group size
gs=32
if [ -f "$checkout/runq.c" ]; then
  gcc -Ofast -fopenmp -march=native "$checkout/runq.c" -lm -o "$work/runq"
  q8model="$work/$preset-untied-q80.bin"
  gs=$("$java" "$root/bench/peers/Llama2cQ8Export.java" "$model" "$q8model")
fi
load() { cut -d' ' -f1 /proc/loadavg; }
out="$(mktemp)"; ids="$(mktemp)"
runc() { # name threads binary [env...]: one run.c (or runq.c) decode, tok/s from its stderr
  local name="$1" t="$2" bin="$3"; shift 3
  local m="$model"; [ "$bin" = "$work/runq" ] && m="$q8model"
  local tps; tps=$(env "$@" "$bin" "$m" -t 0 -n "$tokens" -z "$work/tokenizer.bin" 2>&1 >"$ids" \
                   | sed -n 's/^achieved tok\/s: \([0-9.]*\).*/\1/p')
  cp "$ids" "$ids.$name"
  local n; n=$(wc -w <"$ids")
  [ "$n" -eq "$tokens" ] || echo "warning: $name decoded $n of $tokens tokens (stopped at BOS)" >&2
  printf "%s t=%s %.1f load=%s\n" "$name" "$t" "$tps" "$(load)" | tee -a "$out" >&2
}
for r in $(seq "$rounds"); do
  for t in $threads; do
    runc run.c-omp "$t" "$work/runomp" OMP_NUM_THREADS="$t"
    # libgomp's default spin-waiting collapses when another process holds a core; passive = sleep
    if [ "$t" != 1 ]; then runc run.c-omp-passive "$t" "$work/runomp" OMP_NUM_THREADS="$t" OMP_WAIT_POLICY=passive; fi
    if [ "$t" = 1 ]; then runc run.c-fast 1 "$work/runfast"; fi
    if [ -x "$work/runq" ]; then
      runc runq.c "$t" "$work/runq" OMP_NUM_THREADS="$t"
      if [ "$t" != 1 ]; then runc runq.c-passive "$t" "$work/runq" OMP_NUM_THREADS="$t" OMP_WAIT_POLICY=passive; fi
    fi
    for d in $dtypes; do
      # --runs 3, the median: a JVM's first timed run still shares the 2 cores with its JIT compiler threads
      # (measured: 706-813 tok/s for --runs 1 vs 809-929 for the median of 3, 15M f32 on 2 threads); run.c
      # has nothing to warm up
      j=$("$root/jgpt" bench decode --model "$model" --dtype "$d" --group-size "$gs" --threads "$t" --tokens "$tokens" --runs 3 \
            --prompt-tokens 0 --json 2>/dev/null)
      echo "jgpt-$d t=$t $(echo "$j" | sed 's/.*"tokensPerSecond":\([0-9.]*\).*/\1/') load=$(load)" | tee -a "$out" >&2
      if [ "$r" = 1 ] && [ "$t" = "${threads%% *}" ] && { [ "$d" = f32 ] || { [ "$d" = q8 ] && [ -x "$work/runq" ]; }; }; then
        peer=run.c-omp; [ "$d" = q8 ] && peer=runq.c
        first=$(echo "$j" | sed 's/.*"firstGreedyTokens":\[\([0-9,]*\)\].*/\1/' | tr ',' ' ')
        theirs=$(head -c 400 "$ids.$peer" | tr -s ' ' '\n' | grep -v '^$' | head -16 | xargs)
        if [ "$theirs" = "$(echo $first)" ]; then
          echo "greedy ids agree (first 16, jgpt $d and $peer): $first" >&2
        else
          echo "greedy ids differ (first 16): jgpt $d $first / $peer $theirs" >&2
        fi
      fi
    done
  done
done
echo "# $preset ($model), $tokens tokens, $rounds rounds, median tok/s (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
medians "$out" 3 4
rm -f "$out" "$ids" "$ids".*
