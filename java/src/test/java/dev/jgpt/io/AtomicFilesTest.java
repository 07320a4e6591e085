package dev.jgpt.io;

import dev.jgpt.JgptException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void replacesTheFileWhole() throws IOException {
        Path f = dir.resolve("a.txt");
        AtomicFiles.write(f, "one".getBytes());
        AtomicFiles.write(f, "two".getBytes());
        assertThat(Files.readString(f)).isEqualTo("two");
        try (var s = Files.list(dir)) {
            assertThat(s.count()).isEqualTo(1);
        }
    }

    @Test
    void aFullDiskMidWriteKeepsTheOldFileAndSaysWhy() throws IOException {
        Path f = dir.resolve("model.safetensors");
        AtomicFiles.write(f, "good".getBytes());
        // a channel that fails half-way, as write(2) does with ENOSPC
        assertThatThrownBy(() -> AtomicFiles.write(f, ch -> {
            ch.write(ByteBuffer.wrap("partial".getBytes()));
            throw new IOException("No space left on device");
        })).isInstanceOf(JgptException.class)
                .hasMessage("could not write " + f + ": No space left on device");
        assertThat(Files.readString(f)).isEqualTo("good");
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("model.safetensors");
        }
    }
}
