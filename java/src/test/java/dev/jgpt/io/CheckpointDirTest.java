package dev.jgpt.io;

import dev.jgpt.JgptException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CheckpointDirTest {
    @TempDir
    Path dir;

    private Path save(String name, String content) throws IOException {
        Path fin = dir.resolve(name);
        Path tmp = CheckpointDir.begin(fin);
        Files.writeString(tmp.resolve("model.bin"), content);
        Files.writeString(tmp.resolve("state.json"), "{}");
        CheckpointDir.commit(tmp, fin);
        return fin;
    }

    @Test
    void committedCheckpointVerifies() throws IOException {
        Path c = save("step-1", "weights");
        assertThat(CheckpointDir.isCommitted(c)).isTrue();
        CheckpointDir.verify(c);
        assertThat(Files.exists(dir.resolve(".tmp-step-1"))).isFalse();
    }

    @Test
    void aFlippedByteIsDetected() throws IOException {
        Path c = save("step-1", "weights");
        Files.writeString(c.resolve("model.bin"), "weighTs");
        assertThatThrownBy(() -> CheckpointDir.verify(c)).isInstanceOf(JgptException.class)
                .hasMessageContaining("model.bin: checksum mismatch");
        Files.writeString(c.resolve("model.bin"), "weig");
        assertThatThrownBy(() -> CheckpointDir.verify(c)).hasMessageContaining("truncated");
    }

    @Test
    void aSaveKilledBeforeCommitLeavesOnlyATempDirThatIsCleanedUp() throws IOException {
        Path good = save("step-1", "weights");
        Path tmp = CheckpointDir.begin(dir.resolve("step-2"));     // killed here: files half written
        Files.writeString(tmp.resolve("model.bin"), "wei");
        assertThat(Files.exists(dir.resolve("step-2"))).isFalse();
        CheckpointDir.verify(good);
        CheckpointDir.removeLeftovers(dir);
        assertThat(Files.exists(tmp)).isFalse();
        assertThatThrownBy(() -> CheckpointDir.verify(tmp)).hasMessageContaining("not a checkpoint");
    }
}
