package dev.jgpt.train;

import dev.jgpt.chat.ChatSource;
import dev.jgpt.chat.ChatSourceFile;
import dev.jgpt.chat.ChatTemplates;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.io.GgmlType;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.llama.HfLlamaImportTest;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaGguf;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.testing.TinyRuns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.jgpt.train.TrainFaultsTest.jgpt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * {@code jgpt train --init MODEL --sft chats.jsonl}: a Llama model of another program (a llama2.c checkpoint, a GGUF
 * file, a Hugging Face directory) fine-tuned on chats in its own chat format, kept with its sentencepiece vocabulary
 * (tokenizer.bin) and the format it was taught (chat_format.json), and used like any run afterwards: resumed,
 * chatted with, exported. The models are tiny random ones over a byte-level llama2.c vocabulary; reference backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FineTuneImportedTest {
    Path dir, bin, chats, run;
    Llama2cTokenizer tok;
    LlamaConfig config;
    String trainErr;

    @BeforeAll
    void fineTuneALlama2cCheckpoint(@TempDir Path tmp) throws Exception {
        dir = tmp;
        tok = TinyRuns.asciiLlamaTokenizer();
        config = TinyRuns.TINY_LLAMA2C;
        bin = TinyRuns.tinyLlama2c(dir);
        chats = TinyRuns.repeatedChat(dir.resolve("chats.jsonl"), "who are you", "ishmael", 20);
        run = dir.resolve("run");
        var r = jgpt(sft(bin, run, "--chat-format", "zephyr", "--sft-max-steps", "60", "--sft-lr", "0.01", "--samples", "1",
                "--sample-tokens", "4", "--checkpoint-every", "30", "--json"));
        assertThat(r.code()).as(r.err()).isZero();
        trainErr = r.err();
    }

    private String[] sft(Path init, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--init", init.toString(), "--sft", chats.toString(), "--out", out.toString(),
                "--device", "reference", "--threads", "1", "--sft-batch-size", "4", "--sft-warmup-steps", "0",
                "--min-lr-ratio", "1", "--eval-every", "0", "--log-every", "10"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void theRunKeepsTheVocabularyAndTheFormatItWasTaught() throws Exception {
        assertThat(trainErr).contains("sft: chat format zephyr").contains("sft: weights from " + bin)
                .containsPattern("sft: seq_len 64 \\(the longest conversation, \\d+ tokens, rounded up to 64; --seq-len to choose\\)")
                .contains("  sample 1: <|user|>\\nwho are you");
        Path ckpt = ModelDirs.resolve(run);
        assertThat(Files.readAllBytes(ckpt.resolve("tokenizer.bin"))).isEqualTo(Files.readAllBytes(dir.resolve("tokenizer.bin")));
        assertThat(ckpt.resolve("tokenizer.json")).doesNotExist();
        ChatSource chat = ChatSourceFile.read(ckpt.resolve(ChatSourceFile.NAME));
        assertThat(chat.format()).isEqualTo("zephyr");
        assertThat(chat.bos()).isEqualTo(Llama2cTokenizer.BOS);
        assertThat(Checkpoints.llamaConfig(ckpt)).isEqualTo(config);
        // the loss fell: the reply was learned (first logged loss vs last)
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = dev.jgpt.io.Json.MAPPER.readTree(line);
            if (n.has("loss") && !n.path("kind").asString("").equals("eval")) losses.add(n.get("loss").asDouble());
        }
        assertThat(losses).hasSizeGreaterThan(2);
        assertThat(losses.getLast()).as(losses.toString()).isLessThan(losses.getFirst() / 4);
        var again = jgpt("train", "--resume", run.toString(), "--json");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("sft: already complete at step 60");
    }

    @Test
    void chatWithTheRunSpeaksTheTaughtFormatAndAnswers() {
        assumeThat(NativeLibraries.status().available()).isTrue();
        try (LoadedModel m = LoadedModels.openLlama(run, DecodeDType.F32, 32, 1)) {
            assertThat(m.tokenizer()).isInstanceOf(Llama2cTokenizer.class);
            assertThat(m.chatFormat(null).name()).isEqualTo("zephyr");
        }
        var g = jgpt("generate", "--model", run.toString(), "--chat", "--prompt", "who are you", "--temperature", "0",
                "--max-tokens", "12", "--threads", "1");
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out().strip()).isEqualTo("ishmael");
    }

    /** The server opens the run with the format it was taught; a run fine-tuned from it again keeps vocabulary and format. */
    @Test
    void theServerAndASecondFineTuneKeepTheFormat() throws Exception {
        assumeThat(NativeLibraries.status().available()).isTrue();
        var opened = dev.jgpt.serve.ModelSource.standard("cpu", 1, null, 32).open(run);
        try (LoadedModel m = opened.model()) {
            assertThat(m.chatFormat(null).name()).isEqualTo("zephyr");
        }
        Path again = dir.resolve("again");
        var r = jgpt(sft(run, again, "--sft-max-steps", "1", "--sft-lr", "1e-9", "--samples", "0"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("sft: chat format zephyr");
        Path ckpt = ModelDirs.resolve(again);
        assertThat(ChatSourceFile.read(ckpt.resolve(ChatSourceFile.NAME)).format()).isEqualTo("zephyr");
        assertThat(Files.readAllBytes(ckpt.resolve("tokenizer.bin"))).isEqualTo(Files.readAllBytes(dir.resolve("tokenizer.bin")));
    }

    @Test
    void exportsAsLlama2cAndGgufThatAnswerAlike() throws Exception {
        Path out = dir.resolve("export");
        var a = jgpt("export", "--model", run.toString(), "--format", "llama2c", "-o", out.resolve("model.bin").toString());
        assertThat(a.code()).as(a.err()).isZero();
        Path ckpt = ModelDirs.resolve(run);
        assertThat(Files.readAllBytes(out.resolve("model.bin"))).isEqualTo(Files.readAllBytes(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS)));
        assertThat(Files.readAllBytes(out.resolve("tokenizer.bin"))).isEqualTo(Files.readAllBytes(ckpt.resolve("tokenizer.bin")));
        var b = jgpt("export", "--model", run.toString(), "--format", "gguf", "-o", out.resolve("model.gguf").toString());
        assertThat(b.code()).as(b.err()).isZero();
        assertThat(b.err()).contains("tell llama.cpp with --chat-template zephyr");
        if (!NativeLibraries.status().available()) return;
        String[] common = {"--chat", "--prompt", "who are you", "--temperature", "0", "--max-tokens", "12", "--threads", "1"};
        var fromRun = jgpt(cat(new String[] {"generate", "--model", run.toString()}, common));
        var fromGguf = jgpt(cat(new String[] {"generate", "--model", out.resolve("model.gguf").toString(), "--chat-format", "zephyr"}, common));
        var fromBin = jgpt(cat(new String[] {"generate", "--model", out.resolve("model.bin").toString(), "--chat-format", "zephyr"}, common));
        assertThat(fromGguf.code()).as(fromGguf.err()).isZero();
        assertThat(fromBin.code()).as(fromBin.err()).isZero();
        assertThat(fromGguf.out()).isEqualTo(fromRun.out());
        assertThat(fromBin.out()).isEqualTo(fromRun.out());
    }

    /**
     * A GGUF file (its chat template decides the format) and a Hugging Face directory (q and k rows permuted back on
     * the way in) start from their own weights: one step at lr 1e-9 leaves them where the llama2.c file has them.
     */
    @Test
    void ggufAndHuggingFaceInitsStartFromTheirOwnWeights() throws Exception {
        Path gguf = dir.resolve("tiny.gguf"), hf = Files.createDirectories(dir.resolve("hf"));
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = Llama2cCheckpoint.open(bin, a);
            LlamaGguf.write(gguf, w, tok, "tiny", GgmlType.F32, ChatTemplates.TINYLLAMA);
            HfLlamaImportTest.writeHf(hf, w, "F32");
        }
        Files.writeString(hf.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":32,"
                + "\"intermediate_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":2,\"num_key_value_heads\":1,"
                + "\"vocab_size\":" + tok.vocabSize() + ",\"max_position_embeddings\":64,\"rms_norm_eps\":1e-5,\"tie_word_embeddings\":false}");
        Path fromGguf = dir.resolve("from-gguf"), fromHf = dir.resolve("from-hf");
        var g = jgpt(sft(gguf, fromGguf, "--sft-max-steps", "1", "--sft-lr", "1e-9", "--samples", "0"));
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(ChatSourceFile.read(fromGguf.resolve(ChatSourceFile.NAME)).format()).as("from the template").isEqualTo("zephyr");
        // exported again as GGUF, the run carries the template it was taught in (no --chat-template note)
        Path back = dir.resolve("back.gguf");
        var e = jgpt("export", "--model", fromGguf.toString(), "--format", "gguf", "-o", back.toString());
        assertThat(e.code()).as(e.err()).isZero();
        assertThat(e.err()).doesNotContain("--chat-template");
        assertThat(dev.jgpt.llama.LlamaModels.ggufChatSource(back, true).template()).isEqualTo(ChatTemplates.TINYLLAMA);
        var h = jgpt(sft(hf, fromHf, "--sft-max-steps", "1", "--sft-lr", "1e-9", "--samples", "0", "--chat-format", "chatml",
                "--tokenizer", dir.resolve("tokenizer.bin").toString()));
        assertThat(h.code()).as(h.err()).isZero();
        assertThat(ChatSourceFile.read(fromHf.resolve(ChatSourceFile.NAME)).format()).isEqualTo("chatml");
        for (Path r : List.of(fromGguf, fromHf)) {
            try (Arena a = Arena.ofConfined()) {
                LlamaWeights got = Llama2cCheckpoint.open(ModelDirs.resolve(r).resolve(Checkpoints.LLAMA_WEIGHTS), a);
                LlamaWeights want = Llama2cCheckpoint.open(bin, a);
                assertClose(r + " wq", got.wq(), want.wq());
                assertClose(r + " wk", got.wk(), want.wk());
                assertClose(r + " embedding", got.tokenEmbedding(), want.tokenEmbedding());
                assertClose(r + " classifier", got.wcls(), want.wcls());
            }
        }
    }

    private static void assertClose(String what, MemorySegment got, MemorySegment want) {
        assertThat(got.byteSize()).as(what).isEqualTo(want.byteSize());
        float worst = 0;
        for (long i = 0; i < got.byteSize() / 4; i++) {
            worst = Math.max(worst, Math.abs(got.getAtIndex(ValueLayout.JAVA_FLOAT, i) - want.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
        }
        assertThat(worst).as(what).isLessThan(1e-6f);
    }

    @Test
    void whatCannotBeFineTunedIsOneClearError() throws Exception {
        var noFormat = jgpt(sft(bin, dir.resolve("no-format"), "--sft-max-steps", "1"));
        assertThat(noFormat.code()).isNotZero();
        assertThat(noFormat.err()).contains("init " + bin + " has no chat template; name the format to teach it with --chat-format NAME (chatml")
                .doesNotContain("\tat ");
        Path shards = Files.createDirectories(dir.resolve("shards"));
        var withData = jgpt(sft(bin, dir.resolve("with-data"), "--data", shards.toString(), "--chat-format", "zephyr"));
        assertThat(withData.code()).isNotZero();
        assertThat(withData.err()).contains("data " + shards + " was not packed with the vocabulary of init (" + tok.vocabSize()
                + " tokens); pack it with jgpt data pack --tokenizer").doesNotContain("\tat ");
        var badFormat = jgpt(sft(bin, dir.resolve("bad-format"), "--chat-format", "zephir"));
        assertThat(badFormat.code()).isNotZero();
        assertThat(badFormat.err()).contains("'chat_format' zephir is not one of jgpt, chatml").doesNotContain("\tat ");
    }

    /**
     * A GGUF file with a byte-level BPE vocabulary (SmolLM's kind) and a ChatML template: the run keeps the vocabulary as
     * tokenizer.json, learns the reply in ChatML (its markers special tokens), answers it, and exports a GGUF file with
     * the template.
     */
    @Test
    void aByteLevelBpeVocabularyFineTunesInItsChatml() throws Exception {
        dev.jgpt.tokenizer.BpeTokenizer bpe = new dev.jgpt.tokenizer.BpeTrainer(300)
                .specialTokens(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"))
                .trainOnTexts(List.of("who are you? i am ishmael, the user and the assistant said. ".repeat(40)));
        Path json = dir.resolve("bpe-tokenizer.json"), gguf = dir.resolve("smol.gguf"), smol = dir.resolve("smol-run");
        bpe.saveTokenizerJson(json);
        String chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
                + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(LlamaConfig.llama2c(32, 64, 2, 2, 1, bpe.vocabSize(), 64, false), 8, a);
            LlamaGguf.write(gguf, w, dev.jgpt.io.TokenizerJson.read(json), "smol", GgmlType.F32, chatml);
        }
        var r = jgpt(sft(gguf, smol, "--sft-max-steps", "60", "--sft-lr", "0.01", "--samples", "0"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("sft: chat format chatml");
        Path ckpt = ModelDirs.resolve(smol);
        assertThat(ckpt.resolve("tokenizer.json")).isRegularFile();
        assertThat(ckpt.resolve("tokenizer.bin")).doesNotExist();
        assertThat(ChatSourceFile.read(ckpt.resolve(ChatSourceFile.NAME)).format()).isEqualTo("chatml");
        if (NativeLibraries.status().available()) {
            var g = jgpt("generate", "--model", smol.toString(), "--chat", "--prompt", "who are you", "--temperature", "0",
                    "--max-tokens", "12", "--threads", "1");
            assertThat(g.code()).as(g.err()).isZero();
            assertThat(g.out().strip()).isEqualTo("ishmael");
        }
        Path back = dir.resolve("smol-back.gguf");
        var e = jgpt("export", "--model", smol.toString(), "--format", "gguf", "-o", back.toString());
        assertThat(e.code()).as(e.err()).isZero();
        assertThat(dev.jgpt.llama.LlamaModels.ggufChatSource(back, true).template()).isEqualTo(chatml);
    }

    /**
     * A RoPE base and RMSNorm epsilon other than llama2.c's (Llama 3's 500000, Llama 2's 1e-6) travel with the run in
     * model.json beside each model.bin: the run decodes with them, resumes with them, exports them to GGUF, and refuses
     * a llama2c export, whose run.c would assume 10000.
     */
    @Test
    void aRopeBaseOtherThanLlama2csTravelsWithTheRun() throws Exception {
        Path other = dir.resolve("theta.gguf");
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = Llama2cCheckpoint.open(bin, a);
            LlamaConfig c = w.config();
            LlamaWeights theta = new LlamaWeights(new LlamaConfig(c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.vocabSize(),
                    c.seqLen(), c.sharedClassifier(), 500000.0, 1e-6), w.tokenEmbedding(), w.rmsAtt(), w.wq(), w.wk(), w.wv(), w.wo(),
                    w.rmsFfn(), w.w1(), w.w2(), w.w3(), w.rmsFinal(), w.wcls());
            LlamaGguf.write(other, theta, tok, "theta", GgmlType.F32, ChatTemplates.TINYLLAMA);
        }
        Path thetaRun = dir.resolve("theta-run");
        var r = jgpt(sft(other, thetaRun, "--sft-max-steps", "2", "--checkpoint-every", "1", "--samples", "0"));
        assertThat(r.code()).as(r.err()).isZero();
        Path ckpt = ModelDirs.resolve(thetaRun);
        assertThat(ckpt.resolve("model.json")).isRegularFile();
        LlamaConfig saved = Checkpoints.llamaConfig(ckpt);
        assertThat(saved.ropeTheta()).isEqualTo(500000.0);
        assertThat(saved.normEps()).isCloseTo(1e-6, org.assertj.core.api.Assertions.within(1e-12));
        if (NativeLibraries.status().available()) {
            try (var inf = dev.jgpt.llama.LlamaModels.openLlama2c(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS), DecodeDType.F32, 32, 1)) {
                assertThat(inf.config().ropeTheta()).as("the decoder's").isEqualTo(500000.0);
            }
        }
        var resumed = jgpt("train", "--resume", thetaRun.toString(), "--sft-max-steps", "3");
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(Checkpoints.llamaConfig(ModelDirs.resolve(thetaRun)).ropeTheta()).isEqualTo(500000.0);
        var bin2 = jgpt("export", "--model", thetaRun.toString(), "--format", "llama2c", "-o", dir.resolve("theta-out/m.bin").toString());
        assertThat(bin2.code()).isNotZero();
        assertThat(bin2.err()).contains("uses RoPE theta 500000.0").contains("export it as --format gguf").doesNotContain("\tat ");
        Path back = dir.resolve("theta-back.gguf");
        var g = jgpt("export", "--model", thetaRun.toString(), "--format", "gguf", "-o", back.toString());
        assertThat(g.code()).as(g.err()).isZero();
        try (Arena a = Arena.ofConfined()) {
            assertThat(dev.jgpt.llama.LlamaGgufImport.readConfig(dev.jgpt.io.GgufFile.open(back, a), 0).ropeTheta()).isEqualTo(500000.0);
        }
    }

    private static String[] cat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
