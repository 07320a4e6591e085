package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.io.GgmlType;
import dev.jgpt.io.GgufWriter;
import dev.jgpt.io.TokenizerJson;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A Llama-family model jgpt trained, as a GGUF file for llama.cpp's {@code llama} architecture,
 * float32, with our byte-level BPE in the metadata (llama.cpp's {@code gpt2} tokenizer model, as for
 * Llama 3). llama.cpp's llama loader rotates adjacent pairs (2i, 2i+1) — its "normal" RoPE — which
 * is llama2.c's convention and ours, so q and k are written as they are (Hugging Face checkpoints
 * need the permutation that llama.cpp's converter applies; ours do not). Matrices are (out, in)
 * row-major, which is GGUF's {in, out}: nothing is transposed. See docs/formats.md.
 */
public final class LlamaGguf {
    private LlamaGguf() {}

    public static void write(Path file, LlamaWeights w, TokenizerJson tok, String name) {
        write(file, w, tok, name, GgmlType.F32);
    }

    /**
     * With the matrices (embedding, attention, MLP, classifier) in {@code type}: F32, BF16 or Q8_0
     * (llama.cpp's own 8-bit type, blocks of 32); the RMSNorm weights stay F32, as llama.cpp keeps them.
     */
    public static void write(Path file, LlamaWeights w, TokenizerJson tok, String name, GgmlType type) {
        write(file, w, tok, name, type, null);
    }

    /** As above, with {@code chatTemplate} (a Jinja template, or null for none) as {@code tokenizer.chat_template}. */
    public static void write(Path file, LlamaWeights w, TokenizerJson tok, String name, GgmlType type, String chatTemplate) {
        if (tok.size() != w.config().vocabSize()) {
            throw new JgptException("tokenizer has " + tok.size() + " tokens but the model's vocabulary is " + w.config().vocabSize());
        }
        write(file, w, name, type, g -> {
            g.putString("tokenizer.ggml.model", "gpt2");
            g.putString("tokenizer.ggml.pre", "gpt-2");
            g.putStringArray("tokenizer.ggml.tokens", List.of(tok.tokens()));
            int[] types = new int[tok.size()];
            for (int i = 0; i < types.length; i++) types[i] = tok.special()[i] ? 3 : 1; // CONTROL : NORMAL
            g.putInt32Array("tokenizer.ggml.token_type", types);
            g.putStringArray("tokenizer.ggml.merges", tok.merges());
            int eot = tok.idOf("<|endoftext|>");
            if (eot >= 0) {
                g.putUInt32("tokenizer.ggml.bos_token_id", eot);
                g.putUInt32("tokenizer.ggml.eos_token_id", eot);
            }
            g.putBool("tokenizer.ggml.add_bos_token", false);
            if (chatTemplate != null) g.putString("tokenizer.chat_template", chatTemplate);
        });
    }

    /**
     * A llama2.c-style model with its sentencepiece vocabulary ({@code tokenizer.bin}) as llama.cpp's {@code llama}
     * tokenizer: pieces with spaces as U+2581, the scores, token types (control for ids 0..2, byte for the
     * {@code <0xXX>} pieces), BOS 1, EOS 2 — the layout llama.cpp's converter writes for Llama 2.
     */
    public static void write(Path file, LlamaWeights w, Llama2cTokenizer tok, String name, GgmlType type) {
        write(file, w, tok, name, type, null);
    }

    /** As above, with {@code chatTemplate} (a Jinja template, or null for none) as {@code tokenizer.chat_template}. */
    public static void write(Path file, LlamaWeights w, Llama2cTokenizer tok, String name, GgmlType type, String chatTemplate) {
        if (tok.vocabSize() != w.config().vocabSize()) {
            throw new JgptException("tokenizer has " + tok.vocabSize() + " tokens but the model's vocabulary is " + w.config().vocabSize());
        }
        write(file, w, name, type, g -> {
            int n = tok.vocabSize();
            List<String> pieces = new ArrayList<>(n);
            int[] types = new int[n];
            float[] scores = new float[n];
            for (int i = 0; i < n; i++) {
                byte[] p = tok.piece(i);
                try { // GGUF keeps pieces as text: a piece that is not UTF-8 would be changed silently
                    pieces.add(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(p)).toString().replace(' ', '\u2581'));
                } catch (CharacterCodingException e) {
                    throw new JgptException("tokenizer piece " + i + " is not UTF-8 text, which a GGUF vocabulary needs");
                }
                scores[i] = tok.score(i);
                types[i] = i == 0 ? 2 : i <= 2 ? 3 : Llama2cTokenizer.isBytePiece(p) ? 6 : 1; // UNKNOWN, CONTROL, BYTE, NORMAL
            }
            g.putString("tokenizer.ggml.model", "llama");
            g.putStringArray("tokenizer.ggml.tokens", pieces);
            g.putFloat32Array("tokenizer.ggml.scores", scores);
            g.putInt32Array("tokenizer.ggml.token_type", types);
            g.putUInt32("tokenizer.ggml.bos_token_id", Llama2cTokenizer.BOS);
            g.putUInt32("tokenizer.ggml.eos_token_id", Llama2cTokenizer.EOS);
            g.putUInt32("tokenizer.ggml.unknown_token_id", Llama2cTokenizer.UNK);
            g.putBool("tokenizer.ggml.add_bos_token", true);
            if (chatTemplate != null) g.putString("tokenizer.chat_template", chatTemplate);
        });
    }

    private static void write(Path file, LlamaWeights w, String name, GgmlType type, Consumer<GgufWriter> tokenizer) {
        try (Arena arena = Arena.ofConfined()) {
            write(file, w, name, type, tokenizer, arena);
        }
    }

    private static void write(Path file, LlamaWeights w, String name, GgmlType type, Consumer<GgufWriter> tokenizer,
                              Arena arena) {
        LlamaConfig c = w.config();
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim();
        GgufWriter g = new GgufWriter();
        g.putString("general.architecture", "llama");
        g.putString("general.name", name);
        g.putUInt32("general.file_type", type.fileType());
        g.putUInt32("llama.context_length", c.seqLen());
        g.putUInt32("llama.embedding_length", d);
        g.putUInt32("llama.block_count", c.layers());
        g.putUInt32("llama.feed_forward_length", h);
        g.putUInt32("llama.attention.head_count", c.heads());
        g.putUInt32("llama.attention.head_count_kv", c.kvHeads());
        g.putUInt32("llama.rope.dimension_count", c.headSize());
        g.putFloat32("llama.rope.freq_base", (float) c.ropeTheta());
        g.putFloat32("llama.attention.layer_norm_rms_epsilon", (float) c.normEps());
        g.putUInt32("llama.vocab_size", c.vocabSize());
        tokenizer.accept(g);

        mat(g, arena, type, "token_embd.weight", w.tokenEmbedding(), d, c.vocabSize());
        for (int l = 0; l < c.layers(); l++) {
            String b = "blk." + l + ".";
            g.addTensor(b + "attn_norm.weight", layer(w.rmsAtt(), l, d), d);
            mat(g, arena, type, b + "attn_q.weight", layer(w.wq(), l, (long) d * d), d, d);
            mat(g, arena, type, b + "attn_k.weight", layer(w.wk(), l, (long) kv * d), d, kv);
            mat(g, arena, type, b + "attn_v.weight", layer(w.wv(), l, (long) kv * d), d, kv);
            mat(g, arena, type, b + "attn_output.weight", layer(w.wo(), l, (long) d * d), d, d);
            g.addTensor(b + "ffn_norm.weight", layer(w.rmsFfn(), l, d), d);
            mat(g, arena, type, b + "ffn_gate.weight", layer(w.w1(), l, (long) h * d), d, h);
            mat(g, arena, type, b + "ffn_up.weight", layer(w.w3(), l, (long) h * d), d, h);
            mat(g, arena, type, b + "ffn_down.weight", layer(w.w2(), l, (long) d * h), h, d);
        }
        g.addTensor("output_norm.weight", w.rmsFinal(), d);
        // a shared classifier is written again as output.weight, as for GPT-2: every loader finds it
        mat(g, arena, type, "output.weight", w.wcls(), d, c.vocabSize());
        g.write(file);
    }

    private static void mat(GgufWriter g, Arena arena, GgmlType type, String name, MemorySegment f32, long... ne) {
        g.addTensor(name, type, type.encode(f32, arena), ne);
    }

    private static MemorySegment layer(MemorySegment stacked, int l, long floats) {
        return stacked.asSlice(l * floats * 4, floats * 4);
    }
}
