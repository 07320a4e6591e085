#!/usr/bin/env bash
# Tokenizer bench: jgpt's byte-level BPE beside Hugging Face tokenizers on ../shared/corpora
# (moby-dick.txt + sotu/*.txt). Prints one JSON object on stdout; progress goes to stderr.
#   bench/tokenizer.sh [--vocab 8192] [--pattern gpt2|gpt4] [--repeats 3] [--corpus DIR]
# Encode speed is compared with HF tokenizers through DJL (ai.djl.huggingface:tokenizers, in the
# same JVM). HF's trainer is not reachable through DJL; when node and npm are present, its Node
# binding (npm package "tokenizers", installed into bench/.npm on first use) times HF's default
# trainer (vocabulary 30000), and jgpt is trained at the same size for comparison.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source .ci/find-jdk.sh
JAVA_HOME="$(jgpt_find_jdk)"
export JAVA_HOME
corpus="$root/../shared/corpora"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --corpus) corpus="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -d "$corpus/sotu" ] || { echo "tokenizer.sh: no corpus at $corpus (needs moby-dick.txt and sotu/)" >&2; exit 1; }

echo "tokenizer.sh: building the bench jar ..." >&2
./mvnw -q -B -pl bench -am package -DskipTests -DskipNative >&2

hf_args=()
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -d bench/.npm/node_modules/tokenizers ]; then
    echo "tokenizer.sh: installing the tokenizers Node binding into bench/.npm ..." >&2
    npm install --silent --no-audit --no-fund --prefix bench/.npm tokenizers@0.23.2 >&2 || true
  fi
  if [ -d bench/.npm/node_modules/tokenizers ]; then
    mapfile -t files < <(ls "$corpus/moby-dick.txt" "$corpus"/sotu/*.txt)
    echo "tokenizer.sh: timing HF tokenizers' trainer ..." >&2
    hf_json="$(NODE_PATH=bench/.npm/node_modules node bench/node/hf-train.js "${files[@]}" 2>/dev/null | tail -1)"
    secs="$(sed -E 's/.*"seconds":([0-9.eE+-]+).*/\1/' <<<"$hf_json")"
    vocab="$(sed -E 's/.*"vocab":([0-9]+).*/\1/' <<<"$hf_json")"
    version="$(sed -E 's/.*"version":"([^"]+)".*/\1/' <<<"$hf_json")"
    hf_args=(--hf-train-seconds "$secs" --hf-train-vocab "$vocab" --hf-train-version "$version")
  fi
fi

exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xmx4g \
  -cp bench/target/jgpt-benchmarks.jar dev.jgpt.bench.TokenizerBench --corpus "$corpus" ${hf_args[@]+"${hf_args[@]}"} ${args[@]+"${args[@]}"}
