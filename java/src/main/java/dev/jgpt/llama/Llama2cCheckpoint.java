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
            return LlamaWeights.view(config, all.asSlice(HEADER_BYTES), ropeSkip(config));
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
        LlamaConfig c = w.config();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.layers()).putInt(c.heads()).putInt(c.kvHeads())
                    .putInt(c.sharedClassifier() ? c.vocabSize() : -c.vocabSize()).putInt(c.seqLen()).flip();
            writeFully(ch, header);
            for (MemorySegment s : w.inFileOrder()) writeFully(ch, s.asByteBuffer());
            writeFully(ch, ropeTables(c));
            if (!c.sharedClassifier()) writeFully(ch, w.wcls().asByteBuffer());
            ch.force(true);
        } catch (IOException e) {
            throw new JgptException("cannot write checkpoint " + tmp + ": " + e.getMessage());
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
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
