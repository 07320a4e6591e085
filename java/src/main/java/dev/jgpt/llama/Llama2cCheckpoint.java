package dev.jgpt.llama;

import dev.jgpt.JgptException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * llama2.c's checkpoint format ({@code stories15M.bin}), the legacy version 0: a header of 7
 * little-endian int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
 * negative vocab_size means the classifier is stored separately), then the float32 weights in
 * llama2.c's order, then (unused) RoPE tables of seq_len * head_size floats, then the classifier
 * when it is not shared.
 *
 * <p>Reading maps the file ({@link FileChannel#map} into the caller's {@link Arena}): the weights are
 * never copied onto the heap, and pages are read on first touch.
 *
 * <p>The format cannot say a RoPE base or RMSNorm epsilon: run.c assumes 10000 and 1e-5. A model with others (a run
 * fine-tuned from an imported Llama 3 / SmolLM2 / Llama 2 with eps 1e-6) is written with a JSON file of the same
 * name beside it ({@code model.bin} -> {@code model.json}: {@code {"format": "jgpt.llama2c", "rope_theta": 500000.0,
 * "norm_eps": 1e-05}}), which {@link #open} reads; a JSON file there without that format is not ours and is ignored.
 */
public final class Llama2cCheckpoint {
    static final int HEADER_BYTES = 7 * 4;

    private Llama2cCheckpoint() {}

    /** Maps {@code file} and returns views of its weights, valid while {@code arena} is open. */
    public static LlamaWeights open(Path file, Arena arena) {
        if (!Files.isRegularFile(file)) throw new JgptException("checkpoint " + file + ": no such file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw new JgptException("checkpoint " + file + ": " + size + " bytes is too short for llama2.c's 28-byte header");
            }
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            LlamaConfig config = readHeader(file, all);
            long expected = fileBytes(config);
            if (size != expected) {
                throw new JgptException("checkpoint " + file + ": " + size + " bytes but a llama2.c checkpoint of dim "
                        + config.dim() + ", hidden_dim " + config.hiddenDim() + ", " + config.layers() + " layers, "
                        + config.heads() + "/" + config.kvHeads() + " heads, vocab " + config.vocabSize() + " ("
                        + (config.sharedClassifier() ? "shared" : "separate") + " classifier), seq_len " + config.seqLen()
                        + " has " + expected + " (not a llama2.c version-0 checkpoint, or truncated)");
            }
            return LlamaWeights.view(withConstants(file, config), all.asSlice(HEADER_BYTES), ropeSkip(config));
        } catch (IOException e) {
            throw new JgptException("checkpoint " + file + ": " + e.getMessage());
        }
    }

    static LlamaConfig readHeader(Path file, MemorySegment all) {
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) h[i] = all.get(ValueLayout.JAVA_INT_UNALIGNED, 4L * i);
        String[] names = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
        for (int i = 0; i < 7; i++) {
            if (i != 5 && (h[i] <= 0 || h[i] > 1 << 20)) {
                throw new JgptException("checkpoint " + file + ": header field " + names[i] + " = " + h[i]
                        + " is not plausible (not a llama2.c version-0 checkpoint?)");
            }
        }
        if (h[5] == 0 || Math.abs((long) h[5]) > 1 << 24) {
            throw new JgptException("checkpoint " + file + ": header field vocab_size = " + h[5] + " is not plausible");
        }
        try {
            return LlamaConfig.llama2c(h[0], h[1], h[2], h[3], h[4], Math.abs(h[5]), h[6], h[5] > 0);
        } catch (JgptException e) {
            throw new JgptException("checkpoint " + file + ": " + e.getMessage());
        }
    }

    /** The JSON file of the same name that carries a RoPE base and RMSNorm epsilon other than llama2.c's. */
    public static Path constantsFile(Path file) {
        String n = file.getFileName().toString();
        return file.resolveSibling((n.endsWith(".bin") ? n.substring(0, n.length() - 4) : n) + ".json");
    }

    private static final String CONSTANTS_FORMAT = "jgpt.llama2c";

    /** {@code c} with the RoPE base and RMSNorm epsilon of {@link #constantsFile} when it is ours. */
    private static LlamaConfig withConstants(Path file, LlamaConfig c) {
        Path f = constantsFile(file);
        if (!Files.isRegularFile(f)) return c;
        tools.jackson.databind.JsonNode n;
        try {
            n = dev.jgpt.io.Json.MAPPER.readTree(Files.readString(f));
        } catch (IOException | tools.jackson.core.JacksonException e) {
            throw new JgptException(f + ": not readable as JSON (" + e.getMessage() + ")");
        }
        if (n == null || !CONSTANTS_FORMAT.equals(n.path("format").asString(""))) return c;
        if (!n.path("rope_theta").isNumber() || !n.path("norm_eps").isNumber()) {
            throw new JgptException(f + ": \"rope_theta\" and \"norm_eps\" must be numbers");
        }
        try {
            return new LlamaConfig(c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.vocabSize(), c.seqLen(),
                    c.sharedClassifier(), n.get("rope_theta").asDouble(), n.get("norm_eps").asDouble());
        } catch (JgptException e) {
            throw new JgptException(f + ": " + e.getMessage());
        }
    }

    /**
     * Whether {@code c}'s RoPE base and RMSNorm epsilon are llama2.c's own (run.c's constants), up to the float32
     * rounding a GGUF file stores them in.
     */
    public static boolean hasLlama2cConstants(LlamaConfig c) {
        return Math.abs(c.ropeTheta() - 10000.0) < 1e-3 && Math.abs(c.normEps() / 1e-5 - 1) < 1e-4;
    }

    static long ropeSkip(LlamaConfig c) {
        return (long) c.seqLen() * c.headSize(); // freq_cis_real + freq_cis_imag, seq_len * head_size / 2 each
    }

    /** The exact size of a checkpoint of this shape. */
    public static long fileBytes(LlamaConfig c) {
        long floats = 0;
        for (long s : LlamaWeights.sizes(c)) floats += s;
        floats += ropeSkip(c);
        if (!c.sharedClassifier()) floats += (long) c.vocabSize() * c.dim();
        return HEADER_BYTES + floats * 4;
    }

    /**
     * Writes {@code w} as a llama2.c checkpoint (the RoPE tables are written as run.c's export does,
     * though run.c ignores them), atomically: a temporary file in the same directory, fsync, rename.
     */
    public static void write(Path file, LlamaWeights w) {
        write(file, w, null);
    }

    /**
     * Changes a copy of one layer's matrix on its way into a file (a LoRA run merges its adapters so), or fills it where
     * the weights have no values for that tensor (an empty segment: matrices kept in a GGUF file's blocks).
     */
    public interface MatrixEdit {
        /** {@code fileIndex}: the tensor's place in llama2.c's order (2 wq ... 9 w3); {@code matrix}: the copy, (out, in). */
        void apply(int fileIndex, int layer, MemorySegment matrix);
    }

    /**
     * {@link #write(Path, LlamaWeights)} with every layer's matrix (wq, wk, wv, wo, w1, w2, w3) passed through
     * {@code edit} on a copy first (null: written as they are). One layer's matrix is copied at a time.
     */
    public static void write(Path file, LlamaWeights w, MatrixEdit edit) {
        LlamaConfig c = w.config();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.layers()).putInt(c.heads()).putInt(c.kvHeads())
                    .putInt(c.sharedClassifier() ? c.vocabSize() : -c.vocabSize()).putInt(c.seqLen()).flip();
            writeFully(ch, header);
            MemorySegment[] tensors = w.inFileOrder();
            try (Arena scratch = Arena.ofConfined()) {
                MemorySegment copy = edit == null ? null : scratch.allocate((long) Math.max(c.hiddenDim(), c.dim()) * c.dim() * 4, 64);
                for (int i = 0; i < tensors.length; i++) {
                    boolean matrix = i >= 2 && i <= 9 && i != 6;
                    if (edit == null || !matrix) {
                        writeFully(ch, tensors[i].asByteBuffer());
                        continue;
                    }
                    long per = LlamaWeights.sizes(c)[i] / c.layers() * 4;
                    for (int l = 0; l < c.layers(); l++) {
                        MemorySegment one = copy.asSlice(0, per);
                        // weights without this tensor (a model whose matrices are elsewhere): the edit fills the copy
                        if (tensors[i].byteSize() > 0) one.copyFrom(tensors[i].asSlice(l * per, per));
                        edit.apply(i, l, one);
                        writeFully(ch, one.asByteBuffer());
                    }
                }
            }
            writeFully(ch, ropeTables(c));
            if (!c.sharedClassifier()) writeFully(ch, w.wcls().asByteBuffer());
            ch.force(true);
        } catch (IOException e) {
            throw new JgptException("cannot write checkpoint " + tmp + ": " + e.getMessage());
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Path constants = constantsFile(file);
            if (!hasLlama2cConstants(c)) {
                dev.jgpt.io.AtomicFiles.write(constants, ("{\"format\": \"" + CONSTANTS_FORMAT + "\", \"rope_theta\": " + c.ropeTheta()
                        + ", \"norm_eps\": " + c.normEps() + "}\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } else if (Files.isRegularFile(constants) && withConstants(file, c) != c) {
                Files.delete(constants); // a stale one of ours
            }
        } catch (IOException e) {
            throw new JgptException("cannot rename " + tmp + " to " + file + ": " + e.getMessage());
        }
    }

    private static ByteBuffer ropeTables(LlamaConfig c) {
        int hs = c.headSize(), T = c.seqLen();
        ByteBuffer b = ByteBuffer.allocate(T * hs * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int part = 0; part < 2; part++) {
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < hs / 2; i++) {
                    double freq = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / hs);
                    b.putFloat((float) (part == 0 ? Math.cos(t * freq) : Math.sin(t * freq)));
                }
            }
        }
        return b.flip();
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        b = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) ch.write(b);
    }
}
