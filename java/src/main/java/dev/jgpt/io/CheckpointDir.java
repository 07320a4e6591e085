package dev.jgpt.io;

import dev.jgpt.JgptException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A checkpoint is a directory of files committed as a whole: the files are written into a temp
 * directory ({@code .tmp-NAME}), each fsynced, then a manifest {@value #MANIFEST} lists every file
 * with its size and SHA-256, and one rename makes the directory visible under its final name. A
 * kill at any moment leaves either no directory of that name or a complete, verifiable one; temp
 * leftovers are ignored by readers and removed by the next commit.
 */
public final class CheckpointDir {
    public static final String MANIFEST = "checkpoint.json";

    private CheckpointDir() {}

    /** The temp directory to write a checkpoint named {@code finalDir} into (created empty). */
    public static Path begin(Path finalDir) {
        Path tmp = finalDir.resolveSibling(AtomicFiles.TEMP_PREFIX + finalDir.getFileName());
        try {
            AtomicFiles.deleteTree(tmp);
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new JgptException("could not create " + tmp + ": " + AtomicFiles.describe(e), e);
        }
        return tmp;
    }

    /** Hashes and fsyncs the files of {@code tmp}, writes the manifest and renames tmp to {@code finalDir}. */
    public static void commit(Path tmp, Path finalDir) {
        try {
            ObjectNode manifest = Json.object();
            manifest.put("format", "jgpt-checkpoint");
            manifest.put("version", 1);
            ObjectNode files = manifest.putObject("files");
            List<Path> list = new ArrayList<>();
            try (Stream<Path> s = Files.list(tmp)) {
                s.filter(Files::isRegularFile).sorted().forEach(list::add);
            }
            for (Path f : list) {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                ObjectNode e = files.putObject(f.getFileName().toString());
                e.put("bytes", Files.size(f));
                e.put("sha256", Sha256.ofFile(f));
            }
            byte[] bytes = Json.PRETTY.writeValueAsBytes(manifest);
            AtomicFiles.write(tmp.resolve(MANIFEST), bytes);
            AtomicFiles.fsyncDirectory(tmp);
            AtomicFiles.deleteTree(finalDir);
            Files.move(tmp, finalDir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.fsyncDirectory(finalDir.toAbsolutePath().getParent());
        } catch (IOException e) {
            try {
                AtomicFiles.deleteTree(tmp);
            } catch (IOException ignored) {
                // report the first failure
            }
            throw new JgptException("could not write checkpoint " + finalDir + ": " + AtomicFiles.describe(e), e);
        } catch (JgptException e) {
            try {
                AtomicFiles.deleteTree(tmp);
            } catch (IOException ignored) {
                // report the first failure
            }
            throw e;
        }
    }

    /** True when {@code dir} has a manifest (it was committed); says nothing about its integrity. */
    public static boolean isCommitted(Path dir) {
        return Files.isRegularFile(dir.resolve(MANIFEST));
    }

    /** Checks every file of the manifest (size, then SHA-256); a clear error names the first bad file. */
    public static void verify(Path dir) {
        Path mf = dir.resolve(MANIFEST);
        JsonNode manifest;
        try {
            manifest = Json.MAPPER.readTree(Files.readString(mf));
        } catch (NoSuchFileException e) {
            throw new JgptException(dir + ": not a checkpoint (no " + MANIFEST + "; an interrupted save?)");
        } catch (IOException e) {
            throw new JgptException("cannot read " + mf + ": " + AtomicFiles.describe(e), e);
        } catch (JacksonException e) {
            throw new JgptException(mf + ": corrupt manifest (" + e.getOriginalMessage() + ")");
        }
        JsonNode files = manifest == null ? null : manifest.get("files");
        if (files == null || !files.isObject()) throw new JgptException(mf + ": corrupt manifest (no \"files\")");
        for (var p : files.properties()) {
            Path f = dir.resolve(p.getKey());
            long bytes = p.getValue().path("bytes").asLong(-1);
            String sha = p.getValue().path("sha256").asString("");
            try {
                long actual = Files.size(f);
                if (actual != bytes) {
                    throw new JgptException(f + ": checkpoint file is " + actual + " bytes, the manifest says "
                            + bytes + " (truncated or corrupt)");
                }
                if (!Sha256.ofFile(f).equals(sha)) {
                    throw new JgptException(f + ": checksum mismatch (the file is corrupt)");
                }
            } catch (NoSuchFileException e) {
                throw new JgptException(f + ": missing from checkpoint " + dir);
            } catch (IOException e) {
                throw new JgptException("cannot read " + f + ": " + AtomicFiles.describe(e), e);
            }
        }
    }

    /** Removes temp leftovers ({@code .tmp-*}) of killed writes in {@code parent}. */
    public static void removeLeftovers(Path parent) {
        if (!Files.isDirectory(parent)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, AtomicFiles.TEMP_PREFIX + "*")) {
            for (Path p : ds) AtomicFiles.deleteTree(p);
        } catch (IOException e) {
            // leftovers are harmless; readers skip them
        }
    }
}
