// Times Hugging Face tokenizers' BPE trainer (the Rust library, through its Node binding) on the
// given files with a ByteLevel pre-tokenizer. The binding's train() takes no trainer settings, so
// this is HF's default BpeTrainer: vocabulary 30000, all cores. Prints one JSON object.
const { Tokenizer, BPE, byteLevelPreTokenizer } = require('tokenizers');
const files = process.argv.slice(2);
const t = new Tokenizer(BPE.empty());
t.setPreTokenizer(byteLevelPreTokenizer(false, true));
const t0 = process.hrtime.bigint();
t.train(files);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
let version = '?';
try { version = require('tokenizers/package.json').version; } catch (e) { /* exports may hide it */ }
console.log(JSON.stringify({ seconds, vocab: t.getVocabSize(true), version }));
