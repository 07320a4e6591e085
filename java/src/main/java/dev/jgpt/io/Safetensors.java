package dev.jgpt.io;

import dev.jgpt.JgptException;
import dev.jgpt.memory.DType;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format (what Hugging Face {@code transformers} loads): an 8-byte little-endian
 * header length N, N bytes of JSON {@code {"name": {"dtype", "shape", "data_offsets": [begin, end]},
 * "__metadata__": {string: string}}} padded with spaces to a multiple of 8, then the tensor bytes,
 * offsets counted from the end of the header. Tensors tile the data area with no gaps or overlaps.
 */
public final class Safetensors {
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {}

    /** The safetensors dtype string of one of our dtypes. */
    public static String dtypeName(DType t) {
        return switch (t) {
            case F32 -> "F32";
            case BF16 -> "BF16";
            case I32 -> "I32";
            case I8 -> "I8";
        };
    }

    static int dtypeBytes(String name) {
        return switch (name) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> -1;
        };
    }

    /** Writes tensors (in the given order) and string metadata to a channel. */
    public static void write(FileChannel out, List<NamedTensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = Json.object();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (NamedTensor t : tensors) {
            if (header.has(t.name())) throw new IllegalArgumentException("duplicate tensor name " + t.name());
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", dtypeName(t.dtype()));
            var shape = e.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long bytes = t.data().byteSize();
            e.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = Json.MAPPER.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        AtomicFiles.writeFully(out, head);
        for (NamedTensor t : tensors) AtomicFiles.writeFully(out, t.data().asByteBuffer());
    }

    /** Atomically writes a safetensors file. */
    public static void write(Path file, List<NamedTensor> tensors, Map<String, String> metadata) {
        AtomicFiles.write(file, ch -> write(ch, tensors, metadata));
    }

    /** One tensor entry of an opened file: its raw dtype string (F16 etc. are listed too) and its bytes. */
    public record Entry(String name, String dtype, long[] shape, MemorySegment data) {
        public long numel() {
            return NamedTensor.numel(shape);
        }

        /** As a {@link NamedTensor}; a clear error for dtypes we do not compute in. */
        public NamedTensor tensor(Path file) {
            DType t = switch (dtype) {
                case "F32" -> DType.F32;
                case "BF16" -> DType.BF16;
                case "I32" -> DType.I32;
                default -> throw new JgptException(file + ": tensor '" + name + "' has dtype " + dtype
                        + ", expected F32, BF16 or I32");
            };
            return new NamedTensor(name, t, shape, data);
        }

        /** Element {@code i} as a float, converting F16/BF16/F64 (for import of foreign checkpoints). */
        public float getFloat(long i) {
            return switch (dtype) {
                case "F32" -> data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                case "BF16" -> DType.fromBf16(data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case "F16" -> Float.float16ToFloat(data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case "F64" -> (float) data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
                default -> throw new JgptException("tensor '" + name + "' has dtype " + dtype
                        + ", which cannot be read as floats");
            };
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape);
        }
    }

    /** A memory-mapped, validated safetensors file. Entries are valid until {@link #close()}. */
    public static final class Reader implements AutoCloseable {
        private final Path file;
        private final Arena arena;
        private final Map<String, Entry> entries;
        private final Map<String, String> metadata;

        private Reader(Path file, Arena arena, Map<String, Entry> entries, Map<String, String> metadata) {
            this.file = file;
            this.arena = arena;
            this.entries = entries;
            this.metadata = metadata;
        }

        public Path file() {
            return file;
        }

        /** Entries in file order. */
        public Map<String, Entry> entries() {
            return Collections.unmodifiableMap(entries);
        }

        public Map<String, String> metadata() {
            return Collections.unmodifiableMap(metadata);
        }

        public boolean has(String name) {
            return entries.containsKey(name);
        }

        /** The entry, or a clear error naming the file and the missing tensor. */
        public Entry get(String name) {
            Entry e = entries.get(name);
            if (e == null) throw new JgptException(file + ": no tensor named '" + name + "'");
            return e;
        }

        /** The entry checked against an expected dtype and shape. */
        public NamedTensor require(String name, DType dtype, long... shape) {
            Entry e = get(name);
            if (!Arrays.equals(e.shape(), shape)) {
                throw new JgptException(file + ": tensor '" + name + "' has shape " + Arrays.toString(e.shape())
                        + ", expected " + Arrays.toString(shape));
            }
            NamedTensor t = e.tensor(file);
            if (t.dtype() != dtype) {
                throw new JgptException(file + ": tensor '" + name + "' has dtype " + e.dtype()
                        + ", expected " + dtypeName(dtype));
            }
            return t;
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /** Opens and validates a file: every problem is a {@link JgptException} naming the file. */
    public static Reader open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            return open(file, arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Reader open(Path file, Arena arena) {
        MemorySegment all;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw bad(file, "is " + size + " bytes long, too short for a safetensors header (truncated?)");
            all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            throw new JgptException(file + ": no such file");
        } catch (IOException e) {
            throw new JgptException("cannot read " + file + ": " + AtomicFiles.describe(e), e);
        }
        long size = all.byteSize();
        long n = all.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n <= 0 || n > MAX_HEADER || 8 + n > size) {
            throw bad(file, "header length " + n + " does not fit a file of " + size + " bytes (truncated or not safetensors)");
        }
        byte[] json = all.asSlice(8, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(new String(json, StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            throw bad(file, "header is not valid JSON (" + Json.problem(e) + ")");
        }
        if (header == null || !header.isObject()) throw bad(file, "header is not a JSON object");
        long dataStart = 8 + n;
        long dataSize = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> list = new ArrayList<>();
        for (Map.Entry<String, JsonNode> p : header.properties()) {
            String name = p.getKey();
            JsonNode v = p.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw bad(file, "__metadata__ is not an object");
                for (Map.Entry<String, JsonNode> m : v.properties()) {
                    if (!m.getValue().isString()) throw bad(file, "__metadata__." + m.getKey() + " is not a string");
                    metadata.put(m.getKey(), m.getValue().stringValue());
                }
                continue;
            }
            if (!v.isObject()) throw bad(file, "entry '" + name + "' is not an object");
            JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
            if (dt == null || !dt.isString()) throw bad(file, "tensor '" + name + "' has no dtype");
            int eb = dtypeBytes(dt.stringValue());
            if (eb < 0) throw bad(file, "tensor '" + name + "' has unknown dtype " + dt.stringValue());
            if (sh == null || !sh.isArray()) throw bad(file, "tensor '" + name + "' has no shape");
            long[] shape = new long[sh.size()];
            for (int i = 0; i < shape.length; i++) {
                if (!sh.get(i).isIntegralNumber() || sh.get(i).longValue() < 0) {
                    throw bad(file, "tensor '" + name + "' has a bad shape " + sh);
                }
                shape[i] = sh.get(i).longValue();
            }
            if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                    || !off.get(1).isIntegralNumber()) {
                throw bad(file, "tensor '" + name + "' has no data_offsets [begin, end]");
            }
            long begin = off.get(0).longValue(), end = off.get(1).longValue();
            long expected;
            try {
                expected = Math.multiplyExact(NamedTensor.numel(shape), (long) eb);
            } catch (ArithmeticException e) {
                throw bad(file, "tensor '" + name + "' is impossibly large");
            }
            if (begin < 0 || end < begin || end - begin != expected) {
                throw bad(file, "tensor '" + name + "' data_offsets [" + begin + ", " + end + "] do not match "
                        + dt.stringValue() + Arrays.toString(shape) + " (" + expected + " bytes)");
            }
            if (end > dataSize) {
                throw bad(file, "tensor '" + name + "' ends at byte " + end + " but the file holds only "
                        + dataSize + " data bytes (truncated?)");
            }
            list.add(new Entry(name, dt.stringValue(), shape, all.asSlice(dataStart + begin, end - begin)));
        }
        // tensors must tile the data area: no holes, no overlaps (as the reference implementation requires)
        List<Entry> sorted = new ArrayList<>(list);
        sorted.sort((a, b) -> Long.compare(a.data().address(), b.data().address()));
        long pos = all.address() + dataStart;
        for (Entry e : sorted) {
            if (e.data().address() != pos) throw bad(file, "tensor '" + e.name() + "' overlaps or leaves a gap");
            pos += e.data().byteSize();
        }
        if (pos != all.address() + size) {
            throw bad(file, "has " + (all.address() + size - pos) + " bytes after the last tensor");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Entry e : list) entries.put(e.name(), e);
        return new Reader(file, arena, entries, metadata);
    }

    private static JgptException bad(Path file, String what) {
        return new JgptException(file + ": not a valid safetensors file: " + what);
    }

    /** True when the path exists and is a regular file. */
    static boolean exists(Path p) {
        return Files.isRegularFile(p);
    }
}
