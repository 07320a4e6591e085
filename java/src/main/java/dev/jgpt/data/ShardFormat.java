package dev.jgpt.data;

import dev.jgpt.JgptException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * llm.c's token shard layout: a header of 256 little-endian int32 — {@code [0]} magic 20240520,
 * {@code [1]} version, {@code [2]} token count, the rest zero — then the tokens. Version 1 (llm.c's
 * own) stores uint16 tokens; version 2 (ours, for vocabularies above 65536) stores uint32 tokens.
 */
public final class ShardFormat {
    public static final int MAGIC = 20240520;
    /** uint16 tokens, exactly as llm.c writes and reads them. */
    public static final int VERSION_U16 = 1;
    /** uint32 tokens: jgpt's extension for vocabularies that do not fit in 16 bits. */
    public static final int VERSION_U32 = 2;
    public static final int HEADER_INTS = 256;
    public static final long HEADER_BYTES = HEADER_INTS * 4L;

    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ShardFormat() {}

    /** The version a vocabulary of {@code vocabSize} ids needs. */
    public static int versionFor(int vocabSize) {
        return vocabSize <= 65536 ? VERSION_U16 : VERSION_U32;
    }

    public static int tokenBytes(int version) {
        return version == VERSION_U16 ? 2 : 4;
    }

    static ByteBuffer header(int version, long tokens) {
        if (tokens > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a shard holds at most " + Integer.MAX_VALUE + " tokens, not " + tokens);
        }
        ByteBuffer h = ByteBuffer.allocate((int) HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, MAGIC).putInt(4, version).putInt(8, (int) tokens);
        return h;
    }

    /** What a validated header says. */
    public record Header(int version, long tokens) {
        public int tokenBytes() {
            return ShardFormat.tokenBytes(version);
        }
    }

    /**
     * Checks the header of a mapped shard against the file's size; throws a {@link JgptException}
     * naming the file and what disagrees.
     */
    public static Header validate(Path file, MemorySegment seg) {
        long size = seg.byteSize();
        if (size < HEADER_BYTES) {
            throw new JgptException(file + ": not a token shard: " + size + " bytes, shorter than the "
                    + HEADER_BYTES + "-byte header");
        }
        int magic = seg.get(INT_LE, 0);
        if (magic != MAGIC) {
            throw new JgptException(file + ": not a token shard: magic number " + magic + ", expected " + MAGIC);
        }
        int version = seg.get(INT_LE, 4);
        if (version != VERSION_U16 && version != VERSION_U32) {
            throw new JgptException(file + ": unsupported token shard version " + version + " (known: 1 = uint16, 2 = uint32)");
        }
        long tokens = Integer.toUnsignedLong(seg.get(INT_LE, 8));
        long expected = HEADER_BYTES + tokens * tokenBytes(version);
        if (size != expected) {
            throw new JgptException(file + ": header says " + tokens + " tokens (" + expected
                    + " bytes) but the file has " + size + " bytes: truncated or corrupted shard");
        }
        return new Header(version, tokens);
    }
}
