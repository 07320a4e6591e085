package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama2.c's checkpoint layout: header, tensor order, shared/separate classifier, clear errors. */
class Llama2cCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void writesAndMapsBackTheSameWeightsInLlama2cOrder() throws Exception {
        LlamaConfig c = LlamaConfig.llama2c(16, 40, 2, 4, 2, 30, 8, false);
        Path f = dir.resolve("m.bin");
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(c, 3, a);
            Llama2cCheckpoint.write(f, w);
            assertThat(Files.size(f)).isEqualTo(Llama2cCheckpoint.fileBytes(c));
            // header: 7 int32 with a negative vocab for the separate classifier
            ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(f), 0, 28).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(new int[] {h.getInt(), h.getInt(), h.getInt(), h.getInt(), h.getInt(), h.getInt(), h.getInt()})
                    .containsExactly(16, 40, 2, 4, 2, -30, 8);
            try (Arena b = Arena.ofConfined()) {
                LlamaWeights r = Llama2cCheckpoint.open(f, b);
                assertThat(r.config()).isEqualTo(c);
                assertThat(r.wk().byteSize()).isEqualTo(4L * 2 * 8 * 16); // (L, kvDim, dim)
                assertThat(r.w2().mismatch(w.w2())).isEqualTo(-1);
                assertThat(r.wcls().mismatch(w.wcls())).isEqualTo(-1);
                assertThat(r.rmsFinal().mismatch(w.rmsFinal())).isEqualTo(-1);
                // the first float after the header is the embedding's first
                assertThat(r.tokenEmbedding().get(ValueLayout.JAVA_FLOAT, 0)).isEqualTo(w.tokenEmbedding().get(ValueLayout.JAVA_FLOAT, 0));
            }
        }
    }

    @Test
    void sharedClassifierIsTheEmbedding() {
        LlamaConfig c = LlamaConfig.llama2c(16, 40, 1, 2, 2, 30, 8, true);
        Path f = dir.resolve("s.bin");
        RandomLlama.writeCheckpoint(f, c, 1);
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights r = Llama2cCheckpoint.open(f, a);
            assertThat(r.wcls().address()).isEqualTo(r.tokenEmbedding().address());
        }
    }

    @Test
    void badFilesGetOneClearErrorNamingTheFile() throws Exception {
        LlamaConfig c = LlamaConfig.llama2c(16, 40, 1, 2, 2, 30, 8, true);
        Path f = dir.resolve("t.bin");
        RandomLlama.writeCheckpoint(f, c, 1);
        try (var ch = java.nio.channels.FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(f) - 4);
        }
        assertThatThrownBy(() -> open(f)).isInstanceOf(JgptException.class).hasMessageContaining(f.toString())
                .hasMessageContaining("truncated");
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[10]);
        assertThatThrownBy(() -> open(tiny)).isInstanceOf(JgptException.class).hasMessageContaining("too short");
        Path heads = dir.resolve("heads.bin");
        ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(16).putInt(40).putInt(1).putInt(3).putInt(3).putInt(30).putInt(8);
        Files.write(heads, b.array());
        assertThatThrownBy(() -> open(heads)).isInstanceOf(JgptException.class).hasMessageContaining(heads.toString())
                .hasMessageContaining("n_heads 3");
        assertThatThrownBy(() -> open(dir.resolve("missing.bin"))).isInstanceOf(JgptException.class).hasMessageContaining("no such file");
    }

    private static void open(Path f) {
        try (Arena a = Arena.ofConfined()) {
            Llama2cCheckpoint.open(f, a);
        }
    }
}
