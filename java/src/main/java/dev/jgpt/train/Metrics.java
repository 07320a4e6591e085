package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.Json;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code RUN/metrics.jsonl}: one JSON object per line, {@code "kind": "train"} per logged step and
 * {@code "kind": "eval"} per evaluation, each with {@code phase} and {@code step}, so any tool can
 * plot them. On resume, lines after the resumed step are dropped first, so the file reads as one
 * uninterrupted run.
 */
public final class Metrics implements AutoCloseable {
    private final Path file;
    private final BufferedWriter out;

    private Metrics(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Opens for appending; with {@code keepUpTo} set, first drops lines of {@code phase} with step > keepUpTo. */
    public static Metrics open(Path file, String phase, Long keepUpTo) {
        try {
            if (keepUpTo != null && Files.exists(file)) {
                List<String> kept = new ArrayList<>();
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) continue;
                    try {
                        JsonNode n = Json.MAPPER.readTree(line);
                        if (phase.equals(n.path("phase").asString("")) && n.path("step").asLong(0) > keepUpTo) continue;
                    } catch (RuntimeException e) {
                        continue; // a torn last line of a killed run
                    }
                    kept.add(line);
                }
                AtomicFiles.write(file, (String.join("\n", kept) + (kept.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
            }
            Files.createDirectories(file.toAbsolutePath().getParent());
            return new Metrics(file, Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new JgptException("cannot write " + file + ": " + AtomicFiles.describe(e), e);
        }
    }

    public void write(ObjectNode record) {
        try {
            out.write(Json.MAPPER.writeValueAsString(record));
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new JgptException("cannot write " + file + ": " + AtomicFiles.describe(e), e);
        }
    }

    /** Every record of a metrics file (for plotting); unparsable lines are skipped. */
    public static List<JsonNode> read(Path file) {
        List<JsonNode> list = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                try {
                    list.add(Json.MAPPER.readTree(line));
                } catch (RuntimeException e) {
                    // torn line
                }
            }
        } catch (IOException e) {
            throw new JgptException("cannot read " + file + ": " + AtomicFiles.describe(e), e);
        }
        return list;
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // nothing left to save
        }
    }
}
