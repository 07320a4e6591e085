package dev.jgpt.model;

import dev.jgpt.JgptException;

import java.util.List;

/**
 * The shape of a GPT-2 model: vocabulary, context, depth, heads and width. Everything else (MLP 4x,
 * tied embeddings, pre-LayerNorm, learned positions) is fixed by the architecture.
 *
 * @param vocabSize     tokens in the vocabulary (V); stored unpadded, so it matches the tokenizer and
 *                      Hugging Face's {@code config.json}
 * @param contextLength the longest sequence (maxT); the size of the position table {@code wpe}
 * @param layers        transformer blocks (L)
 * @param heads         attention heads (NH); must divide {@code channels}
 * @param channels      model width (C)
 */
public record GptConfig(int vocabSize, int contextLength, int layers, int heads, int channels) {

    /** Preset names accepted by {@link #preset(String, int)}, smallest first. */
    public static final List<String> PRESETS = List.of("tiny", "small", "base", "gpt2");

    public GptConfig {
        positive("vocabSize", vocabSize);
        positive("contextLength", contextLength);
        positive("layers", layers);
        positive("heads", heads);
        positive("channels", channels);
        if (channels % heads != 0) {
            throw new JgptException("model config: heads (" + heads + ") must divide channels (" + channels
                    + "); try heads = " + suggestHeads(channels));
        }
        // every tensor is addressed with long offsets, but a single (V,C) or per-layer view must stay indexable
        if ((long) vocabSize * channels > Integer.MAX_VALUE || 4L * channels * channels > Integer.MAX_VALUE) {
            throw new JgptException("model config: vocabSize " + vocabSize + " x channels " + channels
                    + " is too large (one tensor would exceed 2^31 elements)");
        }
    }

    /**
     * A named size:
     * <ul>
     *   <li>{@code tiny}: context 128, 2 layers, 4 heads, 128 channels (~0.94M parameters at vocab 4096)</li>
     *   <li>{@code small}: context 256, 4 layers, 4 heads, 256 channels (~4.3M at vocab 4096)</li>
     *   <li>{@code base}: context 256, 6 layers, 6 heads, 384 channels (~12.3M at vocab 4096, 10.6M without embeddings)</li>
     *   <li>{@code gpt2}: context 1024, 12 layers, 12 heads, 768 channels (124.4M at vocab 50257: GPT-2 small)</li>
     * </ul>
     *
     * @throws JgptException for an unknown name
     */
    public static GptConfig preset(String name, int vocabSize) {
        return switch (name) {
            case "tiny" -> new GptConfig(vocabSize, 128, 2, 4, 128);
            case "small" -> new GptConfig(vocabSize, 256, 4, 4, 256);
            case "base" -> new GptConfig(vocabSize, 256, 6, 6, 384);
            case "gpt2" -> new GptConfig(vocabSize, 1024, 12, 12, 768);
            case null -> throw new JgptException("model preset: missing; choose one of " + PRESETS);
            default -> throw new JgptException("model preset: unknown '" + name + "'; choose one of " + PRESETS);
        };
    }

    /** A preset with its usual vocabulary: 50257 (GPT-2's) for {@code gpt2}, 4096 for the others. */
    public static GptConfig preset(String name) {
        return preset(name, "gpt2".equals(name) ? 50257 : 4096);
    }

    /** Channels per head. */
    public int headSize() {
        return channels / heads;
    }

    /** Every parameter: {@code V*C + maxT*C + L*(12*C^2 + 13*C) + 2*C} (tied embeddings counted once). */
    public long parameterCount() {
        return ParameterLayout.of(this).size();
    }

    /** The same config with another context length (for a shorter training window, or a longer one at import). */
    public GptConfig withContextLength(int contextLength) {
        return new GptConfig(vocabSize, contextLength, layers, heads, channels);
    }

    private static void positive(String field, int v) {
        if (v <= 0) throw new JgptException("model config: " + field + " must be positive but was " + v);
    }

    private static int suggestHeads(int channels) {
        for (int hs : new int[] {64, 32, 16, 8}) {
            if (channels % hs == 0) return channels / hs;
        }
        return 1;
    }
}
