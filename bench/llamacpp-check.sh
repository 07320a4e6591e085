#!/usr/bin/env bash
# Cross-check against llama.cpp: export jgpt runs to GGUF, load them in llama.cpp (the prebuilt CPU
# build inside the npm package node-llama-cpp), and compare, on the same text, llama.cpp's token ids
# with jgpt's and llama.cpp's teacher-forced next-token distributions with jgpt's (most likely token
# at every position, probabilities of the top 5). An independent implementation of the GGUF reader,
# the BPE tokenizer, GPT-2 and the Llama block (RMSNorm, RoPE, SwiGLU, grouped-query attention); and
# the other direction: jgpt reading the GGUF files llama.cpp makes, and writing chat formats as it does.
#
#   bench/llamacpp-check.sh                 # trains a tiny GPT-2 and a tiny GQA Llama on sotu first (~1 min)
#   bench/llamacpp-check.sh RUN [RUN...]    # checks these runs (GPT-2 or Llama)
#   DTYPE=q8 bench/llamacpp-check.sh RUN    # the GGUF in bf16 / Q8_0 against jgpt's native decoder in
#                                           # the same dtype (the quantisations differ in detail:
#                                           # read maxProbDiff as a measure, the 1e-3 bound is for f32)
#
# Prints one JSON line per model; exits 1 when a model disagrees, 0 with "skipped" when llama.cpp
# cannot be installed (no npm, no registry). llama.cpp keeps its KV cache in f16, so probabilities
# agree to ~1e-4, not to float32 rounding; the bound is 1e-3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jgpt="$root/jgpt"
version=3.22.1
cache="${XDG_CACHE_HOME:-$HOME/.cache}/jgpt/llamacpp-$version"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -d "$cache/node_modules/@node-llama-cpp/linux-x64" ]; then
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo '{"skipped": "no node/npm: llama.cpp cross-check not run"}'; exit 0
  fi
  mkdir -p "$cache"
  echo '{"name": "jgpt-llamacpp-check", "private": true}' > "$cache/package.json"
  # only the linux-x64 CPU binaries (85 MB), no install scripts (they would try to build or download)
  if ! (cd "$cache" && npm install --silent --no-audit --no-fund --ignore-scripts --omit=optional \
          "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version" >&2); then
    rm -rf "$cache"
    echo '{"skipped": "npm install of node-llama-cpp failed: llama.cpp cross-check not run"}'; exit 0
  fi
fi
ln -sfn "$cache/node_modules" "$work/node_modules"
cp "$root/bench/llamacpp/topk.mjs" "$root/bench/llamacpp/compare.mjs" "$work/"

runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
  echo "llamacpp-check: training a tiny GPT-2 and a tiny Llama (GQA, untied classifier, hidden 512) on sotu ..." >&2
  d="$work/data"
  "$jgpt" data fetch sotu -o "$d/raw" >&2
  "$jgpt" tokenizer train "$d/raw" --vocab-size 1024 -o "$d/tok" >&2
  "$jgpt" data prepare "$d/raw" -o "$d/prepared" >&2
  "$jgpt" data pack "$d/prepared" --tokenizer "$d/tok/tokenizer.json" -o "$d/shards" >&2
  common=(--preset tiny --data "$d/shards" --tokenizer "$d/tok/tokenizer.json" --max-steps 60 --eval-every 1000
          --batch-size 4 --threads 2)
  "$jgpt" train "${common[@]}" --out "$work/gpt2" >&2
  # hidden 512: ffn_down's rows are whole 256-weight super-blocks, so the ggml-quantized copy below has K types too
  "$jgpt" train "${common[@]}" --arch llama --n-head 4 --kv-heads 2 --hidden-dim 512 --shared-classifier false --out "$work/llama" >&2
  runs=("$work/gpt2" "$work/llama")
fi

text="It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want \
of a wife. Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, \
I thought I would sail about a little and see the watery part of the world. 1234567890 ½ café naïve — \"quoted\"."
source "$root/.ci/find-jdk.sh"
java="$(jgpt_find_jdk)/bin/java"
status=0
llama_runs=()
for run in "${runs[@]}"; do
  name="$(basename "$run")"
  "$jgpt" export --format gguf --dtype "${DTYPE:-f32}" --model "$run" -o "$work/$name.gguf" >&2
  tok="$run/tokenizer.json"
  printf '%s\n' "$text" | "$jgpt" tokenizer encode --tokenizer "$tok" > "$work/ids-jgpt.txt"
  if ! (cd "$work" && node topk.mjs "$name.gguf" --tokenize "$text") > "$work/ids-llamacpp.txt"; then
    echo "{\"run\": \"$name\", \"ok\": false, \"error\": \"llama.cpp could not load or tokenize with the GGUF\"}"; status=1; continue
  fi
  same_ids=true
  cmp -s "$work/ids-jgpt.txt" "$work/ids-llamacpp.txt" || same_ids=false
  # the distributions over the first 96 tokens: the tiny presets' context is 128
  tr ' ' '\n' < "$work/ids-jgpt.txt" | head -96 | paste -sd' ' > "$work/ids.txt"
  if ! (cd "$work" && node topk.mjs "$name.gguf" ids.txt 5) > "$work/top-llamacpp.txt"; then
    echo "{\"run\": \"$name\", \"ok\": false, \"error\": \"llama.cpp failed to evaluate the GGUF\"}"; status=1; continue
  fi
  "$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar" "$root/bench/llamacpp/JgptTopK.java" \
      "$run" "$work/ids.txt" 5 "${DTYPE:-f32}" > "$work/top-jgpt.txt"
  verdict=0
  result="$(cd "$work" && node compare.mjs top-jgpt.txt top-llamacpp.txt)" || verdict=1
  $same_ids || verdict=1
  arch="$(grep -q '^arch: "llama"' "$run/config.yaml" 2>/dev/null && echo llama || echo gpt2)"
  echo "{\"run\": \"$name\", \"arch\": \"$arch\", \"sameTokenIds\": $same_ids, \"tokens\": $(wc -w < "$work/ids-jgpt.txt"), \"distributions\": $result, \"ok\": $([ $verdict = 0 ] && echo true || echo false)}"
  [ $verdict = 0 ] || status=1
  [ "$arch" = llama ] && [ "${DTYPE:-f32}" = f32 ] && llama_runs+=("$run")
done

# The other direction: jgpt reading GGUF files that llama.cpp's code made. Every ggml type jgpt decodes, bit for bit
# against ggml's own dequantize_row_*; a Llama run with its matrices quantized by ggml (a mix of ten types), read by
# both (llama.cpp multiplies with its quantized dot products, jgpt with the decoded floats: close, not equal); a
# sentencepiece vocabulary made from the run's BPE, tokenized by both.
lib="$cache/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
gguf_check=("$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar" "$root/bench/llamacpp/GgufCheck.java")
"${gguf_check[@]}" dequant "$lib" || status=1
# jgpt's chat formats (ChatML, Llama 2, Llama 3, Zephyr ...) written as llama.cpp's llama_chat_apply_template writes them
"$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar" "$root/bench/llamacpp/ChatTemplateCheck.java" "$lib" || status=1
for run in "${llama_runs[@]}"; do
  name="$(basename "$run")"
  "$jgpt" export --format gguf --dtype f32 --model "$run" -o "$work/$name-f32.gguf" >&2
  "${gguf_check[@]}" quantize "$lib" "$work/$name-f32.gguf" "$work/$name-mixed.gguf"
  printf '%s\n' "$text" | "$jgpt" tokenizer encode --tokenizer "$run/tokenizer.json" | tr ' ' '\n' | head -96 | paste -sd' ' > "$work/ids.txt"
  verdict=0
  (cd "$work" && node topk.mjs "$name-mixed.gguf" ids.txt 5) > "$work/top-llamacpp.txt" || verdict=1
  "$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar" "$root/bench/llamacpp/JgptTopK.java" \
      "$work/$name-mixed.gguf" "$work/ids.txt" 5 > "$work/top-jgpt.txt" || verdict=1
  result="$(cd "$work" && node compare.mjs top-jgpt.txt top-llamacpp.txt "${QUANT_BOUND:-0.02}" 0.95)" || verdict=1
  # the IQ4 types (IQ4_XS, IQ4_NL) decoded at load: the same comparison on a file of them alone (in place: below)
  "${gguf_check[@]}" quantize "$lib" "$work/$name-f32.gguf" "$work/$name-iq4.gguf" iq4
  (cd "$work" && node topk.mjs "$name-iq4.gguf" ids.txt 5) > "$work/top-llamacpp-iq4.txt" || verdict=1
  "$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar" "$root/bench/llamacpp/JgptTopK.java" \
      "$work/$name-iq4.gguf" "$work/ids.txt" 5 > "$work/top-jgpt-iq4.txt" || verdict=1
  iq4="$(cd "$work" && node compare.mjs top-jgpt-iq4.txt top-llamacpp-iq4.txt "${QUANT_BOUND:-0.02}" 0.95)" || verdict=1
  # --dtype gguf: jgpt's integer products over the file's own Q4_K / Q6_K / Q4_0 / Q8_0 blocks against llama.cpp's on one
  # file, then over Q3_K / Q2_K / Q6_K / Q4_1 / Q5_0 / Q5_1 ones (low-bit files, older types) on another, then IQ4_XS / IQ4_NL
  inplace=""
  for mix in inplace inplace-low iq4; do
    "${gguf_check[@]}" quantize "$lib" "$work/$name-f32.gguf" "$work/$name-$mix.gguf" $mix
    (cd "$work" && node topk.mjs "$name-$mix.gguf" ids.txt 5) > "$work/top-llamacpp-$mix.txt" || verdict=1
    "$java" --enable-native-access=ALL-UNNAMED -cp "$root/java/target/jgpt.jar" "$root/bench/llamacpp/JgptTopK.java" \
        "$work/$name-$mix.gguf" "$work/ids.txt" 5 gguf > "$work/top-jgpt-$mix.txt" || verdict=1
    r="$(cd "$work" && node compare.mjs top-jgpt-$mix.txt top-llamacpp-$mix.txt "${QUANT_BOUND:-0.02}" 0.95)" || verdict=1
    inplace="${inplace:+$inplace, }\"$mix\": ${r:-null}"
  done
  inplace="{$inplace}"
  "${gguf_check[@]}" spm "$run/tokenizer.json" "$work/$name-spm.gguf"
  "${gguf_check[@]}" ids "$work/$name-spm.gguf" "$text" > "$work/spm-jgpt.txt" || verdict=1
  (cd "$work" && node topk.mjs "$name-spm.gguf" --tokenize "$text") > "$work/spm-llamacpp.txt" || verdict=1
  same_spm=true
  cmp -s "$work/spm-jgpt.txt" "$work/spm-llamacpp.txt" || { same_spm=false; verdict=1; }
  echo "{\"run\": \"$name\", \"check\": \"jgpt reads llama.cpp's GGUF\", \"quantizedByGgml\": ${result:-null}, \"iq4\": ${iq4:-null}, \"inPlaceBlocks\": ${inplace:-null}, \"sentencepieceTokenIds\": $same_spm, \"spmTokens\": $(wc -w < "$work/spm-jgpt.txt"), \"ok\": $([ $verdict = 0 ] && echo true || echo false)}"
  [ $verdict = 0 ] || status=1
done
exit $status
