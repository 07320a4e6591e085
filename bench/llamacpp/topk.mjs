// Teacher-forced next-token distributions from llama.cpp (through node-llama-cpp's prebuilt CPU
// build) for a GGUF file: feeds the ids one at a time, prints per position a JSON line with the top
// K [id, probability] pairs. With --tokenize TEXT instead prints llama.cpp's token ids of TEXT.
//   node topk.mjs MODEL.gguf IDS_FILE K        node topk.mjs MODEL.gguf --tokenize TEXT
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {readFileSync} from "node:fs";
const [,, modelPath, idsFile, kArg] = process.argv;
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
if (idsFile === "--tokenize") {
  console.log(Array.from(model.tokenize(kArg, false)).join(" "));
  process.exit(0);
}
const ids = readFileSync(idsFile, "utf8").trim().split(/\s+/).map(Number);
const k = Number(kArg);
const ctx = await model.createContext({contextSize: Math.max(64, ids.length + 8), threads: 1});
const seq = ctx.getSequence();
const gen = seq.evaluateWithMetadata([ids[0]], {probabilities: true}, {temperature: 0});
let r = await gen.next();
for (let i = 1; ; i++) {
  const top = Array.from(r.value.probabilities.entries()).slice(0, k);
  console.log(JSON.stringify(top));
  if (i >= ids.length) break;
  r = await gen.next(ids[i]);
}
await gen.return();
