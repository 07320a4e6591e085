package dev.jgpt.train;

import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.data.ShardWriter;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.io.Json;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.Llama2cExport;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.llama.ReferenceLlama;
import dev.jgpt.memory.Tensor;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static dev.jgpt.train.TrainFaultsTest.jgpt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A Llama run is first-class, through the command line like a GPT-2 run: {@code jgpt eval}, samples
 * during training, {@code --init} + chat fine-tuning, {@code generate}/{@code chat} with
 * {@code --dtype}/{@code --threads} on libjgpt's decoder, and {@code export --format llama2c} with a
 * {@code tokenizer.bin} that decodes like the run. One tiny run (reference backend) is trained once
 * for the class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaRunsTest {
    Path dir;
    Path data, run;
    BpeTokenizer tok;
    String trainErr;

    @BeforeAll
    void trainOneLlamaRun(@TempDir Path tmp) throws Exception {
        dir = tmp;
        String text = "Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse. ".repeat(30);
        tok = new BpeTrainer(300).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS).trainOnTexts(List.of(text));
        data = Files.createDirectories(dir.resolve("shards"));
        tok.saveTokenizerJson(data.resolve("tokenizer.json"));
        int eot = tok.specialTokenId("<|endoftext|>").getAsInt();
        try (ShardWriter w = new ShardWriter(data.resolve("train_000000.bin"), tok.vocabSize())) {
            w.write(new int[] {eot});
            w.write(tok.encodeOrdinary(text));
            w.commit();
        }
        try (ShardWriter w = new ShardWriter(data.resolve("val_000000.bin"), tok.vocabSize())) {
            w.write(new int[] {eot});
            w.write(tok.encodeOrdinary(text.substring(0, 400)));
            w.commit();
        }
        run = dir.resolve("llama");
        var r = jgpt(llamaTrain(run, "--max-steps", "30", "--samples", "2", "--sample-tokens", "6"));
        assertThat(r.code()).as(r.err()).isZero();
        trainErr = r.err();
    }

    /** dim 32 and hidden 64: multiples of 32, so q8 (groups of 32) applies. */
    private String[] llamaTrain(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(),
                "--arch", "llama", "--device", "reference", "--threads", "1", "--n-layer", "2", "--n-head", "2",
                "--kv-heads", "1", "--n-embd", "32", "--hidden-dim", "64", "--context", "32", "--seq-len", "16",
                "--batch-size", "2", "--eval-batches", "2", "--eval-every", "0", "--checkpoint-every", "0",
                "--warmup-steps", "0", "--min-lr-ratio", "1", "--lr", "0.01", "--log-every", "10"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private Path chats() throws Exception {
        Path chat = dir.resolve("chat.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            sb.append("{\"messages\":[{\"role\":\"user\",\"content\":\"Call me?\"},{\"role\":\"assistant\",\"content\":\"Ishmael.\"}]}\n");
        }
        Files.writeString(chat, sb);
        return chat;
    }

    private static int[] greedyIds(CausalLm lm, int n) {
        int[] out = new int[n];
        Tensor l = lm.prefill(new int[] {0, 1, 2});
        for (int i = 0; i < n; i++) {
            float[] f = l.toFloatArray();
            int best = 0;
            for (int v = 1; v < f.length; v++) if (f[v] > f[best]) best = v;
            out[i] = best;
            l = lm.step(best);
        }
        return out;
    }

    private static boolean nativeBuilt() {
        return CpuBackend.unavailableReason() == null;
    }

    // ---------------------------------------------------------------- samples

    @Test
    void llamaTrainingPrintsAndLogsSamplesLikeGpt2() {
        assertThat(trainErr).contains("  sample 1: ").contains("  sample 2: ");
        List<JsonNode> evals = Metrics.read(run.resolve("metrics.jsonl")).stream()
                .filter(n -> n.path("kind").asString().equals("eval")).toList();
        assertThat(evals).isNotEmpty();
        assertThat(evals.getLast().path("samples").size()).isEqualTo(2);
    }

    @Test
    void theSamplerDecodesTheLiveTrainingWeights() {
        LlamaConfig c = LlamaConfig.llama2c(16, 32, 2, 2, 1, 40, 16, false);
        try (ReferenceBackend be = new ReferenceBackend(); LlamaTrainModel m = new LlamaTrainModel(be, c, 1, 8)) {
            m.initWeights(1);
            try (CausalLm sampler = Trainer.samplerFor(m)) {
                int[] prompt = {3, 17, 5};
                assertSameLogits(sampler, new ReferenceLlama(m.weights()), prompt);
                m.initWeights(2); // a training step changes the weights in place: the sampler must see them
                assertSameLogits(sampler, new ReferenceLlama(m.weights()), prompt);
            }
        }
    }

    private static void assertSameLogits(CausalLm a, ReferenceLlama b, int[] prompt) {
        a.reset();
        Tensor la = a.prefill(prompt);
        Tensor lb = b.prefill(prompt);
        for (int v = 0; v < a.vocabSize(); v++) {
            float y = lb.data().getAtIndex(ValueLayout.JAVA_FLOAT, v);
            assertThat(la.data().getAtIndex(ValueLayout.JAVA_FLOAT, v)).isCloseTo(y, within(1e-4f * (1 + Math.abs(y))));
        }
    }

    // ---------------------------------------------------------------- eval

    @Test
    void evalTakesALlamaRunWithTheSameOutputAsGpt2() throws Exception {
        var r = jgpt("eval", "--model", run.toString(), "--data", data.toString(), "--batch", "2", "--seq", "16",
                "--batches", "2", "--device", "reference", "--threads", "1", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertThat(o.path("arch").asString()).isEqualTo("llama");
        // the same windows as training's final evaluation (file order, B 2, T 16, 2 batches), the same weights
        JsonNode lastEval = Metrics.read(run.resolve("metrics.jsonl")).stream()
                .filter(n -> n.path("kind").asString().equals("eval")).toList().getLast();
        assertThat(o.path("loss").asDouble()).isEqualTo(lastEval.path("val_loss").asDouble());
        assertThat(o.path("bits_per_byte").asDouble()).isEqualTo(lastEval.path("val_bpb").asDouble());

        Path gpt = dir.resolve("gpt2-eval");
        var g = jgpt("train", "--data", data.toString(), "--out", gpt.toString(), "--device", "reference", "--threads", "1",
                "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--context", "16", "--batch-size", "2", "--max-steps", "1",
                "--samples", "0", "--eval-batches", "1", "--warmup-steps", "0");
        assertThat(g.code()).as(g.err()).isZero();
        var ge = jgpt("eval", "--model", gpt.toString(), "--data", data.toString(), "--batch", "2", "--batches", "1",
                "--device", "reference", "--threads", "1", "--json");
        assertThat(ge.code()).as(ge.err()).isZero();
        assertThat(fieldNames(Json.MAPPER.readTree(ge.out()))).isEqualTo(fieldNames(o));

        var text = jgpt("eval", "--model", run.toString(), "--data", data.toString(), "--batch", "2", "--batches", "1",
                "--device", "reference", "--threads", "1");
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out()).startsWith("loss ").contains("bits/byte");
        var tooLong = jgpt("eval", "--model", run.toString(), "--data", data.toString(), "--seq", "64", "--device", "reference");
        assertThat(tooLong.code()).isNotZero();
        assertThat(tooLong.err()).contains("--seq 64 must be in [1, 32]");
    }

    private static List<String> fieldNames(JsonNode o) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = o.propertyNames().iterator(); it.hasNext(); ) names.add(it.next());
        return names;
    }

    // ---------------------------------------------------------------- fine-tuning

    @Test
    void initFromALlamaRunFineTunesOnChats() throws Exception {
        Path sft = dir.resolve("sft-only");
        var r = jgpt("train", "--init", run.toString(), "--sft", chats().toString(), "--out", sft.toString(),
                "--device", "reference", "--threads", "1", "--sft-max-steps", "1", "--sft-lr", "1e-9", "--sft-batch-size", "2",
                "--seq-len", "16", "--samples", "1", "--sample-tokens", "4", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"sft\"");
        assertThat(r.err()).contains("sft: weights from").contains("  sample 1: <|user|>Call me?<|end|><|assistant|>");
        Path ckpt = ModelDirs.resolve(sft);
        assertThat(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS)).isRegularFile();
        Path init = Checkpoints.latest(run).orElseThrow();
        assertThat(Checkpoints.llamaConfig(ckpt)).isEqualTo(Checkpoints.llamaConfig(init));
        // one step at lr 1e-9 leaves the init's weights (a fresh init would differ by ~0.02)
        try (Arena arena = Arena.ofConfined()) {
            LlamaWeights a = Llama2cCheckpoint.open(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS), arena);
            LlamaWeights b = Llama2cCheckpoint.open(init.resolve(Checkpoints.LLAMA_WEIGHTS), arena);
            long n = a.wq().byteSize() / 4;
            for (long i = 0; i < n; i++) {
                assertThat(a.wq().getAtIndex(ValueLayout.JAVA_FLOAT, i))
                        .isCloseTo(b.wq().getAtIndex(ValueLayout.JAVA_FLOAT, i), within(1e-6f));
            }
        }
    }

    @Test
    void oneLlamaConfigPretrainsThenFineTunesAndResumes() throws Exception {
        Path two = dir.resolve("two-phase");
        var r = jgpt(llamaTrain(two, "--max-steps", "2", "--samples", "0", "--sft", chats().toString(), "--sft-max-steps", "2",
                "--sft-batch-size", "2", "--json"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"pretrain\"").contains("\"sft\"");
        assertThat(ModelDirs.resolve(two).toString()).contains("sft"); // the run's final model is the chat model
        assertThat(Architecture.of(ModelDirs.resolve(two)).name()).isEqualTo("llama");
        var again = jgpt("train", "--resume", two.toString(), "--json");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("pretrain: already complete").contains("sft: already complete");
        if (nativeBuilt()) {
            var g = jgpt("generate", "--model", two.toString(), "--chat", "--prompt", "Call me?", "--max-tokens", "4",
                    "--temperature", "0", "--threads", "1");
            assertThat(g.code()).as(g.err()).isZero();
        }
    }

    @Test
    void aLlamaArchWithAGpt2InitIsOneClearError() throws Exception {
        Path gpt = dir.resolve("gpt2-init");
        var g = jgpt("train", "--data", data.toString(), "--out", gpt.toString(), "--device", "reference", "--threads", "1",
                "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--context", "16", "--batch-size", "2", "--max-steps", "1",
                "--samples", "0", "--eval-batches", "1", "--warmup-steps", "0");
        assertThat(g.code()).as(g.err()).isZero();
        var r = jgpt("train", "--arch", "llama", "--init", gpt.toString(), "--sft", chats().toString(), "--out",
                dir.resolve("bad-sft").toString(), "--device", "reference");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("'arch: llama' but 'init'").contains("is a GPT-2 model");
        // GPT-2 runs decode in bf16/q8 too (natively, on the cpu backend); a bad dtype is one clear error
        if (nativeBuilt()) {
            var d = jgpt("generate", "--model", gpt.toString(), "--dtype", "bf16", "--max-tokens", "2", "--threads", "1");
            // (on a GPU machine "auto" is cuda, where bf16/q8 GPT-2 decoding is refused with one message)
            if (d.code() != 0) assertThat(d.err()).contains("on the cpu backend only");
            // the native decoder (cpu) and the Backend ops (reference) give the same greedy tokens
            try (LoadedModel nat = LoadedModels.open(gpt, "cpu", 1); LoadedModel ops = LoadedModels.open(gpt, "reference", 1)) {
                assertThat(nat.model()).isInstanceOf(dev.jgpt.model.Gpt2Decoder.class);
                assertThat(greedyIds(nat.model(), 8)).containsExactly(greedyIds(ops.model(), 8));
            }
        }
        var bad = jgpt("generate", "--model", gpt.toString(), "--dtype", "fp8", "--max-tokens", "2");
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("--dtype: 'fp8' is not one of f32, bf16, q8");
    }

    // ---------------------------------------------------------------- generate and chat

    @Test
    void generateOnALlamaRunHonoursDtypeAndThreads() throws Exception {
        Assumptions.assumeTrue(nativeBuilt(), "libjgpt not built (-DskipNative)");
        String prompt = "Call me";
        String f32 = generate("--dtype", "f32", "--threads", "1", "--prompt", prompt).path("text").asString();
        assertThat(generate("--dtype", "f32", "--threads", "2", "--prompt", prompt).path("text").asString()).isEqualTo(f32);

        // the oracle: ReferenceLlama (plain Java) on the checkpoint, greedy from the run tokenizer's prompt ids
        Path ckpt = Checkpoints.latest(run).orElseThrow();
        int[] ids = tok.encode(prompt);
        List<Integer> greedy = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            ReferenceLlama ref = new ReferenceLlama(Llama2cCheckpoint.open(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS), arena));
            Tensor logits = ref.prefill(ids);
            for (int i = 0; i < 8; i++) {
                int next = argmax(logits);
                greedy.add(next);
                logits = ref.step(next);
            }
        }
        byte[] refBytes = tok.decodeBytes(greedy.stream().mapToInt(Integer::intValue).toArray());
        assertThat(f32).isEqualTo(textUpToEnd(refBytes));
        // and the generic loader (the serve path) decodes the same
        try (LoadedModel m = LoadedModels.open(run, "auto", 1)) {
            var res = new dev.jgpt.generate.Generator().generate(m.model(), m.tokenizer(), ids,
                    dev.jgpt.generate.GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(8),
                    dev.jgpt.generate.TokenListener.NONE);
            assertThat(res.text()).isEqualTo(f32);
        }

        // and the server's source opens it too
        var opened = dev.jgpt.serve.ModelSource.gpt2("auto", 1).open(run);
        try (LoadedModel m = opened.model()) {
            var res = new dev.jgpt.generate.Generator().generate(m.model(), m.tokenizer(), ids,
                    dev.jgpt.generate.GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(8),
                    dev.jgpt.generate.TokenListener.NONE);
            assertThat(res.text()).isEqualTo(f32);
        }
        assertThat(f32).isNotEmpty();

        for (String dt : List.of("bf16", "q8")) {
            JsonNode o = generate("--dtype", dt, "--threads", "1", "--prompt", prompt);
            assertThat(o.path("model").asString()).endsWith("(" + dt + ")");
            assertThat(o.path("generated_tokens").asInt() + o.path("finish_reason").asString().length()).isPositive();
        }
        var bad = jgpt("generate", "--model", run.toString(), "--dtype", "f16");
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("f16");
    }

    @Test
    void chatOnALlamaRunDecodesInQ8() {
        Assumptions.assumeTrue(nativeBuilt(), "libjgpt not built (-DskipNative)");
        InputStream in = System.in;
        try {
            System.setIn(new ByteArrayInputStream("Call me?\n".getBytes(StandardCharsets.UTF_8)));
            var r = jgpt("chat", "--model", run.toString(), "--dtype", "q8", "--threads", "1", "--plain", "--temperature", "0",
                    "--max-tokens", "6", "--history", "none");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out().lines().count()).isEqualTo(1); // one answer line per question line
        } finally {
            System.setIn(in);
        }
    }

    private JsonNode generate(String... extra) throws Exception {
        List<String> a = new ArrayList<>(List.of("generate", "--model", run.toString(), "--temperature", "0", "--max-tokens", "8",
                "--json"));
        a.addAll(List.of(extra));
        var r = jgpt(a.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        return Json.MAPPER.readTree(r.out());
    }

    /** The text a generation shows: cut before an end token's bytes (the generator stops there). */
    private String textUpToEnd(byte[] bytes) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        for (String end : List.of("<|endoftext|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>")) {
            int i = s.indexOf(end);
            if (i >= 0) s = s.substring(0, i);
        }
        return s;
    }

    private static int argmax(Tensor logits) {
        int best = 0;
        for (int v = 1; v < logits.numel(); v++) {
            if (logits.data().getAtIndex(ValueLayout.JAVA_FLOAT, v) > logits.data().getAtIndex(ValueLayout.JAVA_FLOAT, best)) best = v;
        }
        return best;
    }

    // ---------------------------------------------------------------- export

    @Test
    void exportWritesATokenizerBinThatDecodesLikeTheRun() throws Exception {
        Path out = dir.resolve("export/model.bin"); // the directory is created
        var e = jgpt("export", "--model", run.toString(), "--format", "llama2c", "-o", out.toString());
        assertThat(e.code()).as(e.err()).isZero();
        Path tb = out.resolveSibling("tokenizer.bin");
        assertThat(tb).isRegularFile();
        Llama2cTokenizer t = Llama2cTokenizer.read(tb, tok.vocabSize());
        int[] order = Llama2cExport.vocabularyOrder(tok);
        for (int i = 3; i < tok.vocabSize(); i++) assertThat(t.tokenBytes(i)).isEqualTo(tok.tokenBytes(order[i]));
        assertThat(t.decode(t.encode("Call me Ishmael, 日本 €!", true, false))).isEqualTo("Call me Ishmael, 日本 €!");
        if (nativeBuilt()) {
            // run.c's way: start from BOS (= <|endoftext|>), greedy; the text equals the run's own from <|endoftext|>
            JsonNode fromRun = generate("--prompt", "", "--threads", "1");
            var x = jgpt("generate", "--model", out.toString(), "--prompt", "", "--temperature", "0", "--max-tokens", "8",
                    "--threads", "1", "--json");
            assertThat(x.code()).as(x.err()).isZero();
            assertThat(fromRun.path("text").asString()).isNotEmpty();
            assertThat(Json.MAPPER.readTree(x.out()).path("text").asString()).isEqualTo(fromRun.path("text").asString());
        }
    }
}
