package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.io.CheckpointDir;
import dev.jgpt.io.Gpt2Files;

import dev.jgpt.chat.ChatSource;
import dev.jgpt.chat.ChatSourceFile;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns a {@code --model} / {@code --init} path into the directory holding {@code model.safetensors}
 * + {@code config.json} (+ {@code tokenizer.json}):
 * <ol>
 *   <li>a model directory itself (a checkpoint, an export, a Hugging Face GPT-2 download);</li>
 *   <li>a training run: its final chat model ({@code sft/}) when it has one, else its newest
 *       checkpoint that passes its checksums;</li>
 *   <li>the demo's output directory: its chat model ({@code chat/}), else its pretrained one.</li>
 * </ol>
 */
public final class ModelDirs {
    private ModelDirs() {}

    public static Path resolve(Path p) {
        return resolve(p, true);
    }

    /**
     * Whether {@code p} resolves to a Llama run's checkpoint ({@code model.bin}); a cheap look before
     * loading (checksums are not verified here: the loader's {@link #resolve} does that).
     */
    public static boolean holdsLlama(Path p) {
        try {
            return Files.isDirectory(p) && Architecture.isLlama(resolve(p, false));
        } catch (JgptException e) {
            return false;
        }
    }

    private static Path resolve(Path p, boolean verify) {
        if (!Files.exists(p)) throw new JgptException("model " + p + ": no such file or directory");
        if (Files.isRegularFile(p) && p.getFileName().toString().endsWith(".safetensors")) p = p.toAbsolutePath().getParent();
        if (Gpt2Files.isModelDir(p)) {
            if (verify && CheckpointDir.isCommitted(p)) CheckpointDir.verify(p);
            return p;
        }
        if (Files.isRegularFile(p.resolve(Checkpoints.LLAMA_WEIGHTS)) && CheckpointDir.isCommitted(p)) {
            if (verify) CheckpointDir.verify(p); // one checkpoint of a Llama run
            return p;
        }
        for (String sub : List.of("chat", "sft", "pretrain")) {
            Path s = p.resolve(sub);
            if (Files.isDirectory(s) && (Gpt2Files.isModelDir(s) || !Checkpoints.list(s).isEmpty()
                    || Files.isDirectory(s.resolve("sft")) || Files.isDirectory(s.resolve("checkpoints")))) {
                try {
                    return resolve(s, verify);
                } catch (JgptException e) {
                    if (!sub.equals("pretrain")) continue;
                    throw e;
                }
            }
        }
        List<Path> ckpts = Checkpoints.list(p);
        if (ckpts.isEmpty()) {
            throw new JgptException("model " + p + ": neither a model directory (model.safetensors + config.json) "
                    + "nor a training run with checkpoints");
        }
        Path latest = ckpts.getLast();
        if (verify) CheckpointDir.verify(latest); // a corrupt newest checkpoint is an error, not a silent fallback
        return latest;
    }

    /**
     * The tokenizer of a model directory (or of the run it belongs to): {@code tokenizer.json} (jgpt's byte-level
     * BPE) or, for a run fine-tuned from an imported model, {@code tokenizer.bin} (its sentencepiece vocabulary in
     * llama2.c's format).
     */
    public static Path tokenizer(Path modelDir) {
        for (Path c = modelDir.toAbsolutePath(); c != null; c = c.getParent()) {
            for (String name : List.of(Checkpoints.TOKENIZER, Checkpoints.SPM_TOKENIZER)) {
                Path t = c.resolve(name);
                if (Files.isRegularFile(t)) return t;
            }
            if (c.getFileName() != null && !c.getFileName().toString().startsWith("step-")
                    && !c.getFileName().toString().equals("checkpoints") && !c.getFileName().toString().equals("sft")
                    && c != modelDir.toAbsolutePath()) {
                break;
            }
        }
        throw new JgptException("model " + modelDir + ": no tokenizer.json beside it");
    }

    /** Reads a run's tokenizer file ({@link #tokenizer}): {@code tokenizer.bin} as llama2.c's, anything else as tokenizer.json. */
    public static Tokenizer loadTokenizer(Path file) {
        return file.getFileName().toString().equals(Checkpoints.SPM_TOKENIZER) ? Llama2cTokenizer.read(file) : BpeTokenizer.load(file);
    }

    /**
     * How the model of a directory chats: the {@code chat_format.json} beside its tokenizer (a run fine-tuned from an
     * imported model), or null (jgpt's own format).
     */
    public static ChatSource chatSource(Path modelDir) {
        Path f = tokenizer(modelDir).resolveSibling(ChatSourceFile.NAME);
        return Files.isRegularFile(f) ? ChatSourceFile.read(f) : null;
    }
}
