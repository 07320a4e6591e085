#!/usr/bin/env bash
# Same-run comparison of jgpt's GPT-2 training step with llm.c's own CPU trainer (train_gpt2.c),
# built from an llm.c checkout you supply (this script never downloads anything; nothing of llm.c is
# copied into jgpt). Shape: llm.c's main — GPT-2 124M (V 50257 padded to 50304, maxT 1024),
# B = 4, T = 64, AdamW every step. Interleaved round by round (the machine may be shared): medians,
# 1-minute load average on every line.
#
#   bench/train-vs-llmc.sh ~/src/llm.c                    # THREADS="1 2", 3 rounds, 12 llm.c steps
#   ROUNDS=5 STEPS=15 THREADS=2 bench/train-vs-llmc.sh ~/src/llm.c
#
# 1. Inputs (bench/peers/LlmcInputs.java): a made-up 50,257-token byte-level BPE tokenizer.json and
#    llm.c token shards of random ids repeating every 256 tokens (= B*T), so every batch llm.c reads
#    (shuffled or not) is the same batch.
# 2. Weights: `jgpt train --preset gpt2` for one step on those shards, exported with
#    `jgpt export --format llmc` as gpt2_124M.bin (+ its tokenizer as gpt2_tokenizer.bin).
# 3. Correctness: llm.c prints the mean loss of 5 val batches and step 0's train loss, both on
#    these weights before its first update; `jgpt eval --batch 4 --seq 64 --batches 5` reads the same
#    windows. The three numbers must agree to float rounding.
# 4. Speed: train_gpt2.c runs from a directory of symlinks laid out as it expects
#    (gpt2_124M.bin, dev/data/tinyshakespeare/tiny_shakespeare_{train,val}.bin) with
#    OMP_NUM_THREADS=t, stdout line-buffered (stdbuf), and is stopped after step STEPS; its figure is
#    the median of its own "took N ms" over steps 1..STEPS (step 0 also allocates gradients and
#    AdamW state). Each step: next batch, forward, zero grads, backward, AdamW.
#    jgpt: `jgpt bench train-step --preset gpt2 --batch 4 --seq 64 --threads t --steps STEPS
#    --warmup 1`, median step (zero grads, forward+backward, gradient norm, AdamW), random tokens;
#    where the environment sets OPENBLAS_CORETYPE (this VM forces Haswell) also as "jgpt-own" with
#    OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so OpenBLAS picks its kernels for the CPU.
#
# llm.c is built as its Makefile does for the CPU (gcc -Ofast -Wno-unused-result -Wno-ignored-pragmas
# -Wno-unknown-attributes -march=native -fopenmp -DOMP ... -lm -lgomp); if linking fails because
# llmc/utils.h declares its helpers plain `inline` (some llm.c versions; gcc then emits no
# out-of-line copy for calls it does not inline), it is rebuilt with -fgnu89-inline, which emits them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/medians.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
checkout="${1:?usage: bench/train-vs-llmc.sh PATH_TO_LLMC_CHECKOUT}"
rounds="${ROUNDS:-3}"; steps="${STEPS:-12}"; threads="${THREADS:-1 2}"
[ -f "$checkout/train_gpt2.c" ] || { echo "no train_gpt2.c in $checkout (give the path of an llm.c checkout)" >&2; exit 1; }
work="${TMPDIR:-/tmp}/jgpt-vs-llmc"; mkdir -p "$work"
cflags=(-Ofast -Wno-unused-result -Wno-ignored-pragmas -Wno-unknown-attributes -march=native -fopenmp -DOMP)
if ! gcc "${cflags[@]}" -I"$checkout" "$checkout/train_gpt2.c" -lm -lgomp -o "$work/train_gpt2" 2>"$work/build.log"; then
  echo "llm.c: plain build failed ($(grep -m1 -o 'undefined reference to [^ ]*' "$work/build.log" || tail -1 "$work/build.log")); retrying with -fgnu89-inline" >&2
  gcc "${cflags[@]}" -fgnu89-inline -I"$checkout" "$checkout/train_gpt2.c" -lm -lgomp -o "$work/train_gpt2"
fi
source "$root/.ci/find-jdk.sh"; java="$(jgpt_find_jdk)/bin/java"
"$java" "$root/bench/peers/LlmcInputs.java" "$work/in"
if [ ! -d "$work/jrun/checkpoints" ]; then
  echo "jgpt: one training step of GPT-2 124M for the weights ..." >&2
  "$root/jgpt" train --preset gpt2 --tokenizer "$work/in/tokenizer.json" --data "$work/in/shards" --batch-size 4 \
    --seq-len 64 --max-steps 1 --warmup-steps 1 --eval-every 1000 --eval-batches 1 --samples 0 --device cpu \
    --out "$work/jrun" >/dev/null 2>&1
fi
run="$work/run"; mkdir -p "$run/dev/data/tinyshakespeare"
"$root/jgpt" export --model "$work/jrun" --format llmc -o "$run/gpt2_124M.bin" >/dev/null 2>&1
ln -sf gpt2_124M_tokenizer.bin "$run/gpt2_tokenizer.bin"
ln -sf "$work/in/shards/train_000000.bin" "$run/dev/data/tinyshakespeare/tiny_shakespeare_train.bin"
ln -sf "$work/in/shards/val_000000.bin" "$run/dev/data/tinyshakespeare/tiny_shakespeare_val.bin"
load() { cut -d' ' -f1 /proc/loadavg; }
out="$(mktemp)"; log="$work/llmc.log"
llmc() { # threads: one train_gpt2 run up to step STEPS; prints the median step ms
  local t="$1"
  (cd "$run" && OMP_NUM_THREADS="$t" exec stdbuf -oL "$work/train_gpt2" >"$log" 2>&1) &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null && ! grep -q "^step $steps:" "$log" 2>/dev/null; do sleep 0.5; done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  grep -q "^step $steps:" "$log" || { echo "llm.c stopped early:" >&2; tail -5 "$log" >&2; exit 1; }
  sed -n 's/^step \([0-9]*\): .*took \([0-9.]*\) ms.*/\1 \2/p' "$log" | awk '$1 >= 1 {print $2}' | sort -n \
    | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
jgpt_step() { # name threads [env ...]: one jgpt bench train-step run, median step
  local name="$1" t="$2"; shift 2
  local j; j=$("$@" "$root/jgpt" bench train-step --preset gpt2 --batch 4 --seq 64 --threads "$t" --steps "$steps" \
                 --warmup 1 --json 2>/dev/null)
  local jms; jms=$(echo "$j" | sed 's/.*"msPerStepMedian":\([0-9.]*\).*/\1/')
  printf "%s t=%s %.1f ms/step %.1f tok/s load=%s\n" "$name" "$t" "$jms" "$(echo "256000 / $jms" | bc -l)" "$(load)" | tee -a "$out" >&2
}
checked=0
for r in $(seq "$rounds"); do
  for t in $threads; do
    ms=$(llmc "$t")
    printf "llm.c t=%s %.1f ms/step %.1f tok/s load=%s\n" "$t" "$ms" "$(echo "256000 / $ms" | bc -l)" "$(load)" | tee -a "$out" >&2
    if [ "$checked" = 0 ]; then
      checked=1
      lv=$(sed -n 's/^val loss \([0-9.]*\)/\1/p' "$log" | head -1)
      l0=$(sed -n 's/^step 0: train loss \([0-9.]*\).*/\1/p' "$log")
      jl=$("$root/jgpt" eval --model "$work/jrun" --data "$work/in/shards" --split val --batch 4 --seq 64 --batches 5 \
             --device cpu --json 2>/dev/null | sed 's/.*"loss":\([0-9.]*\).*/\1/')
      echo "loss on the same weights and batches: llm.c val $lv, llm.c step 0 train $l0, jgpt eval $jl" >&2
    fi
    jgpt_step jgpt "$t"
    # an environment that forces OpenBLAS's core type (this VM sets Haswell): also with OpenBLAS's own choice
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then jgpt_step jgpt-own "$t" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE; fi
  done
done
echo "# GPT-2 124M, B=4 T=64, $rounds rounds, median over rounds of each run's tokens/s (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
medians "$out" 5 7
rm -f "$out"
