#!/usr/bin/env bash
# Load test of `jgpt serve` on a Llama-family model: 1, 8 and 32 streaming clients, with continuous
# batching (--instances 32) and one sequence at a time (--instances 1, what Llama models got before
# batching), for each --dtype given. Prints one JSON line per run (LoadClient's object plus the
# server's settings and the load average when the run started).
#
#   bench/serve-llama-load.sh MODEL.bin "f32 q8" [max_tokens]
#
# MODEL.bin is a llama2.c checkpoint with tokenizer.bin beside it (for a random one:
# `jgpt bench decode --random stories15M` writes /tmp/jgpt-random-stories15M-seed1.bin).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/.ci/find-jdk.sh"
java="$(jgpt_find_jdk)/bin/java"
jar="$root/java/target/jgpt.jar"
model="$1"; dtypes="${2:-f32}"; max_tokens="${3:-64}"
name="$(basename "$model" .bin)"
for dtype in $dtypes; do
  for instances in 1 32; do
    out="$(mktemp)"
    "$java" --enable-native-access=ALL-UNNAMED -jar "$jar" serve --model "$model" --dtype "$dtype" --port 0 --json \
        --threads 1 --instances "$instances" --queue 1024 >"$out" 2>/dev/null &
    server=$!
    for _ in $(seq 1 600); do grep -q '"url"' "$out" && break; sleep 0.1; done
    url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$out")"
    for clients in 1 8 32; do
      requests=$(( clients == 1 ? 8 : (clients == 8 ? 4 : 2) ))
      load="$(cut -d' ' -f1 /proc/loadavg)"
      res="$("$java" --enable-native-access=ALL-UNNAMED -cp "$jar" dev.jgpt.serve.LoadClient --url "$url" --model "$name" \
          --endpoint completions --clients "$clients" --requests "$requests" --max-tokens "$max_tokens" 2>/dev/null)"
      echo "{\"dtype\":\"$dtype\",\"instances\":$instances,\"load_avg\":$load,\"result\":$res}"
    done
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -f "$out"
  done
done
