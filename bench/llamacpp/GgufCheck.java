import dev.jgpt.io.GgmlType;
import dev.jgpt.io.GgufFile;
import dev.jgpt.io.GgufWriter;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaGguf;
import dev.jgpt.llama.LlamaModels;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * jgpt's GGUF reader checked against llama.cpp's own code (bench/llamacpp-check.sh runs it with the ggml library of
 * node-llama-cpp's prebuilt CPU build):
 *
 *   dequant LIBDIR            for each ggml type jgpt reads: random rows quantized by ggml's ggml_quantize_chunk,
 *                             decoded by ggml's dequantize_row_* and by GgmlType.decode: the floats must be equal
 *   quantize LIBDIR IN OUT [MIX]  IN (an F32 llama GGUF) with its matrices quantized by ggml_quantize_chunk; MIX
 *                             q4_k_m (Q6_K for output, attn_v, ffn_down; Q4_K elsewhere — q5_k_m: Q5_K; where rows are not whole
 *                             256-weight blocks, llama.cpp's fallbacks: Q4_K -> Q5_0, Q6_K -> Q8_0), a ggml type name, or
 *                             (default) cycling through Q4_K, Q6_K, Q5_K, Q3_K, Q2_K for matrices whose rows are multiples
 *                             of 256 and through Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 for the others; inplace: the types jgpt's
 *                             --dtype gguf multiplies in place (Q4_K even layers, Q6_K odd layers and the classifier
 *                             where rows are whole 256-weight blocks, Q4_0 and Q8_0 in turn elsewhere); inplace-low:
 *                             Q3_K in even layers and Q2_K in odd ones (llama.cpp's Q3_K_M, Q2_K files), the classifier
 *                             Q6_K, and Q4_1, Q5_0, Q5_1 in turn where rows are not whole 256-weight blocks
 *   spm TOKENIZER_JSON OUT    a sentencepiece vocabulary made from a byte-level BPE, as llama.cpp's "llama"
 *                             tokenizer model, in a GGUF with tiny random weights
 *   ids GGUF TEXT             jgpt's token ids of TEXT with the tokenizer inside GGUF (no BOS)
 */
public class GgufCheck {
    public static void main(String[] args) throws Throwable {
        switch (args[0]) {
            case "dequant" -> dequant(Path.of(args[1]));
            case "quantize" -> quantize(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]), args.length > 4 ? args[4] : "cycle");
            case "spm" -> spm(Path.of(args[1]), Path.of(args[2]));
            case "ids" -> ids(Path.of(args[1]), args[2]);
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static final Linker LINKER = Linker.nativeLinker();

    /** The layer of a tensor named blk.N.*, else 0. */
    static int layerOf(String name) {
        return name.startsWith("blk.") ? Integer.parseInt(name.substring(4, name.indexOf('.', 4))) : 0;
    }

    /** ggml_quantize_chunk(type, src, dst, start, nrows, n_per_row, imatrix) and the row decoders, from libggml-base.so. */
    private record Ggml(MethodHandle quantize, SymbolLookup lib) {
        static Ggml open(Path dir, Arena arena) {
            SymbolLookup lib = SymbolLookup.libraryLookup(dir.resolve("libggml-base.so"), arena);
            MethodHandle q = LINKER.downcallHandle(lib.findOrThrow("ggml_quantize_chunk"), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
            return new Ggml(q, lib);
        }

        MemorySegment quantize(GgmlType t, MemorySegment f32, long rows, long perRow, Arena arena) throws Throwable {
            MemorySegment out = arena.allocate(t.bytes(rows * perRow), 64);
            long n = (long) quantize.invokeExact(t.id, f32, out, 0L, rows, perRow, MemorySegment.NULL);
            if (n != out.byteSize()) throw new IllegalStateException(t + ": ggml wrote " + n + " bytes, expected " + out.byteSize());
            return out;
        }

        /** ggml's own decoder of type t: dequantize_row_x, or the fp16/bf16 row converters. */
        void decode(GgmlType t, MemorySegment src, MemorySegment dst, long n) throws Throwable {
            String name = switch (t) {
                case F16 -> "ggml_fp16_to_fp32_row";
                case BF16 -> "ggml_bf16_to_fp32_row";
                default -> "dequantize_row_" + t.name().toLowerCase().replace("_k", "_K");
            };
            MethodHandle h = LINKER.downcallHandle(lib.findOrThrow(name),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            h.invokeExact(src, dst, n);
        }
    }

    static void dequant(Path libDir) throws Throwable {
        boolean ok = true;
        try (Arena arena = Arena.ofConfined()) {
            Ggml ggml = Ggml.open(libDir, arena);
            SplittableRandom r = new SplittableRandom(42);
            long rows = 16, perRow = 512, n = rows * perRow;
            MemorySegment x = arena.allocate(n * 4, 64);
            for (long i = 0; i < n; i++) {
                // mostly small normal weights, a few outliers, some rows shifted so minima matter (Q4_1, Q5_1, K types)
                double v = r.nextGaussian() * 0.02 + (i / perRow % 3 == 0 ? 0.01 : 0) + (r.nextInt(200) == 0 ? r.nextGaussian() * 0.3 : 0);
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
            }
            for (GgmlType t : GgmlType.values()) {
                if (t == GgmlType.F32) continue;
                MemorySegment q = t == GgmlType.F16 || t == GgmlType.BF16 ? halfs(t, x, n, arena) : ggml.quantize(t, x, rows, perRow, arena);
                MemorySegment theirs = arena.allocate(n * 4, 64), ours = arena.allocate(n * 4, 64);
                ggml.decode(t, q, theirs, n);
                t.decode(q, 0, n, ours, 0);
                long diff = 0;
                double maxAbs = 0, err = 0;
                for (long i = 0; i < n; i++) {
                    float a = theirs.getAtIndex(ValueLayout.JAVA_FLOAT, i), b = ours.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    if (Float.floatToRawIntBits(a) != Float.floatToRawIntBits(b)) diff++;
                    maxAbs = Math.max(maxAbs, Math.abs(a - b));
                    err = Math.max(err, Math.abs(a - x.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
                }
                System.out.printf("{\"check\": \"ggml dequantize\", \"type\": \"%s\", \"weights\": %d, \"differentFloats\": %d, "
                        + "\"maxAbsDiff\": %.3g, \"maxQuantizationError\": %.3g, \"ok\": %b}%n", t, n, diff, maxAbs, err, diff == 0);
                ok &= diff == 0;
            }
        }
        System.exit(ok ? 0 : 1);
    }

    /** F16 and BF16 rows as ggml would store them (round to nearest even). */
    private static MemorySegment halfs(GgmlType t, MemorySegment x, long n, Arena arena) {
        MemorySegment out = arena.allocate(n * 2, 64);
        for (long i = 0; i < n; i++) {
            float v = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            out.setAtIndex(ValueLayout.JAVA_SHORT, i, t == GgmlType.F16 ? Float.floatToFloat16(v) : dev.jgpt.memory.DType.toBf16(v));
        }
        return out;
    }

    static void quantize(Path libDir, Path in, Path out, String mix) throws Throwable {
        GgmlType[] kTypes = {GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q5_K, GgmlType.Q3_K, GgmlType.Q2_K};
        GgmlType[] blockTypes = {GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0};
        int nK = 0;
        try (Arena arena = Arena.ofShared()) {
            Ggml ggml = Ggml.open(libDir, arena);
            GgufFile g = GgufFile.open(in, arena);
            GgufWriter w = new GgufWriter();
            for (Map.Entry<String, Object> e : g.metadata().entrySet()) {
                String k = e.getKey();
                switch (e.getValue()) {
                    case String s -> w.putString(k, s);
                    case Long l -> w.putUInt32(k, Math.toIntExact(l));
                    case Double d -> w.putFloat32(k, d.floatValue());
                    case Boolean b -> w.putBool(k, b);
                    case String[] s -> w.putStringArray(k, List.of(s));
                    case long[] l -> w.putInt32Array(k, java.util.Arrays.stream(l).mapToInt(Math::toIntExact).toArray());
                    case double[] d -> {
                        float[] f = new float[d.length];
                        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
                        w.putFloat32Array(k, f);
                    }
                    default -> throw new IllegalArgumentException(k + ": " + e.getValue().getClass());
                }
            }
            int i = 0;
            StringBuilder types = new StringBuilder();
            for (GgufFile.Tensor t : g.tensors().values()) {
                if (t.type() != GgmlType.F32) throw new IllegalArgumentException(t.name() + " is " + t.type() + ", not F32");
                if (t.ne().length != 2) {
                    w.addTensor(t.name(), t.data(), t.ne());
                    continue;
                }
                GgmlType q = switch (mix) {
                    case "cycle" -> t.ne()[0] % 256 == 0 ? kTypes[nK++ % kTypes.length] : blockTypes[i++ % blockTypes.length];
                    // like llama.cpp's Q4_K_M: 6 bits for the classifier, v and the MLP's down projection, 4 elsewhere
                    case "q4_k_m", "q5_k_m" -> t.name().equals("output.weight") || t.name().endsWith("attn_v.weight")
                            || t.name().endsWith("ffn_down.weight") ? GgmlType.Q6_K : mix.equals("q4_k_m") ? GgmlType.Q4_K : GgmlType.Q5_K;
                    // what jgpt's --dtype gguf multiplies in place, layers of different types: where rows are whole
                    // 256-weight blocks Q4_K in even layers and Q6_K in odd ones (and the classifier), else Q4_0 and
                    // Q8_0 in turn
                    case "inplace" -> t.ne()[0] % 256 != 0 ? (i++ % 2 == 0 ? GgmlType.Q4_0 : GgmlType.Q8_0)
                            : t.name().equals("output.weight") || layerOf(t.name()) % 2 == 1 ? GgmlType.Q6_K : GgmlType.Q4_K;
                    case "inplace-low" -> t.ne()[0] % 256 != 0 ? new GgmlType[] {GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1}[i++ % 3]
                            : t.name().equals("output.weight") ? GgmlType.Q6_K : layerOf(t.name()) % 2 == 1 ? GgmlType.Q2_K : GgmlType.Q3_K;
                    // the IQ4 types jgpt decodes at load: IQ4_XS where rows are whole 256-weight blocks, else IQ4_NL
                    case "iq4" -> t.ne()[0] % 256 == 0 ? GgmlType.IQ4_XS : GgmlType.IQ4_NL;
                    default -> GgmlType.valueOf(mix.toUpperCase());
                };
                if (t.ne()[0] % q.blockSize != 0) { // llama.cpp's quantizer falls back the same way
                    q = switch (q) {
                        case Q2_K, Q3_K -> GgmlType.Q4_0;
                        case Q4_K -> GgmlType.Q5_0;
                        case Q5_K -> GgmlType.Q5_1;
                        default -> GgmlType.Q8_0;
                    };
                }
                types.append(types.isEmpty() ? "" : ", ").append(t.name()).append(' ').append(q);
                w.addTensor(t.name(), q, ggml.quantize(q, t.data(), t.ne()[1], t.ne()[0], arena), t.ne());
            }
            w.write(out);
            System.err.println("GgufCheck quantize: " + types);
        }
    }

    /**
     * A sentencepiece-style vocabulary made from a byte-level BPE ({@code tokenizer.json}), in a GGUF with tiny random
     * weights, to compare the two implementations' sentencepiece encoders: ids 0..2 unk/BOS/EOS, 3..258 the byte
     * pieces {@code <0x00>..<0xFF>}, then every character that occurs in the BPE's tokens (score 0), then each BPE
     * token that is whole UTF-8 text, scoring minus its merge rank (so both merge in BPE's order).
     */
    static void spm(Path tokenizerJson, Path out) {
        dev.jgpt.tokenizer.BpeTokenizer bpe = dev.jgpt.tokenizer.BpeTokenizer.load(tokenizerJson);
        java.util.LinkedHashMap<String, Float> pieces = new java.util.LinkedHashMap<>();
        pieces.put("<unk>", 0f);
        pieces.put("<s>", 0f);
        pieces.put("</s>", 0f);
        for (int b = 0; b < 256; b++) pieces.put(String.format("<0x%02X>", b), 0f);
        List<String> merged = new ArrayList<>();
        for (int i = 0; i < bpe.vocabSize(); i++) {
            if (bpe.isAddedToken(i)) continue;
            byte[] raw = bpe.tokenBytes(i);
            if (raw == null || raw.length == 0) continue;
            try {
                String text = java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(raw)).toString();
                text.codePoints().forEach(cp -> pieces.putIfAbsent(new String(Character.toChars(cp)), 0f));
                if (text.codePointCount(0, text.length()) > 1) merged.add(text);
            } catch (java.nio.charset.CharacterCodingException e) {
                // a fragment of a character: not text, left out
            }
        }
        int rank = 0;
        for (String m : merged) pieces.putIfAbsent(m, -(float) ++rank);
        byte[][] p = new byte[pieces.size()][];
        float[] scores = new float[pieces.size()];
        int i = 0;
        for (var e : pieces.entrySet()) {
            p[i] = e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            scores[i++] = e.getValue();
        }
        var c = dev.jgpt.llama.LlamaConfig.llama2c(32, 64, 1, 2, 2, p.length, 64, true);
        try (Arena arena = Arena.ofShared()) {
            LlamaGguf.write(out, dev.jgpt.llama.RandomLlama.create(c, 1, arena), new Llama2cTokenizer(p, scores), "spm", GgmlType.F32);
        }
        System.err.println("GgufCheck spm: " + p.length + " pieces (" + merged.size() + " merged)");
    }

    static void ids(Path gguf, String text) {
        var tok = LlamaModels.ggufTokenizer(gguf);
        int[] ids = tok instanceof Llama2cTokenizer spm ? spm.encode(text, false, false) : tok.encode(text);
        StringBuilder b = new StringBuilder();
        for (int id : ids) b.append(b.isEmpty() ? "" : " ").append(id);
        System.out.println(b);
    }
}
