// Time to first token of a P-token prompt in llama.cpp (node-llama-cpp's prebuilt CPU build), as `jgpt bench decode
// --prompt-tokens P --tokens 1` times it: the prompt evaluated in one batch, then the first token sampled. Three
// prompts, each in a fresh sequence of one context.
//   node prefill.mjs MODEL.gguf THREADS P   -> {"ttftMs": [...]}
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
const [,, modelPath, threadsArg, promptArg] = process.argv;
const threads = Number(threadsArg), P = Number(promptArg);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, useMmap: true});
const ctx = await model.createContext({contextSize: P + 16, threads, batchSize: 512});
const tokens = [1]; for (let i = 1; i < P; i++) tokens.push(300 + (i * 37) % 20000);
const runs = [];
for (let r = 0; r < 3; r++) {
  const seq = ctx.getSequence();
  const start = performance.now();
  for await (const t of seq.evaluate(tokens, {temperature: 0})) { break; }
  runs.push(performance.now() - start);
  seq.dispose();
}
console.log(JSON.stringify({engine: "llama.cpp", threads, promptTokens: P, ttftMs: runs}));
process.exit(0);
