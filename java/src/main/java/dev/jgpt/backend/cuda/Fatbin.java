package dev.jgpt.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads an NVIDIA fatbin container (what {@code nvcc -fatbin} writes) far enough to list its entries
 * (ELF cubins per SM architecture, PTX per virtual architecture) and the kernel names each carries:
 * the global functions of an ELF's symbol table, the {@code .entry} directives of an uncompressed PTX.
 * It stands in for {@code cuobjdump --list-elf --list-ptx}, which CI machines without a full CUDA
 * toolkit lack.
 *
 * <p>Layout (little-endian): a 16-byte header {@code u32 magic 0xBA55ED50, u16 version, u16 headerSize,
 * u64 payloadSize}, then entries, each {@code u16 kind (1 PTX, 2 ELF), u16 version, u32 headerSize,
 * u64 payloadSize, u32 compressedSize, u32 ?, u16 minor, u16 major, u32 arch, u32 nameOffset,
 * u32 nameLength, u64 flags, u64 ?, u64 uncompressedSize}, then the payload. Flag 0x100000 marks an
 * arch-specific target ({@code sm_90a}); flags 0x2000 and 0x8000 a compressed payload (CUDA 13
 * compresses PTX with zstd by default, which this reader does not unpack).
 */
public final class Fatbin {
    public static final int MAGIC = 0xBA55ED50;
    /** Where the build puts the fatbin inside the jar. */
    public static final String RESOURCE = "/native/cuda/kernels.fatbin";

    private static final long FLAG_ARCH_SPECIFIC = 0x100000L;
    private static final long FLAG_COMPRESSED = 0x2000L | 0x8000L;

    public enum Kind { PTX, ELF }

    /**
     * One entry. {@code kernels} is empty for a compressed PTX (names unknown without zstd).
     */
    public record Entry(Kind kind, int arch, boolean archSpecific, boolean compressed, long payloadBytes,
                        List<String> kernels) {
        /** {@code sm_80}, {@code sm_90a}, {@code compute_90}. */
        public String archName() {
            return (kind == Kind.ELF ? "sm_" : "compute_") + arch + (archSpecific ? "a" : "");
        }

        @Override
        public String toString() {
            return kind + " " + archName() + " (" + payloadBytes + " bytes" + (compressed ? ", compressed" : "")
                    + ", " + kernels.size() + " kernels)";
        }
    }

    private final List<Entry> entries;
    private final long bytes;

    private Fatbin(List<Entry> entries, long bytes) {
        this.entries = List.copyOf(entries);
        this.bytes = bytes;
    }

    public List<Entry> entries() {
        return entries;
    }

    public long byteSize() {
        return bytes;
    }

    /** The arch names of all entries, e.g. {@code [sm_80, sm_90a, compute_90]}. */
    public List<String> architectures() {
        return entries.stream().map(Entry::archName).toList();
    }

    public Optional<Entry> find(Kind kind, String archName) {
        return entries.stream().filter(e -> e.kind == kind && e.archName().equals(archName)).findFirst();
    }

    /** The fatbin packaged in the jar, if the build had nvcc. */
    public static Optional<byte[]> readResource() {
        try (InputStream in = Fatbin.class.getResourceAsStream(RESOURCE)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + RESOURCE + " from the jar: " + e.getMessage(), e);
        }
    }

    public static Fatbin parse(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 16 || b.getInt(0) != MAGIC) {
            throw new IllegalArgumentException("not a fatbin: magic " + (image.length < 4 ? "missing" : Integer.toHexString(b.getInt(0))));
        }
        int headerSize = Short.toUnsignedInt(b.getShort(6));
        long payload = b.getLong(8);
        long end = headerSize + payload;
        if (end > image.length) throw new IllegalArgumentException("fatbin truncated: " + image.length + " < " + end + " bytes");
        List<Entry> entries = new ArrayList<>();
        long off = headerSize;
        while (off + 64 <= end) {
            int p = Math.toIntExact(off);
            int kindCode = Short.toUnsignedInt(b.getShort(p));
            long entryHeader = Integer.toUnsignedLong(b.getInt(p + 4));
            long size = b.getLong(p + 8);
            int arch = b.getInt(p + 28);
            long flags = b.getLong(p + 40);
            if (entryHeader < 64 || off + entryHeader + size > end) {
                throw new IllegalArgumentException("fatbin entry at byte " + off + " overruns the container");
            }
            int start = Math.toIntExact(off + entryHeader);
            int len = Math.toIntExact(size);
            boolean compressed = (flags & FLAG_COMPRESSED) != 0;
            Kind kind = switch (kindCode) {
                case 1 -> Kind.PTX;
                case 2 -> Kind.ELF;
                default -> null;
            };
            if (kind != null) {
                List<String> names = compressed ? List.of()
                        : kind == Kind.ELF ? elfFunctions(image, start, len) : ptxEntries(image, start, len);
                entries.add(new Entry(kind, arch, (flags & FLAG_ARCH_SPECIFIC) != 0, compressed, size, names));
            }
            off += entryHeader + size;
        }
        return new Fatbin(entries, image.length);
    }

    /** Names of global FUNC symbols in the symbol table of an ELF64 little-endian cubin. */
    static List<String> elfFunctions(byte[] image, int start, int len) {
        ByteBuffer e = ByteBuffer.wrap(image, start, len).slice().order(ByteOrder.LITTLE_ENDIAN);
        if (len < 64 || e.getInt(0) != 0x464c457f || e.get(4) != 2) throw new IllegalArgumentException("fatbin ELF entry is not ELF64");
        long shoff = e.getLong(0x28);
        int shentsize = Short.toUnsignedInt(e.getShort(0x3A));
        int shnum = Short.toUnsignedInt(e.getShort(0x3C));
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < shnum; i++) {
            int sh = Math.toIntExact(shoff + (long) i * shentsize);
            if (e.getInt(sh + 4) != 2) continue; // SHT_SYMTAB
            long symOff = e.getLong(sh + 0x18);
            long symSize = e.getLong(sh + 0x20);
            int link = e.getInt(sh + 0x28);
            long entSize = e.getLong(sh + 0x38);
            int strSh = Math.toIntExact(shoff + (long) link * shentsize);
            long strOff = e.getLong(strSh + 0x18);
            for (long s = symOff; s + entSize <= symOff + symSize; s += entSize) {
                int si = Math.toIntExact(s);
                int info = e.get(si + 4) & 0xff;
                boolean func = (info & 0xf) == 2;
                boolean global = (info >> 4) == 1;
                if (func && global) names.add(cString(e, Math.toIntExact(strOff + Integer.toUnsignedLong(e.getInt(si)))));
            }
        }
        return List.copyOf(names);
    }

    private static final Pattern PTX_ENTRY = Pattern.compile("\\.entry\\s+([A-Za-z_$][\\w$]*)");

    static List<String> ptxEntries(byte[] image, int start, int len) {
        Matcher m = PTX_ENTRY.matcher(new String(image, start, len, StandardCharsets.US_ASCII));
        List<String> names = new ArrayList<>();
        while (m.find()) names.add(m.group(1));
        return names;
    }

    private static String cString(ByteBuffer b, int at) {
        int end = at;
        while (b.get(end) != 0) end++;
        byte[] out = new byte[end - at];
        b.get(at, out);
        return new String(out, StandardCharsets.US_ASCII);
    }
}
