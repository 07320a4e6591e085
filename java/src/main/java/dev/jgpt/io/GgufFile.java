package dev.jgpt.io;

import dev.jgpt.JgptException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF file (llama.cpp's format, versions 2 and 3), memory-mapped and parsed: the metadata key/values and
 * the tensor infos, each tensor's bytes a slice of the mapping. Everything is checked as it is read — the
 * magic, the version, lengths and counts against the bytes left, each tensor's type, shape, alignment and
 * extent — and a bad file is refused with one message naming the file, the byte offset and what was being
 * read. Metadata values are {@link Long} (every integer type), {@link Double} (float32/64), {@link Boolean},
 * {@link String}, or arrays: {@code long[]}, {@code double[]}, {@code boolean[]}, {@code String[]}
 * ({@code Object[]} for arrays of arrays). See docs/formats.md.
 */
public final class GgufFile {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final int T_UINT8 = 0, T_INT8 = 1, T_UINT16 = 2, T_INT16 = 3, T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6,
            T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_UINT64 = 10, T_INT64 = 11, T_FLOAT64 = 12;

    /** One tensor: {@code ne} fastest-varying first (a (rows, cols) matrix is {cols, rows}), its bytes mapped. */
    public record Tensor(String name, GgmlType type, long[] ne, long offset, MemorySegment data) {
        public long elements() {
            return NamedTensor.numel(ne);
        }
    }

    private final Path file;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, Tensor> tensors;

    private GgufFile(Path file, int version, Map<String, Object> metadata, Map<String, Tensor> tensors) {
        this.file = file;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Whether {@code p} names a GGUF file: a regular file whose first four bytes are "GGUF". */
    public static boolean isGguf(Path p) {
        if (!Files.isRegularFile(p)) return false;
        try (var in = Files.newInputStream(p)) {
            byte[] m = in.readNBytes(4);
            return m.length == 4 && m[0] == 'G' && m[1] == 'G' && m[2] == 'U' && m[3] == 'F';
        } catch (IOException e) {
            return false;
        }
    }

    /** Maps and parses {@code file}; the mapping lives as long as {@code arena}. */
    public static GgufFile open(Path file, Arena arena) {
        MemorySegment all;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (NoSuchFileException e) {
            throw new JgptException("GGUF " + file + ": no such file");
        } catch (IOException e) {
            throw new JgptException("GGUF " + file + ": cannot read: " + e.getMessage());
        }
        return new Parser(file, all).parse();
    }

    public Path file() { return file; }

    public int version() { return version; }

    public Map<String, Object> metadata() { return metadata; }

    /** Tensors by name, in file order. */
    public Map<String, Tensor> tensors() { return tensors; }

    public boolean has(String key) { return metadata.containsKey(key); }

    /** A string value; an error naming the key when it is missing or not a string. */
    public String string(String key) {
        Object v = require(key);
        if (v instanceof String s) return s;
        throw wrongType(key, "a string", v);
    }

    public String string(String key, String otherwise) {
        return has(key) ? string(key) : otherwise;
    }

    /** An integer value that fits an int; an error naming the key otherwise. */
    public int integer(String key) {
        Object v = require(key);
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) return l.intValue();
        throw wrongType(key, "an integer that fits 32 bits", v);
    }

    public int integer(String key, int otherwise) {
        return has(key) ? integer(key) : otherwise;
    }

    public double real(String key, double otherwise) {
        if (!has(key)) return otherwise;
        Object v = metadata.get(key);
        if (v instanceof Double d) return d;
        if (v instanceof Long l) return l;
        throw wrongType(key, "a number", v);
    }

    public boolean bool(String key, boolean otherwise) {
        if (!has(key)) return otherwise;
        if (metadata.get(key) instanceof Boolean b) return b;
        throw wrongType(key, "a bool", metadata.get(key));
    }

    public String[] strings(String key) {
        Object v = require(key);
        if (v instanceof String[] s) return s;
        throw wrongType(key, "an array of strings", v);
    }

    /** An array of numbers as doubles (float32 arrays are exact in double). */
    public double[] reals(String key) {
        Object v = require(key);
        if (v instanceof double[] d) return d;
        if (v instanceof long[] l) return Arrays.stream(l).asDoubleStream().toArray();
        throw wrongType(key, "an array of numbers", v);
    }

    public long[] integers(String key) {
        Object v = require(key);
        if (v instanceof long[] l) return l;
        throw wrongType(key, "an array of integers", v);
    }

    /** The tensor {@code name} with exactly the shape {@code ne} (GGUF order); an error naming both otherwise. */
    public Tensor tensor(String name, long... ne) {
        Tensor t = tensors.get(name);
        if (t == null) throw new JgptException("GGUF " + file + ": tensor " + name + " is missing");
        if (!Arrays.equals(t.ne, ne)) {
            throw new JgptException("GGUF " + file + ": tensor " + name + " has shape " + Arrays.toString(t.ne)
                    + ", the metadata implies " + Arrays.toString(ne));
        }
        return t;
    }

    private Object require(String key) {
        Object v = metadata.get(key);
        if (v == null) throw new JgptException("GGUF " + file + ": metadata key " + key + " is missing");
        return v;
    }

    private JgptException wrongType(String key, String wanted, Object v) {
        return new JgptException("GGUF " + file + ": metadata key " + key + " is not " + wanted + " (it is " + describe(v) + ")");
    }

    private static String describe(Object v) {
        if (v instanceof Object[] || v instanceof long[] || v instanceof double[] || v instanceof boolean[] || v instanceof String[]) {
            return "an array";
        }
        return v instanceof String ? "a string" : v instanceof Boolean ? "a bool" : String.valueOf(v);
    }

    /** Reads the header, metadata and tensor infos front to back, checking each length against the bytes left. */
    private static final class Parser {
        private final Path file;
        private final MemorySegment s;
        private long at;

        Parser(Path file, MemorySegment s) {
            this.file = file;
            this.s = s;
        }

        GgufFile parse() {
            if (s.byteSize() < 4 || s.get(ValueLayout.JAVA_INT_UNALIGNED, 0) != MAGIC) {
                throw new JgptException("GGUF " + file + ": not a GGUF file (its first bytes are not \"GGUF\")");
            }
            at = 4;
            int version = u32("the version");
            if (version == 1) throw fail("GGUF version 1 (2023's first draft) is not supported; convert it again with a current llama.cpp");
            if (version != 2 && version != 3) {
                if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                    throw fail("a big-endian GGUF file; jgpt reads little-endian ones");
                }
                throw fail("version " + version + " is not 2 or 3");
            }
            long tensorCount = count("the tensor count", 24 + 8);
            if (tensorCount > 1 << 20) throw failAt(at - 8, "a tensor count of " + tensorCount + " is more than jgpt reads");
            long kvCount = count("the metadata count", 8 + 4 + 1);
            Map<String, Object> meta = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                long start = at;
                String key = string("metadata key " + i);
                int type = u32("the type of " + key);
                Object v = value(type, key);
                if (meta.putIfAbsent(key, v) != null) throw failAt(start, "metadata key " + key + " appears twice");
            }
            long alignment = 32;
            if (meta.containsKey("general.alignment")) {
                if (!(meta.get("general.alignment") instanceof Long a) || a <= 0 || (a & (a - 1)) != 0 || a > 1 << 20) {
                    throw fail("general.alignment " + meta.get("general.alignment") + " is not a power of two");
                }
                alignment = a;
            }
            record Info(String name, long type, long[] ne, long offset, long at) {}
            Info[] infos = new Info[(int) tensorCount];
            for (int i = 0; i < tensorCount; i++) {
                long start = at;
                String name = string("the name of tensor " + i);
                int dims = u32("the dimension count of " + name);
                if (dims < 1 || dims > 4) throw failAt(start, "tensor " + name + " has " + dims + " dimensions (1 to 4)");
                long[] ne = new long[dims];
                for (int d = 0; d < dims; d++) {
                    ne[d] = u64("dimension " + d + " of " + name);
                    if (ne[d] < 0) throw failAt(start, "tensor " + name + " has a negative dimension");
                }
                long type = u32("the type of " + name) & 0xFFFFFFFFL;
                long offset = u64("the offset of " + name);
                infos[i] = new Info(name, type, ne, offset, start);
            }
            long dataStart = (at + alignment - 1) / alignment * alignment;
            if (dataStart > s.byteSize() && tensorCount > 0) throw fail("the file ends before its tensor data");
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Info t : infos) {
                GgmlType type = GgmlType.byId(t.type);
                String where = "tensor " + t.name + " (described at byte " + t.at + ")";
                if (type == null) {
                    throw new JgptException("GGUF " + file + ": " + where + " is " + GgmlType.nameOf(t.type)
                            + ", a type jgpt cannot read (it reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)");
                }
                long n;
                try {
                    n = NamedTensor.numel(t.ne);
                } catch (ArithmeticException e) {
                    throw new JgptException("GGUF " + file + ": " + where + " has an impossible shape " + Arrays.toString(t.ne));
                }
                if (t.ne[0] % type.blockSize != 0) {
                    throw new JgptException("GGUF " + file + ": " + where + " is " + type + " but its rows of " + t.ne[0]
                            + " are not whole blocks of " + type.blockSize);
                }
                long bytes = type.bytes(n);
                if (t.offset % alignment != 0) {
                    throw new JgptException("GGUF " + file + ": " + where + " starts at data offset " + t.offset
                            + ", not a multiple of the alignment " + alignment);
                }
                if (t.offset < 0 || t.offset > s.byteSize() - dataStart || bytes > s.byteSize() - dataStart - t.offset) {
                    throw new JgptException("GGUF " + file + ": " + where + " (" + bytes + " bytes at data offset " + t.offset
                            + ") lies past the end of the file (" + s.byteSize() + " bytes): truncated?");
                }
                if (tensors.putIfAbsent(t.name, new Tensor(t.name, type, t.ne, t.offset,
                        s.asSlice(dataStart + t.offset, bytes))) != null) {
                    throw new JgptException("GGUF " + file + ": tensor " + t.name + " appears twice");
                }
            }
            return new GgufFile(file, version, meta, tensors);
        }

        private Object value(int type, String key) {
            return switch (type) {
                case T_UINT8 -> (long) (u8(key) & 0xFF);
                case T_INT8 -> (long) u8(key);
                case T_UINT16 -> (long) (u16(key) & 0xFFFF);
                case T_INT16 -> (long) u16(key);
                case T_UINT32 -> u32(key) & 0xFFFFFFFFL;
                case T_INT32 -> (long) u32(key);
                case T_FLOAT32 -> (double) Float.intBitsToFloat(u32(key));
                case T_BOOL -> u8(key) != 0;
                case T_STRING -> string(key);
                case T_UINT64, T_INT64 -> u64(key);
                case T_FLOAT64 -> Double.longBitsToDouble(u64(key));
                case T_ARRAY -> array(key);
                default -> throw failAt(at - 4, "metadata key " + key + " has value type " + type + ", not a GGUF type");
            };
        }

        /** Most elements of one metadata array (real vocabularies and merge lists hold well under a million). */
        private static final long MAX_ARRAY = 1L << 24;

        private Object array(String key) {
            int type = u32("the element type of " + key);
            long n = count("the length of " + key, switch (type) { // the fewest bytes an element of the type takes
                case T_UINT16, T_INT16 -> 2;
                case T_UINT32, T_INT32, T_FLOAT32 -> 4;
                case T_UINT64, T_INT64, T_FLOAT64, T_STRING -> 8;
                case T_ARRAY -> 12;
                default -> 1;
            });
            if (n > MAX_ARRAY) throw failAt(at - 8, "metadata key " + key + " is an array of " + n + " elements, more than jgpt reads");
            int len = (int) n;
            switch (type) {
                case T_STRING -> {
                    String[] v = new String[len];
                    for (int i = 0; i < len; i++) v[i] = string(key + "[" + i + "]");
                    return v;
                }
                case T_FLOAT32, T_FLOAT64 -> {
                    double[] v = new double[len];
                    for (int i = 0; i < len; i++) v[i] = (Double) value(type, key);
                    return v;
                }
                case T_BOOL -> {
                    boolean[] v = new boolean[len];
                    for (int i = 0; i < len; i++) v[i] = u8(key) != 0;
                    return v;
                }
                case T_ARRAY -> {
                    Object[] v = new Object[len];
                    for (int i = 0; i < len; i++) v[i] = array(key + "[" + i + "]");
                    return v;
                }
                case T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_UINT64, T_INT64 -> {
                    long[] v = new long[len];
                    for (int i = 0; i < len; i++) v[i] = (Long) value(type, key);
                    return v;
                }
                default -> throw failAt(at - 12, "metadata key " + key + " is an array of type " + type + ", not a GGUF type");
            }
        }

        /** A u64 count, each counted item at least {@code minBytes}: more than the file could hold is refused. */
        private long count(String what, long minBytes) {
            long n = u64(what);
            if (n < 0 || n > (s.byteSize() - at) / minBytes || n > Integer.MAX_VALUE - 8) {
                throw failAt(at - 8, what + " " + Long.toUnsignedString(n) + " is more than the file's "
                        + (s.byteSize() - at) + " remaining bytes could hold");
            }
            return n;
        }

        private String string(String what) {
            long len = u64("the length of " + what);
            if (len < 0 || len > s.byteSize() - at) {
                throw failAt(at - 8, what + ": a string of " + Long.toUnsignedString(len) + " bytes runs past the end of the file");
            }
            byte[] b = s.asSlice(at, len).toArray(ValueLayout.JAVA_BYTE);
            try {
                String v = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
                at += len;
                return v;
            } catch (CharacterCodingException e) {
                throw failAt(at, what + " is not valid UTF-8");
            }
        }

        private byte u8(String what) {
            need(1, what);
            return s.get(ValueLayout.JAVA_BYTE, at++);
        }

        private short u16(String what) {
            need(2, what);
            short v = s.get(ValueLayout.JAVA_SHORT_UNALIGNED, at);
            at += 2;
            return v;
        }

        private int u32(String what) {
            need(4, what);
            int v = s.get(ValueLayout.JAVA_INT_UNALIGNED, at);
            at += 4;
            return v;
        }

        private long u64(String what) {
            need(8, what);
            long v = s.get(ValueLayout.JAVA_LONG_UNALIGNED, at);
            at += 8;
            return v;
        }

        private void need(long n, String what) {
            if (at + n > s.byteSize()) {
                throw fail("the file ends (" + s.byteSize() + " bytes) while reading " + what + ": truncated?");
            }
        }

        private JgptException fail(String why) {
            return failAt(at, why);
        }

        private JgptException failAt(long offset, String why) {
            return new JgptException("GGUF " + file + " at byte " + offset + ": " + why);
        }
    }
}
