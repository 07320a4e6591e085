package dev.jgpt.data;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes prepared documents as JSON lines {@code {"text": …, "source": …}} into {@code
 * part-00000.jsonl}, {@code part-00001.jsonl}, … of one directory, starting a new part after
 * {@code partBytes}. The directory is a temporary one that {@link Preparer} moves into place.
 */
final class PartWriter implements AutoCloseable {
    private static final tools.jackson.databind.ObjectWriter LINE = tools.jackson.databind.json.JsonMapper.builder()
            .build().writerFor(PreparedDocument.class);

    /** One line of a prepared part. */
    record PreparedDocument(String text, String source) {}

    private final Path dir;
    private final long partBytes;
    private final List<Path> parts = new ArrayList<>();
    private BufferedWriter out;
    private long written;
    long documents;
    long textBytes;

    PartWriter(Path dir, long partBytes) {
        this.dir = dir;
        this.partBytes = partBytes;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    void write(String source, String text) {
        String line = LINE.writeValueAsString(new PreparedDocument(text, source));
        try {
            if (out == null || written > partBytes) {
                if (out != null) out.close();
                Path p = dir.resolve(String.format("part-%05d.jsonl", parts.size()));
                parts.add(p);
                out = Files.newBufferedWriter(p, StandardCharsets.UTF_8);
                written = 0;
            }
            out.write(line);
            out.write('\n');
            written += line.length() + 1;
            documents++;
            textBytes += text.getBytes(StandardCharsets.UTF_8).length;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
    }

    List<Path> parts() {
        return parts;
    }

    @Override
    public void close() {
        try {
            if (out != null) out.close();
            out = null;
            for (Path p : parts) {
                try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
    }
}
