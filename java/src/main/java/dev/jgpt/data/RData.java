package dev.jgpt.data;

import dev.jgpt.JgptException;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.InflaterInputStream;

/**
 * Enough of R's serialization format (XDR binary, versions 2 and 3) and of its lazy-load
 * databases ({@code Rdata.rdx} index + {@code Rdata.rdb} values, as installed R packages keep
 * their data sets) to read character vectors: the text of a data package such as janeaustenr.
 *
 * <p>Values come back as Java objects: character vectors as {@code List<String>} (NA as null),
 * integer/logical vectors as {@code int[]}, doubles as {@code double[]}, lists as {@code List<Object>},
 * symbols as {@link Sym}, pairlists as {@link Pairlist}; attributes are read and dropped except
 * {@code names} of lists, which {@link #names} gives. Closures, environments and byte code are
 * skipped over where the format allows and rejected with a clear error otherwise.
 */
public final class RData {
    private RData() {}

    public record Sym(String name) {}

    /** A pairlist as (tag, value) entries. */
    public record Pairlist(List<String> tags, List<Object> values) {}

    /** A list (VECSXP) with its names attribute. */
    public record NamedList(List<String> names, List<Object> values) {
        public Object get(String name) {
            int i = names == null ? -1 : names.indexOf(name);
            return i < 0 ? null : values.get(i);
        }
    }

    /**
     * Reads the named objects of a lazy-load database: {@code rdx} is the index (a compressed
     * serialized list with {@code variables}: name -> c(offset, length), and {@code compressed}).
     */
    public static Map<String, Object> readLazyLoadDb(String what, byte[] rdx, byte[] rdb) {
        Object index = unserialize(what + ".rdx", decompressWhole(what + ".rdx", rdx));
        if (!(index instanceof NamedList idx) || !(idx.get("variables") instanceof NamedList vars)) {
            throw new JgptException(what + ".rdx: not an R lazy-load index (no 'variables' list)");
        }
        int compression = 1;
        if (idx.get("compressed") instanceof int[] c && c.length == 1) compression = c[0];
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < vars.values().size(); i++) {
            String name = vars.names().get(i);
            long[] ol = offsetLength(what, name, vars.values().get(i));
            if (ol[0] < 0 || ol[1] < 4 || ol[0] + ol[1] > rdb.length) {
                throw new JgptException(what + ".rdb: entry '" + name + "' at " + ol[0] + "+" + ol[1] + " is outside the file (" + rdb.length + " bytes)");
            }
            byte[] entry = Arrays.copyOfRange(rdb, (int) ol[0], (int) (ol[0] + ol[1]));
            out.put(name, unserialize(what + ".rdb:" + name, decompressEntry(what + ".rdb:" + name, entry, compression)));
        }
        return out;
    }

    private static long[] offsetLength(String what, String name, Object v) {
        if (v instanceof int[] a && a.length == 2) return new long[] {a[0], a[1]};
        if (v instanceof double[] d && d.length == 2) return new long[] {(long) d[0], (long) d[1]};
        throw new JgptException(what + ".rdx: entry '" + name + "' is not an (offset, length) pair");
    }

    /** A whole-file compressed stream (as saveRDS writes): gzip, bzip2, xz, or plain. */
    static byte[] decompressWhole(String what, byte[] b) {
        try {
            if (b.length >= 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b) return new GZIPInputStream(new ByteArrayInputStream(b)).readAllBytes();
            if (b.length >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h') return new BZip2CompressorInputStream(new ByteArrayInputStream(b)).readAllBytes();
            if (b.length >= 6 && (b[0] & 0xff) == 0xFD && b[1] == '7' && b[2] == 'z') return new XZCompressorInputStream(new ByteArrayInputStream(b)).readAllBytes();
            return b;
        } catch (IOException e) {
            throw new JgptException(what + ": corrupt compressed data (" + e.getMessage() + ")");
        }
    }

    /**
     * One value of a lazy-load database: a big-endian uint32 uncompressed length, then zlib data
     * (compression 1), or a type byte ('Z' zlib, '2' bzip2, 'X' xz, '0' none) and the data (2, 3).
     */
    static byte[] decompressEntry(String what, byte[] e, int compression) {
        int len = ((e[0] & 0xff) << 24) | ((e[1] & 0xff) << 16) | ((e[2] & 0xff) << 8) | (e[3] & 0xff);
        try {
            InputStream in;
            if (compression == 1) {
                in = new InflaterInputStream(new ByteArrayInputStream(e, 4, e.length - 4));
            } else {
                char type = (char) e[4];
                ByteArrayInputStream body = new ByteArrayInputStream(e, 5, e.length - 5);
                in = switch (type) {
                    case 'Z' -> new InflaterInputStream(body);
                    case '2' -> new BZip2CompressorInputStream(body);
                    case 'X' -> new XZCompressorInputStream(body);
                    case '0' -> body;
                    default -> throw new JgptException(what + ": unknown compression type '" + type + "'");
                };
            }
            byte[] out = in.readAllBytes();
            if (out.length != len) throw new JgptException(what + ": decompressed to " + out.length + " bytes, index says " + len);
            return out;
        } catch (IOException ex) {
            throw new JgptException(what + ": corrupt compressed data (" + ex.getMessage() + ")");
        }
    }

    /** Parses one serialized R object ("X\n" XDR format). */
    public static Object unserialize(String what, byte[] data) {
        if (data.length < 2 || data[0] != 'X' || data[1] != '\n') {
            throw new JgptException(what + ": not R serialized data in XDR format (starts with "
                    + new String(data, 0, Math.min(2, data.length), StandardCharsets.ISO_8859_1).replace("\n", "\\n") + ")");
        }
        try {
            return new Reader(what, new DataInputStream(new ByteArrayInputStream(data, 2, data.length - 2))).top();
        } catch (IOException e) {
            throw new JgptException(what + ": truncated R serialized data (" + e.getMessage() + ")");
        }
    }

    private static final class Reader {
        private static final int NILSXP = 0, SYMSXP = 1, LISTSXP = 2, CLOSXP = 3, ENVSXP = 4, PROMSXP = 5, LANGSXP = 6,
                CHARSXP = 9, LGLSXP = 10, INTSXP = 13, REALSXP = 14, CPLXSXP = 15, STRSXP = 16, DOTSXP = 17,
                VECSXP = 19, EXPRSXP = 20, RAWSXP = 24, S4SXP = 25;
        private static final int REFSXP = 255, NILVALUE = 254, GLOBALENV = 253, UNBOUNDVALUE = 252, MISSINGARG = 251,
                BASENAMESPACE = 250, NAMESPACESXP = 249, PACKAGESXP = 248, PERSISTSXP = 247, EMPTYENV = 242,
                BASEENV = 241, ATTRLANGSXP = 240, ATTRLISTSXP = 239, ALTREP = 238;

        private final String what;
        private final DataInputStream in;
        private final List<Object> refs = new ArrayList<>();

        Reader(String what, DataInputStream in) {
            this.what = what;
            this.in = in;
        }

        Object top() throws IOException {
            int version = in.readInt();
            in.readInt(); // writer's R version
            in.readInt(); // minimal reader version
            if (version == 3) {
                int n = in.readInt();
                in.skipNBytes(n); // native encoding name
            } else if (version != 2) {
                throw new JgptException(what + ": unsupported R serialization version " + version);
            }
            return item();
        }

        private Object item() throws IOException {
            return item(in.readInt());
        }

        private Object item(int flags) throws IOException {
            int type = flags & 0xff;
            boolean hasAttr = (flags & (1 << 9)) != 0, hasTag = (flags & (1 << 10)) != 0;
            switch (type) {
                case NILVALUE, NILSXP, EMPTYENV, BASEENV, GLOBALENV, UNBOUNDVALUE, MISSINGARG, BASENAMESPACE:
                    return null;
                case REFSXP: {
                    int idx = flags >> 8;
                    if (idx == 0) idx = in.readInt();
                    if (idx < 1 || idx > refs.size()) throw new JgptException(what + ": bad reference " + idx);
                    return refs.get(idx - 1);
                }
                case PERSISTSXP, NAMESPACESXP, PACKAGESXP: {
                    in.readInt(); // 0
                    Object names = stringVector();
                    refs.add(names);
                    return names;
                }
                case SYMSXP: {
                    Object name = item(); // a CHARSXP
                    Sym s = new Sym((String) name);
                    refs.add(s);
                    return s;
                }
                case ENVSXP: {
                    in.readInt(); // locked
                    Object env = new Object();
                    refs.add(env);
                    item(); item(); item(); item(); // enclosure, frame, hash table, attributes
                    return env;
                }
                case LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP, ATTRLANGSXP, ATTRLISTSXP: {
                    List<String> tags = new ArrayList<>();
                    List<Object> values = new ArrayList<>();
                    int t, f;
                    boolean attr = hasAttr || type == ATTRLANGSXP || type == ATTRLISTSXP, tag = hasTag;
                    while (true) {
                        if (attr) item();
                        Object tg = tag ? item() : null;
                        tags.add(tg instanceof Sym s ? s.name() : null);
                        values.add(item());
                        // the CDR: another cell of the same list continues the loop instead of recursing
                        f = in.readInt();
                        t = f & 0xff;
                        if (t == LISTSXP || t == LANGSXP || t == ATTRLANGSXP || t == ATTRLISTSXP) {
                            attr = (f & (1 << 9)) != 0 || t == ATTRLANGSXP || t == ATTRLISTSXP;
                            tag = (f & (1 << 10)) != 0;
                            continue;
                        }
                        item(f); // a closure's body, a promise's expression, or the terminating NULL
                        break;
                    }
                    return new Pairlist(tags, values);
                }
                case CHARSXP: {
                    int len = in.readInt();
                    if (len == -1) return null; // NA_character_
                    byte[] b = in.readNBytes(len);
                    if (b.length != len) throw new IOException("string cut short");
                    boolean latin1 = (flags & (1 << 14)) != 0; // LATIN1_MASK in the levels
                    return new String(b, latin1 ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
                }
                case LGLSXP, INTSXP: {
                    int n = length();
                    int[] v = new int[n];
                    for (int i = 0; i < n; i++) v[i] = in.readInt();
                    if (hasAttr) item();
                    return v;
                }
                case REALSXP: {
                    int n = length();
                    double[] v = new double[n];
                    for (int i = 0; i < n; i++) v[i] = in.readDouble();
                    if (hasAttr) item();
                    return v;
                }
                case CPLXSXP: {
                    int n = length();
                    double[] v = new double[2 * n];
                    for (int i = 0; i < 2 * n; i++) v[i] = in.readDouble();
                    if (hasAttr) item();
                    return v;
                }
                case RAWSXP: {
                    int n = length();
                    byte[] v = in.readNBytes(n);
                    if (hasAttr) item();
                    return v;
                }
                case STRSXP: {
                    List<String> v = stringVectorBody(length());
                    if (hasAttr) item();
                    return v;
                }
                case VECSXP, EXPRSXP: {
                    int n = length();
                    List<Object> v = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) v.add(item());
                    List<String> names = null;
                    if (hasAttr && item() instanceof Pairlist attrs) names = namesOf(attrs);
                    return new NamedList(names, v);
                }
                case S4SXP: {
                    if (hasAttr) item();
                    return null;
                }
                case ALTREP: {
                    item();                  // class info
                    Object state = item();   // for the common wrappers, the data itself
                    item();                  // attributes
                    return state instanceof Pairlist p && !p.values().isEmpty() ? p.values().getFirst() : state;
                }
                default:
                    throw new JgptException(what + ": unsupported R object type " + type);
            }
        }

        private List<String> namesOf(Pairlist attrs) {
            for (int i = 0; i < attrs.tags().size(); i++) {
                if ("names".equals(attrs.tags().get(i)) && attrs.values().get(i) instanceof List<?> l) {
                    List<String> out = new ArrayList<>();
                    for (Object o : l) out.add((String) o);
                    return out;
                }
            }
            return null;
        }

        private List<String> stringVector() throws IOException {
            return stringVectorBody(in.readInt());
        }

        private List<String> stringVectorBody(int n) throws IOException {
            List<String> v = new ArrayList<>(n);
            for (int i = 0; i < n; i++) v.add((String) item());
            return v;
        }

        private int length() throws IOException {
            int n = in.readInt();
            if (n == -1) {
                long len = ((long) in.readInt() << 32) | (in.readInt() & 0xffffffffL);
                if (len > Integer.MAX_VALUE - 8) throw new JgptException(what + ": vector of " + len + " elements is too long");
                return (int) len;
            }
            if (n < 0) throw new JgptException(what + ": negative vector length " + n);
            return n;
        }
    }
}
