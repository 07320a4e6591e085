package dev.jgpt.io;

import dev.jgpt.JgptException;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** GGUF (llama.cpp) and llm.c exports of a GPT-2 held in our flat parameter layout (host F32). */
public final class ModelExport {
    private ModelExport() {}

    /**
     * GGUF v3, architecture {@code gpt2}, float32, tokenizer in the metadata; tensor set and metadata
     * types as llama.cpp's gpt2 loader requires (see docs/formats.md). Our (out, in) matmul layout is
     * exactly GGUF's {in, out}, so tensors are written without transposing.
     */
    public static void writeGguf(Path file, GptConfig c, Tensor params, TokenizerJson tok, String name) {
        writeGguf(file, c, params, tok, name, GgmlType.F32);
    }

    /**
     * With the matrices (token embedding, qkv, attention output, MLP up/down, classifier) in
     * {@code type}: F32, BF16 or Q8_0 (blocks of 32: the channels must be a multiple of 32). Position
     * embeddings, LayerNorms and biases stay F32, as llama.cpp keeps them.
     */
    public static void writeGguf(Path file, GptConfig c, Tensor params, TokenizerJson tok, String name, GgmlType type) {
        if (type == GgmlType.Q8_0 && c.channels() % 32 != 0) {
            throw new JgptException("--dtype q8: Q8_0 needs the channels (" + c.channels() + ") to be a multiple of 32");
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            writeGguf(file, c, params, tok, name, type, arena);
        }
    }

    private static void writeGguf(Path file, GptConfig c, Tensor params, TokenizerJson tok, String name, GgmlType type,
            java.lang.foreign.Arena arena) {
        if (tok.size() != c.vocabSize()) {
            throw new JgptException("tokenizer has " + tok.size() + " tokens but the model's vocabulary is " + c.vocabSize());
        }
        ParameterLayout layout = ParameterLayout.of(c);
        int C = c.channels();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "gpt2");
        w.putString("general.name", name);
        w.putUInt32("general.file_type", type.fileType());
        w.putUInt32("gpt2.context_length", c.contextLength());
        w.putUInt32("gpt2.embedding_length", C);
        w.putUInt32("gpt2.block_count", c.layers());
        w.putUInt32("gpt2.feed_forward_length", 4 * C);
        w.putUInt32("gpt2.attention.head_count", c.heads());
        w.putFloat32("gpt2.attention.layer_norm_epsilon", 1e-5f);
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", "gpt-2");
        w.putStringArray("tokenizer.ggml.tokens", List.of(tok.tokens()));
        int[] types = new int[tok.size()];
        for (int i = 0; i < types.length; i++) types[i] = tok.special()[i] ? 3 : 1; // CONTROL : NORMAL
        w.putInt32Array("tokenizer.ggml.token_type", types);
        w.putStringArray("tokenizer.ggml.merges", tok.merges());
        int eot = tok.idOf("<|endoftext|>");
        if (eot >= 0) {
            w.putUInt32("tokenizer.ggml.bos_token_id", eot);
            w.putUInt32("tokenizer.ggml.eos_token_id", eot);
        }
        w.putBool("tokenizer.ggml.add_bos_token", false);

        w.addTensor("token_embd.weight", type, type.encode(seg(layout, params, "wte", -1), arena), C, c.vocabSize());
        w.addTensor("position_embd.weight", seg(layout, params, "wpe", -1), C, c.contextLength());
        for (int l = 0; l < c.layers(); l++) {
            String b = "blk." + l + ".";
            w.addTensor(b + "attn_norm.weight", seg(layout, params, "ln1w", l), C);
            w.addTensor(b + "attn_norm.bias", seg(layout, params, "ln1b", l), C);
            w.addTensor(b + "attn_qkv.weight", type, type.encode(seg(layout, params, "qkvw", l), arena), C, 3L * C);
            w.addTensor(b + "attn_qkv.bias", seg(layout, params, "qkvb", l), 3L * C);
            w.addTensor(b + "attn_output.weight", type, type.encode(seg(layout, params, "attprojw", l), arena), C, C);
            w.addTensor(b + "attn_output.bias", seg(layout, params, "attprojb", l), C);
            w.addTensor(b + "ffn_norm.weight", seg(layout, params, "ln2w", l), C);
            w.addTensor(b + "ffn_norm.bias", seg(layout, params, "ln2b", l), C);
            w.addTensor(b + "ffn_up.weight", type, type.encode(seg(layout, params, "fcw", l), arena), C, 4L * C);
            w.addTensor(b + "ffn_up.bias", seg(layout, params, "fcb", l), 4L * C);
            w.addTensor(b + "ffn_down.weight", type, type.encode(seg(layout, params, "fcprojw", l), arena), 4L * C, C);
            w.addTensor(b + "ffn_down.bias", seg(layout, params, "fcprojb", l), C);
        }
        w.addTensor("output_norm.weight", seg(layout, params, "lnfw", -1), C);
        w.addTensor("output_norm.bias", seg(layout, params, "lnfb", -1), C);
        // tied classifier written again: older loaders do not fall back to token_embd
        w.addTensor("output.weight", type, type.encode(seg(layout, params, "wte", -1), arena), C, c.vocabSize());
        w.write(file);
    }

    private static MemorySegment seg(ParameterLayout layout, Tensor params, String view, int layer) {
        Tensor t = layout.view(view).of(params);
        if (layer >= 0) t = t.slice(layer);
        return t.data().asSlice(0, t.byteSize());
    }

    /** llm.c's model header magic and float32 version. */
    public static final int LLMC_MAGIC = 20240326, LLMC_VERSION_F32 = 3;

    /**
     * llm.c's {@code gpt2_124M.bin} layout: 256 int32 header (magic, version 3, maxT, V, L, NH, C,
     * padded V), then every parameter as float32 in llm.c's order, the token table padded with zero
     * rows to a multiple of 128.
     */
    public static void writeLlmc(Path file, GptConfig c, Tensor params) {
        int V = c.vocabSize(), C = c.channels();
        int Vp = (V + 127) / 128 * 128;
        ParameterLayout layout = ParameterLayout.of(c);
        AtomicFiles.write(file, ch -> {
            ByteBuffer h = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(LLMC_MAGIC).putInt(LLMC_VERSION_F32).putInt(c.contextLength()).putInt(V).putInt(c.layers())
                    .putInt(c.heads()).putInt(C).putInt(Vp);
            h.clear();
            AtomicFiles.writeFully(ch, h);
            List<ParameterLayout.View> views = new ArrayList<>(layout.views());
            for (ParameterLayout.View v : views) {
                Tensor t = v.of(params);
                AtomicFiles.writeFully(ch, t.data().asSlice(0, t.byteSize()).asByteBuffer());
                if (v.name().equals("wte") && Vp > V) AtomicFiles.writeFully(ch, ByteBuffer.allocate((Vp - V) * C * 4));
            }
        });
    }

    /** llm.c's tokenizer file ({@code gpt2_tokenizer.bin}): magic 20240328, version 2, V, eot; then length-prefixed token bytes. */
    public static void writeLlmcTokenizer(Path file, dev.jgpt.tokenizer.Tokenizer tok, int eot) {
        AtomicFiles.write(file, ch -> {
            ByteBuffer h = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(20240328).putInt(2).putInt(tok.vocabSize()).putInt(eot);
            h.clear();
            AtomicFiles.writeFully(ch, h);
            for (int i = 0; i < tok.vocabSize(); i++) {
                byte[] b = tok.tokenBytes(i);
                if (b.length > 255) b = java.util.Arrays.copyOf(b, 255);
                if (b.length == 0) b = "?".getBytes(StandardCharsets.UTF_8);
                ByteBuffer e = ByteBuffer.allocate(1 + b.length);
                e.put((byte) b.length).put(b).flip();
                AtomicFiles.writeFully(ch, e);
            }
        });
    }
}
