package dev.jgpt.train;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.io.Safetensors;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.llama.LoraAdapters;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.testing.TinyRuns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.jgpt.train.TrainFaultsTest.jgpt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * {@code jgpt train --init MODEL --sft chats.jsonl --lora-rank 8}: LoRA fine-tuning of an imported Llama model. The
 * weights stay frozen, the adapters learn the taught reply, each checkpoint holds the merged model (so chat, serve and
 * export need nothing new) and the adapters in Hugging Face PEFT's files, and a resumed run reloads the frozen weights
 * from init and continues bit for bit. Tiny random llama2.c model over a byte-level vocabulary; reference backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LoraFineTuneTest {
    Path dir, bin, chats, run;
    LlamaConfig config;
    String trainErr;

    @BeforeAll
    void loraFineTuneALlama2cCheckpoint(@TempDir Path tmp) throws Exception {
        dir = tmp;
        config = TinyRuns.TINY_LLAMA2C;
        bin = TinyRuns.tinyLlama2c(dir);
        chats = TinyRuns.repeatedChat(dir.resolve("chats.jsonl"), "who are you", "ishmael", 20);
        run = dir.resolve("run");
        var r = jgpt(sft(bin, run, "--sft-max-steps", "60", "--checkpoint-every", "30"));
        assertThat(r.code()).as(r.err()).isZero();
        trainErr = r.err();
    }

    private String[] sft(Path init, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--init", init.toString(), "--sft", chats.toString(), "--out", out.toString(),
                "--lora-rank", "8", "--chat-format", "zephyr", "--sft-lr", "0.01",
                "--device", "reference", "--threads", "1", "--sft-batch-size", "4", "--sft-warmup-steps", "0",
                "--min-lr-ratio", "1", "--eval-every", "0", "--log-every", "10", "--samples", "1"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static byte[] bytes(Path p) throws Exception {
        return Files.readAllBytes(p);
    }

    @Test
    void adaptersLearnTheReplyWhileTheWeightsStayFrozen() throws Exception {
        long adapters = 2L * 8 * (4 * 32 + 2 * 16 + 2 * 32 + 3 * (32 + 64)); // layers x rank x (in + out) summed
        assertThat(trainErr).contains("sft: weights from " + bin + ", frozen; LoRA rank 8, alpha 16 on "
                        + "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj (" + String.format("%,d", adapters) + " trainable)")
                .contains(String.format("%,d parameters", adapters))
                .contains("  sample 1: <|user|>\\nwho are you"); // from the training forward (TrainModelLm): adapters applied
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            var n = dev.jgpt.io.Json.MAPPER.readTree(line);
            if (n.has("loss") && !n.path("kind").asString("").equals("eval")) losses.add(n.get("loss").asDouble());
        }
        assertThat(losses.getLast()).as(losses.toString()).isLessThan(losses.getFirst() / 4);

        Path ckpt = ModelDirs.resolve(run);
        assertThat(ckpt.resolve(LoraAdapters.WEIGHTS)).exists();
        var peft = dev.jgpt.io.Json.MAPPER.readTree(Files.readString(ckpt.resolve(LoraAdapters.CONFIG)));
        assertThat(peft.path("base_model_name_or_path").asString()).isEqualTo(bin.toString());
        try (Safetensors.Reader rd = Safetensors.open(ckpt.resolve(LoraAdapters.WEIGHTS))) {
            assertThat(rd.entries()).hasSize(2 * 7 * 2);
        }
        try (Arena arena = Arena.ofConfined()) {
            LlamaWeights before = Llama2cCheckpoint.open(bin, arena), after = Llama2cCheckpoint.open(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS), arena);
            assertThat(after.tokenEmbedding().mismatch(before.tokenEmbedding())).as("frozen embedding").isEqualTo(-1);
            assertThat(after.rmsAtt().mismatch(before.rmsAtt())).as("frozen RMSNorm").isEqualTo(-1);
            assertThat(after.wq().mismatch(before.wq())).as("wq + scale B A, merged").isNotEqualTo(-1);
            assertThat(after.w2().mismatch(before.w2())).as("w2 merged").isNotEqualTo(-1);
        }
        // the merged checkpoint chats in the taught format
        assumeThat(NativeLibraries.status().available()).isTrue();
        var g = jgpt("generate", "--model", run.toString(), "--chat", "--prompt", "who are you", "--temperature", "0",
                "--max-tokens", "12", "--threads", "1");
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out().strip()).isEqualTo("ishmael");
    }

    /** Resumed from its step-30 checkpoint, the run reaches step 60 with the same merged weights and adapters, bit for bit. */
    @Test
    void aResumedRunContinuesBitForBit() throws Exception {
        Path again = dir.resolve("resumed");
        var r = jgpt(sft(bin, again, "--sft-max-steps", "60", "--checkpoint-every", "30"));
        assertThat(r.code()).as(r.err()).isZero();
        // drop the last checkpoint and continue from step 30
        Path last = Checkpoints.dirFor(again, 60);
        dev.jgpt.io.AtomicFiles.deleteTree(last);
        var resumed = jgpt("train", "--resume", again.toString());
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("sft: resuming from " + Checkpoints.dirFor(again, 30)).contains("(frozen weights from " + bin + ")");
        Path a = Checkpoints.dirFor(run, 60), b = Checkpoints.dirFor(again, 60);
        assertThat(bytes(b.resolve(Checkpoints.LLAMA_WEIGHTS))).isEqualTo(bytes(a.resolve(Checkpoints.LLAMA_WEIGHTS)));
        assertThat(bytes(b.resolve(LoraAdapters.WEIGHTS))).isEqualTo(bytes(a.resolve(LoraAdapters.WEIGHTS)));
        assertThat(bytes(b.resolve(Checkpoints.OPTIMIZER))).isEqualTo(bytes(a.resolve(Checkpoints.OPTIMIZER)));
    }

    /** A run whose init file no longer holds the model it started from is refused on resume, not silently mixed. */
    @Test
    void resumingOverAChangedInitIsRefused() throws Exception {
        Path init = dir.resolve("changing.bin");
        Files.copy(bin, init);
        Path out = dir.resolve("changed");
        var r = jgpt(sft(init, out, "--sft-max-steps", "2", "--checkpoint-every", "1"));
        assertThat(r.code()).as(r.err()).isZero();
        RandomLlama.writeCheckpoint(init, config, 8);
        dev.jgpt.io.AtomicFiles.deleteTree(Checkpoints.dirFor(out, 2));
        var resumed = jgpt("train", "--resume", out.toString());
        assertThat(resumed.code()).isNotZero();
        assertThat(resumed.err()).contains("its frozen weights are not those of init " + init).doesNotContain("Exception");
    }

    @Test
    void loraSettingsAreCheckedBeforeTraining() {
        var targets = jgpt(sft(bin, dir.resolve("t"), "--lora-targets", "q_proj,w_proj"));
        assertThat(targets.code()).isNotZero();
        assertThat(targets.err()).contains("'lora_targets': LoRA target 'w_proj' is not one of q_proj,k_proj,v_proj,o_proj,"
                + "gate_proj,up_proj,down_proj (or 'all')");
        var alpha = jgpt(sft(bin, dir.resolve("a"), "--lora-alpha", "0"));
        assertThat(alpha.code()).isNotZero();
        assertThat(alpha.err()).contains("'lora_alpha' must be > 0");
        var noInit = jgpt("train", "--sft", chats.toString(), "--data", dir.toString(), "--lora-rank", "4", "--out",
                dir.resolve("d").toString());
        assertThat(noInit.code()).isNotZero();
        assertThat(noInit.err()).contains("'lora_rank' trains adapters of an existing model: it needs 'init'");
    }

    /**
     * {@code --lora DIR}: the base model with a checkpoint's PEFT adapters merged as it loads decodes exactly as the
     * checkpoint's merged model.bin (the same merge arithmetic, B's q/k rows through Hugging Face's order and back).
     */
    @Test
    void adaptersMergeAtLoadTimeAsTheCheckpointHoldsThem() throws Exception {
        assumeThat(NativeLibraries.status().available()).isTrue();
        Path ckpt = ModelDirs.resolve(run);
        int[] prompt = {1, 270, 280, 265, 259, 282};
        for (dev.jgpt.llama.DecodeDType dt : new dev.jgpt.llama.DecodeDType[] {dev.jgpt.llama.DecodeDType.F32, dev.jgpt.llama.DecodeDType.Q8}) {
            try (var merged = dev.jgpt.llama.LlamaModels.openLlama2c(ckpt.resolve(Checkpoints.LLAMA_WEIGHTS), dt, 32, 1);
                 var adapted = dev.jgpt.llama.LlamaModels.openLlama2c(bin, dt, 32, 1, ckpt);
                 var base = dev.jgpt.llama.LlamaModels.openLlama2c(bin, dt, 32, 1)) {
                float[] m = merged.prefill(prompt).toFloatArray(), a = adapted.prefill(prompt).toFloatArray();
                assertThat(a).as(dt.toString()).containsExactly(m);
                assertThat(base.prefill(prompt).toFloatArray()).as("the adapters change the model").isNotEqualTo(m);
            }
        }
        // the server's loader too (jgpt serve --model BASE --lora DIR)
        var served = dev.jgpt.serve.ModelSource.standard("cpu", 1, null, 32, ckpt).open(bin);
        var mergedRun = dev.jgpt.serve.ModelSource.standard("cpu", 1, null, 32).open(run);
        try (var a = served.model(); var m = mergedRun.model()) {
            assertThat(a.model().prefill(prompt).toFloatArray()).containsExactly(m.model().prefill(prompt).toFloatArray());
        }
        var g = jgpt("generate", "--model", bin.toString(), "--lora", ckpt.toString(), "--chat", "--chat-format", "zephyr",
                "--prompt", "who are you", "--temperature", "0", "--max-tokens", "12", "--threads", "1");
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out().strip()).isEqualTo("ishmael");
        // adapters of another model: one error naming the tensor and both shapes
        Path other = dir.resolve("other.bin");
        dev.jgpt.llama.RandomLlama.writeCheckpoint(other, dev.jgpt.llama.LlamaConfig.llama2c(64, 96, 2, 2, 1, 285, 64, false), 3);
        java.nio.file.Files.copy(dir.resolve("tokenizer.bin"), dir.resolve("other-tok.bin"));
        var bad = jgpt("generate", "--model", other.toString(), "--tokenizer", dir.resolve("other-tok.bin").toString(),
                "--lora", ckpt.toString(), "--prompt", "who", "--max-tokens", "2", "--threads", "1");
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has shape [8, 32], "
                + "expected [8, 64] (adapters of another model, or of another rank)").doesNotContain("\tat ");
    }

    /**
     * A quantized GGUF init on the cpu backend keeps its matrices in the file's blocks (QLoRA's idea): the log says so,
     * the memory line counts them mapped, the run resumes bit for bit from the file, its merged checkpoint decodes.
     */
    @Test
    void aQuantizedGgufTrainsAdaptersOverItsOwnBlocks() throws Exception {
        assumeThat(NativeLibraries.status().available()).isTrue();
        Path gguf = dir.resolve("q.gguf");
        dev.jgpt.llama.GgufInPlaceTest.write(gguf, dev.jgpt.llama.GgufInPlaceTest.C, 4, false);
        Path out = dir.resolve("qlora"), again = dir.resolve("qlora-resumed");
        String[] args = {"train", "--init", gguf.toString(), "--sft", chats.toString(), "--lora-rank", "4", "--chat-format",
                "zephyr", "--sft-lr", "0.01", "--device", "cpu", "--threads", "2", "--sft-batch-size", "2", "--sft-warmup-steps",
                "0", "--min-lr-ratio", "1", "--eval-every", "0", "--log-every", "2", "--samples", "0", "--sft-max-steps", "4",
                "--checkpoint-every", "2", "--out", null};
        args[args.length - 1] = out.toString();
        var r = jgpt(args);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).containsPattern("matrices frozen in the GGUF file's [A-Z0-9_, ]+ blocks, [0-9.]+ MB")
                .contains("weightsMapped");
        args[args.length - 1] = again.toString();
        assertThat(jgpt(args).code()).isZero();
        dev.jgpt.io.AtomicFiles.deleteTree(Checkpoints.dirFor(again, 4));
        var resumed = jgpt("train", "--resume", again.toString());
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(Files.readAllBytes(Checkpoints.dirFor(again, 4).resolve(LoraAdapters.WEIGHTS)))
                .isEqualTo(Files.readAllBytes(Checkpoints.dirFor(out, 4).resolve(LoraAdapters.WEIGHTS)));
        var g = jgpt("generate", "--model", out.toString(), "--prompt", "who", "--max-tokens", "3", "--threads", "1");
        assertThat(g.code()).as(g.err()).isZero();
        var f32 = jgpt("train", "--init", gguf.toString(), "--sft", chats.toString(), "--lora-rank", "4", "--chat-format", "zephyr",
                "--device", "cpu", "--sft-max-steps", "1", "--samples", "0", "--lora-base", "f32", "--out", dir.resolve("qf32").toString());
        assertThat(f32.code()).as(f32.err()).isZero();
        assertThat(f32.err()).contains("(weights frozen)").doesNotContain("GGUF file's");
    }
}
