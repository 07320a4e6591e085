package dev.jgpt.data;

import dev.jgpt.JgptException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes one token shard in {@link ShardFormat} atomically: tokens stream into a temporary file
 * beside the target, {@link #commit()} writes the final header, fsyncs and renames it into place.
 * Until then (and if anything fails, or {@link #close()} comes without commit) the target is
 * untouched and the temporary file is removed.
 */
public final class ShardWriter implements AutoCloseable {
    private static final int BUFFER_TOKENS = 1 << 16;

    private final Path target;
    private final Path temp;
    private final int version;
    private final int vocabSize;
    private final FileChannel ch;
    private final ByteBuffer buf;
    private long tokens;
    private boolean done;

    /** A writer for ids in {@code [0, vocabSize)}: uint16 when they fit, uint32 otherwise. */
    public ShardWriter(Path target, int vocabSize) {
        this.target = target.toAbsolutePath();
        this.vocabSize = vocabSize;
        this.version = ShardFormat.versionFor(vocabSize);
        this.temp = this.target.resolveSibling("." + this.target.getFileName() + ".tmp");
        try {
            Files.createDirectories(this.target.getParent());
            ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
            ch.write(ShardFormat.header(version, 0), 0); // placeholder until commit
            ch.position(ShardFormat.HEADER_BYTES);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + temp + ": " + e.getMessage(), e);
        }
        buf = ByteBuffer.allocate(BUFFER_TOKENS * ShardFormat.tokenBytes(version)).order(ByteOrder.LITTLE_ENDIAN);
    }

    public void write(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new JgptException(target + ": token id " + token + " is outside the vocabulary [0, " + vocabSize + ")");
        }
        if (!buf.hasRemaining()) flush();
        if (version == ShardFormat.VERSION_U16) buf.putShort((short) token);
        else buf.putInt(token);
        tokens++;
        if (tokens > Integer.MAX_VALUE) throw new JgptException(target + ": more than " + Integer.MAX_VALUE + " tokens in one shard");
    }

    public void write(int[] ids) {
        for (int id : ids) write(id);
    }

    public long tokens() {
        return tokens;
    }

    public int version() {
        return version;
    }

    public Path target() {
        return target;
    }

    private void flush() {
        buf.flip();
        try {
            while (buf.hasRemaining()) ch.write(buf);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + temp + ": " + e.getMessage(), e);
        }
        buf.clear();
    }

    /** Finishes the shard: header with the final count, fsync, atomic rename onto the target. */
    public void commit() {
        flush();
        try {
            ch.write(ShardFormat.header(version, tokens), 0);
            ch.force(true);
            ch.close();
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish " + target + ": " + e.getMessage(), e);
        }
    }

    /** Without a prior {@link #commit()}, discards the partial shard. */
    @Override
    public void close() {
        if (done) return;
        try {
            ch.close();
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // best effort: the target was never touched
        }
        done = true;
    }
}
