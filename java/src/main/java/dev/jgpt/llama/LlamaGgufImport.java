package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatSource;
import dev.jgpt.io.GgmlType;
import dev.jgpt.io.GgufFile;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.SplitPattern;
import dev.jgpt.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Reads a llama.cpp GGUF file of the {@code llama} architecture — what llama.cpp's converters write for Llama 1/2,
 * TinyLlama, the TinyStories models, Mistral-style dense models, and what {@code jgpt export --format gguf} writes for
 * a Llama run — into float32 weights stacked over layers in llama2.c's order. Tensors may be F32, F16, BF16, Q8_0,
 * Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL or IQ4_XS ({@link GgmlType}): they are decoded once, in parallel, and the decoder
 * then stores them as {@code --dtype} asks (f32, bf16 or jgpt's q8). llama.cpp's converters already permuted q and k
 * from Hugging Face's rotate-half order to adjacent pairs, llama2.c's and our RoPE convention, so nothing is permuted
 * here. Refused with a message naming the key: other architectures, mixtures of experts, RoPE scaling, partial
 * rotary dimensions, and tokenizers other than sentencepiece ({@code llama}) and byte-level BPE ({@code gpt2}).
 */
public final class LlamaGgufImport {
    private LlamaGgufImport() {}

    /** The model's shape from the metadata ({@code maxSeq} &gt; 0 caps the context and so the KV cache). */
    public static LlamaConfig readConfig(GgufFile g, int maxSeq) {
        String arch = g.string("general.architecture");
        if (!arch.equals("llama")) {
            throw new JgptException("GGUF " + g.file() + ": architecture " + arch + " is not supported (llama only)");
        }
        if (g.integer("llama.expert_count", 0) > 0) {
            throw new JgptException("GGUF " + g.file() + ": llama.expert_count " + g.integer("llama.expert_count")
                    + ": mixtures of experts are not supported");
        }
        String scaling = g.string("llama.rope.scaling.type", "none");
        if (!scaling.equals("none") || g.tensors().containsKey("rope_freqs.weight")) {
            throw new JgptException("GGUF " + g.file() + ": RoPE scaling (" + (scaling.equals("none") ? "rope_freqs.weight" : scaling)
                    + ") is not supported (plain RoPE only)");
        }
        int dim = g.integer("llama.embedding_length"), heads = g.integer("llama.attention.head_count");
        int kvHeads = g.integer("llama.attention.head_count_kv", heads);
        if (heads <= 0 || dim % heads != 0) {
            throw new JgptException("GGUF " + g.file() + ": llama.embedding_length " + dim + " is not a multiple of head_count " + heads);
        }
        int rotary = g.integer("llama.rope.dimension_count", dim / heads);
        if (rotary != dim / heads) {
            throw new JgptException("GGUF " + g.file() + ": llama.rope.dimension_count " + rotary + " is not the head size "
                    + dim / heads + " (partial rotary embeddings are not supported)");
        }
        int vocab;
        if (g.has("llama.vocab_size")) {
            vocab = g.integer("llama.vocab_size");
        } else if (g.has("tokenizer.ggml.tokens")) {
            vocab = g.strings("tokenizer.ggml.tokens").length;
        } else {
            GgufFile.Tensor emb = g.tensors().get("token_embd.weight");
            if (emb == null || emb.ne().length != 2) throw new JgptException("GGUF " + g.file() + ": tensor token_embd.weight is missing");
            vocab = Math.toIntExact(emb.ne()[1]);
        }
        int seq = g.integer("llama.context_length");
        if (maxSeq > 0 && maxSeq < seq) seq = maxSeq;
        boolean shared = !g.tensors().containsKey("output.weight");
        try {
            return new LlamaConfig(dim, g.integer("llama.feed_forward_length"), g.integer("llama.block_count"), heads, kvHeads,
                    vocab, seq, shared, g.real("llama.rope.freq_base", 10000.0),
                    g.real("llama.attention.layer_norm_rms_epsilon", 1e-5));
        } catch (JgptException e) {
            throw new JgptException("GGUF " + g.file() + ": " + e.getMessage());
        }
    }

    /** Decodes the weights into float32 memory owned by {@code arena} (which must be shared: slices decode in parallel). */
    public static LlamaWeights load(GgufFile g, Arena arena, int maxSeq) {
        return stream(g, arena, maxSeq).load(arena);
    }

    /**
     * The embedding and the RMSNorm weights decoded now into {@code small} (shared), the stacked matrices left to decode
     * one at a time while {@code g} stays open ({@link LlamaParts}). Every tensor is found and its shape checked here,
     * before anything is allocated: a corrupt header cannot ask for memory.
     */
    public static LlamaParts stream(GgufFile g, Arena small, int maxSeq) {
        return stream(g, small, maxSeq, true);
    }

    /**
     * As above; with {@code embedding} false the embedding is not decoded ({@link LlamaParts#emb} is then
     * {@link MemorySegment#NULL}: a decoder looks its rows up in the file's own blocks).
     */
    public static LlamaParts stream(GgufFile g, Arena small, int maxSeq, boolean embedding) {
        LlamaConfig c = readConfig(g, maxSeq);
        int L = c.layers(), d = c.dim(), V = c.vocabSize();
        GgufFile.Tensor emb = g.tensor("token_embd.weight", d, V), norm = g.tensor("output_norm.weight", d);
        GgufFile.Tensor cls = c.sharedClassifier() ? null : g.tensor("output.weight", d, V);
        // per matrix k (wq wk wv wo w1 w2 w3 wcls) its tensor in each layer; the norms per layer
        GgufFile.Tensor[][] mats = new GgufFile.Tensor[8][];
        GgufFile.Tensor[] att = new GgufFile.Tensor[L], ffn = new GgufFile.Tensor[L];
        for (int k = 0; k < 7; k++) mats[k] = new GgufFile.Tensor[L];
        for (int l = 0; l < L; l++) {
            String b = "blk." + l + ".";
            att[l] = g.tensor(b + "attn_norm.weight", d);
            ffn[l] = g.tensor(b + "ffn_norm.weight", d);
            for (int k = 0; k < 7; k++) mats[k][l] = matrix(g, c, k, l);
        }
        mats[7] = cls == null ? null : new GgufFile.Tensor[] {cls};
        MemorySegment e = embedding ? small.allocate(4L * V * d, 64) : MemorySegment.NULL, ra = small.allocate(4L * L * d, 64),
                rf = small.allocate(4L * L * d, 64), fin = small.allocate(4L * d, 64);
        List<Copy> copies = new ArrayList<>();
        if (embedding) copies.add(new Copy(emb, e, 0));
        copies.add(new Copy(norm, fin, 0));
        for (int l = 0; l < L; l++) {
            copies.add(new Copy(att[l], ra, (long) l * d));
            copies.add(new Copy(ffn[l], rf, (long) l * d));
        }
        decodeAll(copies);
        LlamaInference.MatrixDecoder decoder = (k, into) -> {
            GgufFile.Tensor[] layers = mats[k];
            long per = layers[0].elements();
            MemorySegment out = into.allocate(4 * per * layers.length, 64);
            List<Copy> perLayer = new ArrayList<>();
            for (int l = 0; l < layers.length; l++) perLayer.add(new Copy(layers[l], out, l * per));
            decodeAll(perLayer);
            return out;
        };
        return new LlamaParts(c, e, ra, rf, fin, decoder);
    }

    /** The ggml types libjgpt multiplies in place ({@link DecodeDType#GGUF}). */
    static final java.util.Set<GgmlType> IN_PLACE = java.util.EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS);

    /**
     * The matrices of {@code g} as they lie in its mapping, for {@link LlamaInference#fromBlocks}: per matrix and layer its
     * address and ggml type (the classifier: {@code output.weight}, or {@code token_embd.weight} where it is shared).
     *
     * @throws JgptException naming the first tensor of a type libjgpt cannot multiply in place (use --dtype q8 for it)
     */
    public static LlamaInference.Blocks blocks(GgufFile g, LlamaConfig c) {
        int L = c.layers(), d = c.dim(), V = c.vocabSize();
        long[][] at = new long[8][];
        int[][] types = new int[8][];
        long bytes = 0;
        for (int k = 0; k < 8; k++) {
            int n = k < 7 ? L : 1;
            at[k] = new long[n];
            types[k] = new int[n];
            for (int l = 0; l < n; l++) {
                GgufFile.Tensor t = k < 7 ? matrix(g, c, k, l)
                        : g.tensor(c.sharedClassifier() ? "token_embd.weight" : "output.weight", d, V);
                if (!IN_PLACE.contains(t.type())) {
                    throw new JgptException("GGUF " + g.file() + ": tensor " + t.name() + " is " + t.type() + ", which --dtype gguf "
                            + "does not multiply in place (it reads " + IN_PLACE + "); use --dtype q8");
                }
                at[k][l] = t.data().address();
                types[k][l] = t.type().id;
                bytes += t.data().byteSize();
            }
        }
        return new LlamaInference.Blocks(at, types, bytes);
    }

    /**
     * The decode dtype a GGUF file gets without {@code --dtype}: its own blocks where every matrix is of a type libjgpt
     * multiplies in place and at least one is quantized (llama.cpp's Q4_K_M, Q5_K_M, Q4_0 and Q8_0 files), else
     * {@link #decodeDType}.
     */
    public static DecodeDType defaultDType(GgufFile g) {
        boolean quantized = false;
        for (GgufFile.Tensor t : g.tensors().values()) {
            if (t.ne().length == 2 && !IN_PLACE.contains(t.type())) return decodeDType(g);
            quantized |= t.type() != GgmlType.F32 && t.type() != GgmlType.F16 && t.type() != GgmlType.BF16;
        }
        return quantized ? DecodeDType.GGUF : decodeDType(g);
    }

    /** Matrix k (0 wq, 1 wk, 2 wv, 3 wo, 4 w1, 5 w2, 6 w3) of every layer, as the file holds it: [k][layer]. */
    static GgufFile.Tensor[][] matrices(GgufFile g, LlamaConfig c) {
        GgufFile.Tensor[][] out = new GgufFile.Tensor[7][c.layers()];
        for (int k = 0; k < 7; k++) for (int l = 0; l < c.layers(); l++) out[k][l] = matrix(g, c, k, l);
        return out;
    }

    /** The GGUF names of the stacked matrices wq wk wv wo w1 w2 w3 within a layer. */
    private static final String[] MATRIX_NAMES = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_down", "ffn_up"};

    /** Matrix k (wq .. w3) of layer l, its shape ({in, out}, as GGUF lists it) checked against the config. */
    private static GgufFile.Tensor matrix(GgufFile g, LlamaConfig c, int k, int l) {
        long d = c.dim(), kv = c.kvDim(), h = c.hiddenDim();
        long[][] shapes = {{d, d}, {d, kv}, {d, kv}, {d, d}, {d, h}, {h, d}, {d, h}};
        return g.tensor("blk." + l + "." + MATRIX_NAMES[k] + ".weight", shapes[k]);
    }

    /** One tensor decoded into {@code dst} from float index {@code at}. */
    private record Copy(GgufFile.Tensor src, MemorySegment dst, long at) {}

    /** Slices of at most 64 Ki weights (whole blocks), decoded on the common fork-join pool. */
    private static void decodeAll(List<Copy> copies) {
        record Slice(Copy copy, long first, long n) {}
        List<Slice> slices = new ArrayList<>();
        for (Copy c : copies) {
            long total = c.src.elements(), step = Math.max(c.src.type().blockSize, (1L << 16) / c.src.type().blockSize * c.src.type().blockSize);
            for (long first = 0; first < total; first += step) slices.add(new Slice(c, first, Math.min(step, total - first)));
        }
        IntStream.range(0, slices.size()).parallel().forEach(i -> {
            Slice s = slices.get(i);
            s.copy.src.type().decode(s.copy.src.data(), s.first, s.n, s.copy.dst, s.copy.at + s.first);
        });
    }

    /**
     * The tokenizer the file carries: sentencepiece ({@code tokenizer.ggml.model} "llama": llama2.c's tokenizer,
     * pieces with U+2581 as spaces, the file's scores) or byte-level BPE ("gpt2" with pre-tokenizer "gpt-2", or
     * "llama-bpe" — Llama 3's split, merges ignored for whole-word tokens as llama.cpp does).
     */
    public static Tokenizer tokenizer(GgufFile g, int vocabSize) {
        String model = g.string("tokenizer.ggml.model", "");
        if (model.isEmpty()) {
            throw new JgptException("GGUF " + g.file() + ": no tokenizer in the file (tokenizer.ggml.model); give one with --tokenizer FILE");
        }
        String[] tokens = g.strings("tokenizer.ggml.tokens");
        if (tokens.length != vocabSize) {
            throw new JgptException("GGUF " + g.file() + ": tokenizer.ggml.tokens has " + tokens.length
                    + " tokens but the model's vocabulary is " + vocabSize);
        }
        long[] types = g.has("tokenizer.ggml.token_type") ? g.integers("tokenizer.ggml.token_type") : new long[tokens.length];
        if (types.length != tokens.length) {
            throw new JgptException("GGUF " + g.file() + ": tokenizer.ggml.token_type has " + types.length + " entries for "
                    + tokens.length + " tokens");
        }
        return switch (model) {
            case "llama" -> sentencepiece(g, tokens);
            case "gpt2" -> bytePairs(g, tokens, types);
            default -> throw new JgptException("GGUF " + g.file() + ": tokenizer.ggml.model " + model
                    + " is not supported (llama or gpt2); give a tokenizer with --tokenizer FILE");
        };
    }

    private static Tokenizer sentencepiece(GgufFile g, String[] tokens) {
        int bos = g.integer("tokenizer.ggml.bos_token_id", Llama2cTokenizer.BOS);
        int eos = g.integer("tokenizer.ggml.eos_token_id", Llama2cTokenizer.EOS);
        if (bos != Llama2cTokenizer.BOS || eos != Llama2cTokenizer.EOS || tokens.length < 259 || !tokens[3].equals("<0x00>")
                || !tokens[258].equals("<0xFF>")) {
            throw new JgptException("GGUF " + g.file() + ": its sentencepiece vocabulary is not laid out as Llama 2's (BOS 1, EOS 2, "
                    + "byte pieces <0x00>..<0xFF> at 3..258); give a tokenizer with --tokenizer FILE");
        }
        double[] s = g.has("tokenizer.ggml.scores") ? g.reals("tokenizer.ggml.scores") : new double[tokens.length];
        if (s.length != tokens.length) {
            throw new JgptException("GGUF " + g.file() + ": tokenizer.ggml.scores has " + s.length + " entries for " + tokens.length + " tokens");
        }
        byte[][] pieces = new byte[tokens.length][];
        float[] scores = new float[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            pieces[i] = tokens[i].replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
            scores[i] = (float) s[i];
        }
        return new Llama2cTokenizer(pieces, scores);
    }

    /**
     * What the file says about chatting: {@code tokenizer.chat_template}, the BOS put before a prompt (where
     * {@code tokenizer.ggml.add_bos_token}, by default true for sentencepiece and false for BPE as in llama.cpp), the
     * end-of-sequence token's text, and the control and user-defined tokens by text.
     */
    public static ChatSource chatSource(GgufFile g) {
        boolean spm = g.string("tokenizer.ggml.model", "").equals("llama");
        String[] tokens = g.has("tokenizer.ggml.tokens") ? g.strings("tokenizer.ggml.tokens") : new String[0];
        long[] types = g.has("tokenizer.ggml.token_type") ? g.integers("tokenizer.ggml.token_type") : new long[0];
        int bos = g.integer("tokenizer.ggml.bos_token_id", spm ? Llama2cTokenizer.BOS : -1);
        int eos = g.integer("tokenizer.ggml.eos_token_id", spm ? Llama2cTokenizer.EOS : -1);
        boolean addBos = g.bool("tokenizer.ggml.add_bos_token", spm);
        Map<String, Integer> specials = new HashMap<>();
        for (int i = 0; i < Math.min(tokens.length, types.length); i++) {
            if (types[i] == 3 || types[i] == 4) specials.putIfAbsent(tokens[i], i);
        }
        for (int id : new int[] {bos, eos}) if (id >= 0 && id < tokens.length) specials.putIfAbsent(tokens[id], id);
        String eosText = eos >= 0 && eos < tokens.length ? tokens[eos] : "</s>";
        String template = g.has("tokenizer.chat_template") ? g.string("tokenizer.chat_template") : null;
        return new ChatSource(template, addBos && bos >= 0 && bos < tokens.length ? bos : -1, eosText, specials);
    }

    /** llama.cpp's token types: 3 control, 4 user-defined (both matched before splitting, as added tokens). */
    private static Tokenizer bytePairs(GgufFile g, String[] tokens, long[] types) {
        String pre = g.string("tokenizer.ggml.pre", "gpt-2");
        SplitPattern pattern;
        boolean ignoreMerges;
        switch (pre) {
            case "gpt-2", "default" -> {
                pattern = SplitPattern.GPT2;
                ignoreMerges = false;
            }
            case "llama-bpe", "llama3" -> {
                pattern = SplitPattern.GPT4;
                ignoreMerges = true;
            }
            default -> throw new JgptException("GGUF " + g.file() + ": tokenizer.ggml.pre " + pre
                    + " is not supported (gpt-2 or llama-bpe); give a tokenizer with --tokenizer FILE");
        }
        String[] vocab = tokens.clone();
        List<BpeTokenizer.AddedToken> added = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            if (types[i] == 3 || types[i] == 4) {
                added.add(new BpeTokenizer.AddedToken(i, tokens[i], types[i] == 3));
                vocab[i] = null;
            }
        }
        List<String> merges = g.has("tokenizer.ggml.merges") ? List.of(g.strings("tokenizer.ggml.merges")) : List.of();
        // generation starts from <|endoftext|> and stops there and at <|end|> (jgpt's names): a vocabulary without them
        // (Llama 3: <|begin_of_text|>, <|eot_id|>) answers with its BOS and EOS, as llama2.c's tokenizer does
        Map<String, Integer> roles = new HashMap<>();
        int bos = g.integer("tokenizer.ggml.bos_token_id", -1), eos = g.integer("tokenizer.ggml.eos_token_id", -1);
        boolean named = added.stream().anyMatch(t -> t.content().equals("<|endoftext|>") || t.content().equals("<|end|>"));
        if (!named && bos >= 0 && bos < tokens.length) roles.put("<|endoftext|>", bos);
        if (!named && eos >= 0 && eos < tokens.length) roles.put("<|end|>", eos);
        try {
            return BpeTokenizer.fromVocab(vocab, merges, added, pattern, ignoreMerges, roles);
        } catch (JgptException e) {
            throw new JgptException("GGUF " + g.file() + ": tokenizer: " + e.getMessage());
        }
    }

    /**
     * The decode dtype that keeps a file's precision without growing it much: q8 where any matrix is quantized (8 bits
     * or fewer: decoding a Q4_K file to float32 would take 7 times its size), else f32 (F32, F16 and BF16 files).
     */
    public static DecodeDType decodeDType(GgufFile g) {
        for (GgufFile.Tensor t : g.tensors().values()) {
            if (t.type() != GgmlType.F32 && t.type() != GgmlType.F16 && t.type() != GgmlType.BF16) return DecodeDType.Q8;
        }
        return DecodeDType.F32;
    }
}
