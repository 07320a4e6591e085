package dev.jgpt.io;

import dev.jgpt.JgptException;
import dev.jgpt.memory.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {
    @TempDir
    Path dir;

    private static MemorySegment floats(Arena a, float... v) {
        MemorySegment s = a.allocate(4L * v.length);
        for (int i = 0; i < v.length; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v[i]);
        return s;
    }

    private Path sample() {
        try (Arena a = Arena.ofConfined()) {
            Path f = dir.resolve("m.safetensors");
            Safetensors.write(f, List.of(
                    new NamedTensor("wte.weight", DType.F32, new long[] {2, 3}, floats(a, 1, 2, 3, 4, 5, 6)),
                    new NamedTensor("ln_f.bias", DType.F32, new long[] {3}, floats(a, -1, 0.5f, Float.MIN_VALUE))),
                    Map.of("format", "pt"));
            return f;
        }
    }

    @Test
    void roundTripsNamesShapesBitsAndMetadata() throws IOException {
        Path f = sample();
        assertThat((8 + ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN).getLong()) % 8).isZero();
        try (Safetensors.Reader r = Safetensors.open(f)) {
            assertThat(r.entries().keySet()).containsExactly("wte.weight", "ln_f.bias");
            assertThat(r.metadata()).containsEntry("format", "pt");
            NamedTensor t = r.require("wte.weight", DType.F32, 2, 3);
            assertThat(t.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 5)).isEqualTo(6f);
            assertThat(Float.floatToRawIntBits(r.get("ln_f.bias").getFloat(2))).isEqualTo(Float.floatToRawIntBits(Float.MIN_VALUE));
            assertThatThrownBy(() -> r.require("wte.weight", DType.F32, 3, 2)).isInstanceOf(JgptException.class)
                    .hasMessageContaining("shape [2, 3], expected [3, 2]");
            assertThatThrownBy(() -> r.get("nope")).hasMessageContaining("no tensor named 'nope'");
        }
    }

    @Test
    void headerIsWhatOtherReadersExpect() throws IOException {
        Path f = sample();
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong();
        String json = new String(Files.readAllBytes(f), 8, (int) n, StandardCharsets.UTF_8).strip();
        assertThat(json).contains("\"wte.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}");
        assertThat(json).contains("\"ln_f.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}");
    }

    @Test
    void truncatedFileIsAClearError() throws IOException {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 4));
        assertThatThrownBy(() -> Safetensors.open(f)).isInstanceOf(JgptException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("truncated");
        Files.write(f, java.util.Arrays.copyOf(all, 5));
        assertThatThrownBy(() -> Safetensors.open(f)).isInstanceOf(JgptException.class).hasMessageContaining("too short");
        Files.write(f, java.util.Arrays.copyOf(all, 40));
        assertThatThrownBy(() -> Safetensors.open(f)).isInstanceOf(JgptException.class).hasMessageContaining("header length");
    }

    @Test
    void corruptHeaderIsAClearError() throws IOException {
        Path f = sample();
        byte[] all = Files.readAllBytes(f);
        all[8] = '#';
        Files.write(f, all);
        assertThatThrownBy(() -> Safetensors.open(f)).isInstanceOf(JgptException.class)
                .hasMessageContaining("not valid JSON");
        Files.writeString(f, "hello, this is not a model file at all");
        assertThatThrownBy(() -> Safetensors.open(f)).isInstanceOf(JgptException.class)
                .hasMessageContaining("not a valid safetensors file");
    }

    @Test
    void offsetsThatDoNotMatchTheShapeAreRejected() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}";
        ByteBuffer b = ByteBuffer.allocate(8 + json.length() + 12).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length()).put(json.getBytes(StandardCharsets.UTF_8));
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, b.array());
        assertThatThrownBy(() -> Safetensors.open(f)).hasMessageContaining("do not match F32[2]");
    }

    @Test
    void missingFileIsAClearError() {
        assertThatThrownBy(() -> Safetensors.open(dir.resolve("none.safetensors"))).isInstanceOf(JgptException.class)
                .hasMessageContaining("no such file");
    }
}
