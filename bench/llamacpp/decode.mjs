// Greedy decode speed of a GGUF in llama.cpp (node-llama-cpp's prebuilt CPU build), timed as
// `jgpt bench decode` times it: one token at a time from token 1, N tokens, from the second token on.
//   node decode.mjs MODEL.gguf THREADS TOKENS   -> {"tokensPerSecond": ...}
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
const [,, modelPath, threadsArg, tokensArg] = process.argv;
const threads = Number(threadsArg), n = Number(tokensArg);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, useMmap: true});
const ctx = await model.createContext({contextSize: n + 8, threads, batchSize: 8});
const seq = ctx.getSequence();
let count = 0, start = 0;
for await (const t of seq.evaluate([1], {temperature: 0})) {
  if (++count === 1) start = performance.now();
  if (count > n) break;
}
const ms = performance.now() - start;
console.log(JSON.stringify({engine: "llama.cpp", threads, tokens: n, tokensPerSecond: n / (ms / 1000)}));
process.exit(0);
