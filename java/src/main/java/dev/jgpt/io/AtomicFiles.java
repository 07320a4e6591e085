package dev.jgpt.io;

import dev.jgpt.JgptException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

/**
 * Writes files so that a crash, a kill -9 or a full disk at any moment leaves either the old file or
 * the complete new one, never a torn one: write a temp file beside the target, fsync it, rename it
 * over the target, fsync the directory (so the rename itself survives a power cut).
 */
public final class AtomicFiles {
    /** Temp names start with this, so a reader listing a directory can skip leftovers of a killed write. */
    public static final String TEMP_PREFIX = ".tmp-";

    private AtomicFiles() {}

    /** The body of a write: fill the channel (positioned at 0). */
    @FunctionalInterface
    public interface ChannelWriter {
        void write(FileChannel out) throws IOException;
    }

    /** Atomically replaces {@code target} with what {@code body} writes. */
    public static void write(Path target, ChannelWriter body) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = dir.resolve(TEMP_PREFIX + target.getFileName() + "-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                ch.force(true);
            }
            moveAtomically(tmp, target);
            fsyncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original failure is the one worth reporting
            }
            if (e instanceof JgptException je) throw je;
            throw new JgptException("could not write " + target + ": " + describe(e), e);
        }
    }

    /** Atomically replaces {@code target} with {@code bytes}. */
    public static void write(Path target, byte[] bytes) {
        write(target, ch -> writeFully(ch, java.nio.ByteBuffer.wrap(bytes)));
    }

    /** Atomically replaces {@code target} with {@code text} in UTF-8. */
    public static void writeString(Path target, String text) {
        write(target, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * Finishes a write the caller made itself into {@code tmp} (a resumable download, say): fsyncs it,
     * renames it over {@code target} (same directory) and fsyncs the directory.
     */
    public static void commit(Path tmp, Path target) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        moveAtomically(tmp, target);
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    public static void writeFully(FileChannel ch, java.nio.ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.write(buf) < 0) throw new IOException("channel closed");
        }
    }

    /** Renames {@code from} to {@code to} atomically (same directory / file system), replacing {@code to}. */
    public static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Deletes a file or a directory with everything under it; symbolic links are removed, not followed. */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return;
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(p)) {
                for (Path c : (Iterable<Path>) s::iterator) deleteTree(c);
            }
        }
        Files.deleteIfExists(p);
    }

    /** {@link #deleteTree} for callers without a checked path: a failure becomes "cannot delete P: reason". */
    public static void deleteTreeUnchecked(Path p) {
        try {
            deleteTree(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + p + ": " + e.getMessage(), e);
        }
    }

    /** Makes a directory's entries (a rename, a new file) durable. Best effort where the OS refuses. */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems do not allow opening a directory; the rename is still atomic there
        }
    }

    /** A one-line reason: the OS message for I/O errors ("No space left on device"), else the type and message. */
    public static String describe(Throwable e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) m = fse.getReason();
        if (m == null || m.isBlank()) return e.getClass().getSimpleName();
        return e instanceof IOException ? m : e.getClass().getSimpleName() + ": " + m;
    }
}
