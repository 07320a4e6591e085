package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.bindings.Jgpt;

/** The dtype the decode matrix-vector products read their weights in ({@code --dtype}). */
public enum DecodeDType {
    /** The checkpoint's float32 weights, used in place (memory-mapped). */
    F32(Jgpt.JGPT_DECODE_F32),
    /** bfloat16: the top 16 bits of each float32 (round to nearest even); half the bytes. */
    BF16(Jgpt.JGPT_DECODE_BF16),
    /** int8 with one float scale per group of 32 or 64 weights (like llama2.c's runq / Q8_0). */
    Q8(Jgpt.JGPT_DECODE_Q8),
    /**
     * A GGUF file's own blocks, used in place from the mapping (Q2_K-Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, IQ4_XS, F16, BF16, F32; layers may differ, as in
     * llama.cpp's Q4_K_M): no copy of the matrices at all. GGUF files only.
     */
    GGUF(Jgpt.JGPT_DECODE_GGML);

    public final int code;

    DecodeDType(int code) {
        this.code = code;
    }

    public static DecodeDType parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "f32", "fp32", "float32" -> F32;
            case "bf16", "bfloat16" -> BF16;
            case "q8", "int8", "q8_0" -> Q8;
            case "gguf", "ggml" -> GGUF;
            default -> throw new JgptException("--dtype: '" + s + "' is not one of f32, bf16, q8, gguf");
        };
    }

    /**
     * Whether the KV caches of a model decoded in this dtype hold IEEE halves, as llama.cpp's do: for weights that are
     * already rounded (bf16, q8, a GGUF file's blocks) the cache is rounded too, halving the bytes attention reads per
     * token; float32 weights keep a float32 cache (their decode equals the plain-Java reference's). {@code
     * JGPT_KV_CACHE=f16|f32} chooses for every dtype (for measuring). Llama and GPT-2 decoders alike (libjgpt ABI 15).
     */
    public boolean halfKvCache() {
        String e = System.getenv("JGPT_KV_CACHE");
        if (e != null && !e.isBlank()) {
            return switch (e.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "f16" -> true;
                case "f32" -> false;
                default -> throw new JgptException("JGPT_KV_CACHE=" + e.strip() + ": f16 or f32");
            };
        }
        return this != F32;
    }

    /** Bytes per weight including q8's scales (gguf: Q4_K's, the smallest type it reads). */
    public double bytesPerWeight(int groupSize) {
        return switch (this) {
            case F32 -> 4;
            case BF16 -> 2;
            case Q8 -> 1 + 4.0 / groupSize;
            case GGUF -> 144.0 / 256;
        };
    }

    /** Refuses {@link #GGUF} for a model that is not a GGUF file ({@code what} names it). */
    public DecodeDType requireNotGguf(Object what) {
        if (this == GGUF) {
            throw new JgptException("--dtype gguf decodes a GGUF file's own blocks, and " + what + " is not a GGUF file (use f32, bf16 or q8)");
        }
        return this;
    }

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
