package dev.jgpt.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A GGUF v3 file (what llama.cpp loads): magic, version, counts, typed metadata key/values, tensor
 * infos (dims fastest-varying first, ggml type, offset), then the tensor data, each aligned to
 * {@value #ALIGNMENT} bytes. Tensors in F32, BF16 or Q8_0 ({@link GgmlType}); see docs/formats.md.
 */
public final class GgufWriter {
    public static final int ALIGNMENT = 32;
    private static final int T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9;

    private final List<byte[]> kvs = new ArrayList<>();
    private final List<Tensor> tensors = new ArrayList<>();

    private record Tensor(String name, GgmlType type, long[] ne, MemorySegment data) {}

    public GgufWriter putString(String key, String value) {
        kvs.add(kv(key, T_STRING, buf(8 + utf8(value).length).putLong(utf8(value).length).put(utf8(value))));
        return this;
    }

    public GgufWriter putUInt32(String key, int value) {
        kvs.add(kv(key, T_UINT32, buf(4).putInt(value)));
        return this;
    }

    public GgufWriter putFloat32(String key, float value) {
        kvs.add(kv(key, T_FLOAT32, buf(4).putFloat(value)));
        return this;
    }

    public GgufWriter putBool(String key, boolean value) {
        kvs.add(kv(key, T_BOOL, buf(1).put((byte) (value ? 1 : 0))));
        return this;
    }

    public GgufWriter putStringArray(String key, List<String> values) {
        int n = 12;
        for (String s : values) n += 8 + utf8(s).length;
        ByteBuffer b = buf(n).putInt(T_STRING).putLong(values.size());
        for (String s : values) {
            byte[] u = utf8(s);
            b.putLong(u.length).put(u);
        }
        kvs.add(kv(key, T_ARRAY, b));
        return this;
    }

    public GgufWriter putFloat32Array(String key, float[] values) {
        ByteBuffer b = buf(12 + 4L * values.length).putInt(T_FLOAT32).putLong(values.length);
        for (float v : values) b.putFloat(v);
        kvs.add(kv(key, T_ARRAY, b));
        return this;
    }

    public GgufWriter putInt32Array(String key, int[] values) {
        ByteBuffer b = buf(12 + 4L * values.length).putInt(T_INT32).putLong(values.length);
        for (int v : values) b.putInt(v);
        kvs.add(kv(key, T_ARRAY, b));
        return this;
    }

    /** A float32 tensor; {@code ne} in GGUF order (fastest-varying first), data row-major = ne reversed. */
    public GgufWriter addTensor(String name, MemorySegment data, long... ne) {
        return addTensor(name, GgmlType.F32, data, ne);
    }

    /** A tensor already encoded in {@code type} (see {@link GgmlType#encode}). */
    public GgufWriter addTensor(String name, GgmlType type, MemorySegment data, long... ne) {
        if (data.byteSize() != type.bytes(NamedTensor.numel(ne))) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + type + " "
                    + java.util.Arrays.toString(ne));
        }
        tensors.add(new Tensor(name, type, ne.clone(), data));
        return this;
    }

    public void write(FileChannel out) throws IOException {
        ByteBuffer head = buf(24).putInt(0x46554747).putInt(3).putLong(tensors.size()).putLong(kvs.size());
        long pos = write(out, head.flip());
        for (byte[] kv : kvs) pos += write(out, ByteBuffer.wrap(kv));
        long offset = 0;
        for (Tensor t : tensors) {
            byte[] name = utf8(t.name);
            ByteBuffer b = buf(8 + name.length + 4 + 8L * t.ne.length + 4 + 8);
            b.putLong(name.length).put(name).putInt(t.ne.length);
            for (long d : t.ne) b.putLong(d);
            b.putInt(t.type.id).putLong(offset);
            pos += write(out, b.flip());
            offset = align(offset + t.data.byteSize());
        }
        pos += pad(out, pos);
        for (Tensor t : tensors) {
            pos += write(out, t.data.asByteBuffer());
            pos += pad(out, pos);
        }
    }

    public void write(Path file) {
        AtomicFiles.write(file, this::write);
    }

    private static long align(long x) {
        return (x + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static long pad(FileChannel out, long pos) throws IOException {
        int n = (int) (align(pos) - pos);
        return n == 0 ? 0 : write(out, ByteBuffer.allocate(n));
    }

    private static long write(FileChannel out, ByteBuffer b) throws IOException {
        long n = b.remaining();
        AtomicFiles.writeFully(out, b);
        return n;
    }

    private static byte[] kv(String key, int type, ByteBuffer value) {
        byte[] k = utf8(key);
        value.flip();
        ByteBuffer b = buf(8 + k.length + 4 + value.remaining()).putLong(k.length).put(k).putInt(type).put(value);
        return b.array();
    }

    private static ByteBuffer buf(long n) {
        return ByteBuffer.allocate(Math.toIntExact(n)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
