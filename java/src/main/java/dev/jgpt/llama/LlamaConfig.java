package dev.jgpt.llama;

import dev.jgpt.JgptException;

/**
 * The shape of a Llama-family model: RMSNorm, rotary position embeddings, a SwiGLU MLP of
 * {@code hiddenDim} and grouped-query attention ({@code kvHeads} key/value heads shared by
 * {@code heads / kvHeads} query heads each).
 *
 * @param sharedClassifier the output classifier is the token embedding (llama2.c: positive vocab_size)
 * @param ropeTheta        RoPE base (llama2.c: 10000)
 * @param normEps          RMSNorm epsilon (llama2.c: 1e-5)
 */
public record LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize, int seqLen,
                          boolean sharedClassifier, double ropeTheta, double normEps) {

    public LlamaConfig {
        positive("dim", dim);
        positive("hidden_dim", hiddenDim);
        positive("n_layers", layers);
        positive("n_heads", heads);
        positive("n_kv_heads", kvHeads);
        positive("vocab_size", vocabSize);
        positive("seq_len", seqLen);
        if (dim % heads != 0) throw new JgptException("dim " + dim + " is not a multiple of n_heads " + heads);
        if (heads % kvHeads != 0) {
            throw new JgptException("n_heads " + heads + " is not a multiple of n_kv_heads " + kvHeads);
        }
        if ((dim / heads) % 2 != 0) throw new JgptException("head size " + dim / heads + " must be even (RoPE rotates pairs)");
        if (!(ropeTheta > 0) || !(normEps > 0)) throw new JgptException("rope theta and norm eps must be positive");
    }

    /** llama2.c's defaults for RoPE theta (10000) and the RMSNorm epsilon (1e-5). */
    public static LlamaConfig llama2c(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
                                      int seqLen, boolean sharedClassifier) {
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, vocabSize, seqLen, sharedClassifier, 10000.0, 1e-5);
    }

    /** The shapes of llama2.c's TinyStories models: stories15M, stories42M, stories110M (vocab 32000). */
    public static LlamaConfig preset(String name) {
        return switch (name) {
            case "stories15M" -> llama2c(288, 768, 6, 6, 6, 32000, 256, true);
            case "stories42M" -> llama2c(512, 1376, 8, 8, 8, 32000, 1024, true);
            case "stories110M" -> llama2c(768, 2048, 12, 12, 12, 32000, 1024, true);
            default -> throw new JgptException("unknown Llama preset '" + name + "' (stories15M, stories42M, stories110M)");
        };
    }

    public int headSize() { return dim / heads; }

    public int kvDim() { return headSize() * kvHeads; }

    /** Parameters of the network (the classifier counted once when shared). */
    public long parameterCount() {
        long d = dim, h = hiddenDim, kv = kvDim();
        long perLayer = 2 * d + d * d + 2 * d * kv + d * d + 3 * d * h;
        return (long) vocabSize * d + layers * perLayer + d + (sharedClassifier ? 0 : (long) vocabSize * d);
    }

    public LlamaConfig withSeqLen(int seq) {
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, vocabSize, seq, sharedClassifier, ropeTheta, normEps);
    }

    private static void positive(String field, int v) {
        if (v <= 0) throw new JgptException(field + " must be positive but was " + v);
    }
}
