package dev.jgpt.train;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.data.ShardWriter;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.llama.ReferenceLlama;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.jgpt.train.TrainFaultsTest.jgpt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code jgpt train --arch llama} end to end through the command line: trains a tiny GQA Llama, resumes
 * bit-exactly, exports llama2.c, and the export decodes (ReferenceLlama) like the trained model.
 */
class TrainLlamaTest {
    @TempDir
    Path dir;
    Path data;
    int vocab;

    @BeforeEach
    void setUp() throws Exception {
        String text = "Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse. ".repeat(30);
        BpeTokenizer tok = new BpeTrainer(300).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS).trainOnTexts(List.of(text));
        vocab = tok.vocabSize();
        data = Files.createDirectories(dir.resolve("shards"));
        tok.saveTokenizerJson(data.resolve("tokenizer.json"));
        try (ShardWriter w = new ShardWriter(data.resolve("train_000000.bin"), tok.vocabSize())) {
            w.write(tok.encodeOrdinary(text));
            w.commit();
        }
        try (ShardWriter w = new ShardWriter(data.resolve("val_000000.bin"), tok.vocabSize())) {
            w.write(tok.encodeOrdinary(text.substring(0, 400)));
            w.commit();
        }
    }

    private String[] train(Path run, int steps, String... extra) {
        return trainKv(run, steps, "1", extra);
    }

    private String[] trainKv(Path run, int steps, String kvHeads, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", run.toString(),
                "--arch", "llama", "--device", "reference", "--threads", "1", "--n-layer", "2", "--n-head", "2",
                "--kv-heads", kvHeads, "--n-embd", "16", "--hidden-dim", "24", "--shared-classifier", "false",
                "--context", "16", "--batch-size", "2", "--max-steps", Integer.toString(steps), "--checkpoint-every", "3",
                "--samples", "0", "--eval-batches", "2", "--eval-every", "0", "--warmup-steps", "0",
                "--min-lr-ratio", "1", "--lr", "0.003", "--log-every", "1"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void trainsResumesBitExactlyAndExportsLlama2c() throws Exception {
        Path straight = dir.resolve("straight"), split = dir.resolve("split");
        var a = jgpt(train(straight, 6));
        assertThat(a.code()).as(a.err()).isZero();
        var b1 = jgpt(train(split, 3));
        assertThat(b1.code()).as(b1.err()).isZero();
        var b2 = jgpt("train", "--resume", split.toString(), "--max-steps", "6");
        assertThat(b2.code()).as(b2.err()).isZero();
        assertThat(b2.err()).contains("resuming from");

        List<Float> la = TrainerResumeTest.losses(straight.resolve("metrics.jsonl"));
        List<Float> lb = TrainerResumeTest.losses(split.resolve("metrics.jsonl"));
        assertThat(la).hasSize(6);
        assertThat(lb).hasSize(6);
        for (int i = 0; i < 6; i++) {
            assertThat(Float.floatToRawIntBits(lb.get(i))).as("loss at step %d", i + 1)
                    .isEqualTo(Float.floatToRawIntBits(la.get(i)));
        }
        assertThat(la.get(5)).isLessThan(la.get(0));
        Path ckpt = Checkpoints.latest(split).orElseThrow();
        assertThat(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS)).isRegularFile();
        assertThat(ckpt.resolve(Checkpoints.OPTIMIZER)).isRegularFile();
        assertThat(Files.readAllBytes(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS)))
                .isEqualTo(Files.readAllBytes(Checkpoints.latest(straight).orElseThrow().resolve(Checkpoints.LLAMA_WEIGHTS)));

        Path out = dir.resolve("export/model.bin");
        Files.createDirectories(out.getParent());
        var e = jgpt("export", "--model", split.toString(), "--format", "llama2c", "-o", out.toString());
        assertThat(e.code()).as(e.err()).isZero();
        Path fromCkpt = dir.resolve("export/ckpt.bin");
        var e2 = jgpt("export", "--model", ckpt.toString(), "--format", "llama2c", "-o", fromCkpt.toString());
        assertThat(e2.code()).as(e2.err()).isZero();
        assertThat(Files.readAllBytes(fromCkpt)).isEqualTo(Files.readAllBytes(out));
        assertThat(out.resolveSibling("tokenizer.bin")).isRegularFile();
        var bad = jgpt("export", "--model", split.toString(), "--format", "safetensors", "-o", dir.resolve("x").toString());
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("Llama model").contains("llama2c or gguf");
        // GGUF for llama.cpp's llama architecture (bench/llamacpp-check.sh runs it in llama.cpp)
        Path gguf = dir.resolve("export/model.gguf");
        var gg = jgpt("export", "--model", split.toString(), "--format", "gguf", "-o", gguf.toString());
        assertThat(gg.code()).as(gg.err()).isZero();
        String head = new String(Files.readAllBytes(gguf), 0, 4096, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(head).startsWith("GGUF").contains("general.architecture").contains("llama.attention.head_count_kv")
                .contains("llama.rope.freq_base");

        if (dev.jgpt.backend.cpu.CpuBackend.unavailableReason() == null) { // libjgpt built: the run decodes natively
            var g = jgpt("generate", "--model", split.toString(), "--prompt", "Call me", "--max-tokens", "4",
                    "--temperature", "0");
            assertThat(g.code()).as(g.err()).isZero();
        }

        // the trained model (loaded from its checkpoint) and ReferenceLlama on the export give the same logits
        int[] seq = {5, 17, 42, 7, 99, 3, 11, 64};
        int T = seq.length;
        try (Arena arena = Arena.ofConfined(); TensorArena host = TensorArena.host();
             ReferenceBackend be = new ReferenceBackend()) {
            LlamaWeights w = Llama2cCheckpoint.open(out, arena);
            assertThat(w.config().kvHeads()).isEqualTo(1);
            assertThat(w.config().sharedClassifier()).isFalse();
            assertThat(w.config().vocabSize()).isEqualTo(vocab);
            try (LlamaTrainModel m = new LlamaTrainModel(be, w.config(), 1, 16)) {
                Checkpoints.loadLlama(ckpt, m, true);
                assertThat(m.optimizerStep()).isEqualTo(6);
                int[] targets = new int[T];
                java.util.Arrays.fill(targets, -1);
                m.forward(seq, targets, 1, T);
                Tensor logits = host.allocate(DType.F32, (long) T * vocab);
                m.logits(logits);
                // the export renumbers the vocabulary to run.c's conventions (Llama2cExport): map the ids
                int[] order = dev.jgpt.llama.Llama2cExport.vocabularyOrder(BpeTokenizer.load(ckpt.resolve(Checkpoints.TOKENIZER)));
                int[] exported = dev.jgpt.llama.Llama2cExport.toExported(seq, order);
                ReferenceLlama ref = new ReferenceLlama(w);
                for (int t = 0; t < T; t++) {
                    ref.step(exported[t]);
                    float[] r = ref.lastLogits();
                    for (int v = 0; v < vocab; v++) {
                        float x = logits.data().getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * vocab + order[v]);
                        assertThat((double) x).as("logit %d at position %d", v, t)
                                .isCloseTo(r[v], org.assertj.core.data.Offset.offset(1e-4 * (1 + Math.abs(r[v]))));
                    }
                }
            }
        }
    }

    @Test
    void llamaKeysAreValidatedAndGpt2RunsDoNotExportLlama2c() {
        var r = jgpt(trainKv(dir.resolve("bad"), 3, "3"));
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("'kv_heads' (3) must divide 'n_head' (2)");
        var g = jgpt("train", "--data", data.toString(), "--out", dir.resolve("g").toString(), "--kv-heads", "1");
        assertThat(g.code()).isNotZero();
        assertThat(g.err()).contains("'kv_heads' applies to 'arch: llama' only");
        var a = jgpt("train", "--data", data.toString(), "--out", dir.resolve("a").toString(), "--arch", "mamba");
        assertThat(a.code()).isNotZero();
        assertThat(a.err()).contains("'arch' must be gpt2 or llama");

        var gpt = jgpt("train", "--data", data.toString(), "--out", dir.resolve("gpt").toString(), "--device", "reference",
                "--threads", "1", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--context", "16",
                "--batch-size", "2", "--max-steps", "1", "--samples", "0", "--eval-batches", "1", "--warmup-steps", "0");
        assertThat(gpt.code()).as(gpt.err()).isZero();
        var e = jgpt("export", "--model", dir.resolve("gpt").toString(), "--format", "llama2c", "-o", dir.resolve("g.bin").toString());
        assertThat(e.code()).isNotZero();
        assertThat(e.err()).contains("GPT-2 model");
    }
}
