package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Hugging Face LlamaForCausalLM directory written from llama2.c-layout weights (q/k rows put in
 * HF's rotate-half order, as HF's conversion from Meta's checkpoints does) imports back to exactly
 * those weights.
 */
public class HfLlamaImportTest {
    @TempDir
    Path dir;

    /** tokenizer_config.json's chat template (a string or a named list), BOS setting and tokens; tokenizer.json's added-token ids. */
    /**
     * A tokenizer.json is read by its kind: byte-level BPE (a ByteLevel pre-tokenizer: SmolLM, Llama 3) as jgpt's BPE, not
     * as sentencepiece pieces (which would keep GPT-2's byte alphabet as text); llama2.c's tokenizer.bin as itself.
     */
    @Test
    void aTokenizerIsReadByItsKind(@TempDir Path dir) {
        dev.jgpt.tokenizer.BpeTokenizer bpe = new dev.jgpt.tokenizer.BpeTrainer(280).specialTokens(java.util.List.of("<|endoftext|>"))
                .trainOnTexts(java.util.List.of("the whale and the sea and the ship ".repeat(20)));
        Path json = dir.resolve("tokenizer.json"), bin = dir.resolve("tokenizer.bin");
        bpe.saveTokenizerJson(json);
        dev.jgpt.tokenizer.Tokenizer t = HfLlamaImport.tokenizer(json, bpe.vocabSize());
        assertThat(t).isInstanceOf(dev.jgpt.tokenizer.BpeTokenizer.class);
        assertThat(t.encode(" the whale")).containsExactly(bpe.encode(" the whale"));
        assertThatThrownBy(() -> HfLlamaImport.tokenizer(json, bpe.vocabSize() + 1)).isInstanceOf(JgptException.class)
                .hasMessageContaining("tokens but the model's vocabulary is");
        Llama2cTokenizer spm = dev.jgpt.testing.TinyRuns.asciiLlamaTokenizer();
        spm.write(bin);
        assertThat(HfLlamaImport.tokenizer(bin, spm.vocabSize())).isInstanceOf(Llama2cTokenizer.class);
    }

    @Test
    void theChatTemplateComesFromTokenizerConfig() throws Exception {
        assertThat(HfLlamaImport.chatSource(dir)).as("no tokenizer_config.json").isEqualTo(dev.jgpt.chat.ChatSource.LLAMA2C);
        Files.writeString(dir.resolve("tokenizer.json"), "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\"},{\"id\":1,"
                + "\"content\":\"<s>\"},{\"id\":2,\"content\":\"</s>\"},{\"id\":32000,\"content\":\"<|im_start|>\"}]}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\":true,\"bos_token\":{\"content\":\"<s>\"},"
                + "\"eos_token\":\"</s>\",\"chat_template\":[{\"name\":\"tool_use\",\"template\":\"x\"},"
                + "{\"name\":\"default\",\"template\":\"{{'<|im_start|>' + message['role']}}\"}]}");
        dev.jgpt.chat.ChatSource c = HfLlamaImport.chatSource(dir);
        assertThat(c.template()).isEqualTo("{{'<|im_start|>' + message['role']}}");
        assertThat(c.bos()).isEqualTo(1);
        assertThat(c.eos()).isEqualTo("</s>");
        assertThat(c.specials()).containsEntry("<|im_start|>", 32000);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\":false,\"chat_template\":\"llama3\"}");
        assertThat(HfLlamaImport.chatSource(dir).bos()).isEqualTo(-1);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ");
        assertThatThrownBy(() -> HfLlamaImport.chatSource(dir)).isInstanceOf(JgptException.class)
                .hasMessageStartingWith("tokenizer config " + dir.resolve("tokenizer_config.json") + ": ");
    }

    @Test
    void importsF32AndBf16SafetensorsAndUndoesTheRopePermutation() throws Exception {
        LlamaConfig c = new LlamaConfig(32, 48, 2, 4, 2, 40, 16, false, 10000.0, 1e-5);
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(c, 7, a);
            writeHf(dir, w, "F32");
            Files.writeString(dir.resolve("config.json"), """
                    {"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 48,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 40,
                     "max_position_embeddings": 16, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false}
                    """);
            LlamaWeights back = HfLlamaImport.load(dir, a, 0);
            assertThat(back.config()).isEqualTo(c);
            MemorySegment[] x = {w.tokenEmbedding(), w.rmsAtt(), w.wq(), w.wk(), w.wv(), w.wo(), w.rmsFfn(), w.w1(), w.w2(),
                    w.w3(), w.rmsFinal(), w.wcls()};
            MemorySegment[] y = {back.tokenEmbedding(), back.rmsAtt(), back.wq(), back.wk(), back.wv(), back.wo(), back.rmsFfn(),
                    back.w1(), back.w2(), back.w3(), back.rmsFinal(), back.wcls()};
            for (int i = 0; i < x.length; i++) assertThat(y[i].mismatch(x[i])).as("tensor %d", i).isEqualTo(-1);

            // bf16 files: every weight is the bf16 truncation of the original
            Path d2 = Files.createDirectory(dir.resolve("bf16"));
            writeHf(d2, w, "BF16");
            Files.copy(dir.resolve("config.json"), d2.resolve("config.json"));
            LlamaWeights b = HfLlamaImport.load(d2, a, 8);
            assertThat(b.config().seqLen()).isEqualTo(8);
            for (long i = 0; i < w.wq().byteSize() / 4; i++) {
                float o = w.wq().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertThat(b.wq().getAtIndex(ValueLayout.JAVA_FLOAT, i)).isEqualTo(Float.intBitsToFloat(Float.floatToRawIntBits(o) & 0xFFFF0000));
            }
        }
    }

    @Test
    void missingTensorsAndBadConfigsAreNamed() throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 32}");
        assertThatThrownBy(() -> HfLlamaImport.readConfig(dir)).isInstanceOf(JgptException.class)
                .hasMessageContaining("config.json").hasMessageContaining("is missing");
        Files.writeString(dir.resolve("config.json"), "{\"rope_scaling\": {\"rope_type\": \"llama3\"}}");
        assertThatThrownBy(() -> HfLlamaImport.readConfig(dir)).isInstanceOf(JgptException.class).hasMessageContaining("rope_scaling");
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"GPT2LMHeadModel\"]}");
        assertThatThrownBy(() -> HfLlamaImport.readConfig(dir)).isInstanceOf(JgptException.class).hasMessageContaining("GPT2LMHeadModel");
    }

    /** HF names; q/k rows in HF order: HF row h*hs + j*hs/2 + i holds llama2.c row h*hs + 2i + j. */
    public static void writeHf(Path d, LlamaWeights w, String dtype) throws Exception {
        LlamaConfig c = w.config();
        int d0 = c.dim(), kv = c.kvDim(), h = c.hiddenDim();
        Map<String, float[]> tensors = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        put(tensors, shapes, "model.embed_tokens.weight", w.tokenEmbedding(), 0, c.vocabSize(), d0);
        put(tensors, shapes, "model.norm.weight", w.rmsFinal(), 0, d0);
        put(tensors, shapes, "lm_head.weight", w.wcls(), 0, c.vocabSize(), d0);
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            put(tensors, shapes, p + "input_layernorm.weight", w.rmsAtt(), (long) l * d0, d0);
            put(tensors, shapes, p + "post_attention_layernorm.weight", w.rmsFfn(), (long) l * d0, d0);
            put(tensors, shapes, p + "self_attn.q_proj.weight", w.wq(), (long) l * d0 * d0, d0, d0);
            permuteToHf(tensors.get(p + "self_attn.q_proj.weight"), c.heads(), d0, d0);
            put(tensors, shapes, p + "self_attn.k_proj.weight", w.wk(), (long) l * kv * d0, kv, d0);
            permuteToHf(tensors.get(p + "self_attn.k_proj.weight"), c.kvHeads(), kv, d0);
            put(tensors, shapes, p + "self_attn.v_proj.weight", w.wv(), (long) l * kv * d0, kv, d0);
            put(tensors, shapes, p + "self_attn.o_proj.weight", w.wo(), (long) l * d0 * d0, d0, d0);
            put(tensors, shapes, p + "mlp.gate_proj.weight", w.w1(), (long) l * h * d0, h, d0);
            put(tensors, shapes, p + "mlp.down_proj.weight", w.w2(), (long) l * d0 * h, d0, h);
            put(tensors, shapes, p + "mlp.up_proj.weight", w.w3(), (long) l * h * d0, h, d0);
        }
        int bytesPer = dtype.equals("F32") ? 4 : 2;
        StringBuilder hdr = new StringBuilder("{");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (var e : tensors.entrySet()) {
            float[] v = e.getValue();
            long begin = body.size();
            ByteBuffer b = ByteBuffer.allocate(v.length * bytesPer).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) {
                if (bytesPer == 4) b.putFloat(f);
                else b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
            }
            body.write(b.array());
            if (hdr.length() > 1) hdr.append(',');
            hdr.append('"').append(e.getKey()).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":")
                    .append(java.util.Arrays.toString(shapes.get(e.getKey())).replace(" ", "")).append(",\"data_offsets\":[")
                    .append(begin).append(',').append(body.size()).append("]}");
        }
        hdr.append('}');
        byte[] hb = hdr.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + hb.length + body.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(hb.length).put(hb).put(body.toByteArray());
        Files.write(d.resolve("model.safetensors"), out.array());
    }

    static void put(Map<String, float[]> t, Map<String, long[]> s, String name, MemorySegment src, long off, long... shape) {
        long n = 1;
        for (long x : shape) n *= x;
        float[] v = new float[(int) n];
        for (int i = 0; i < n; i++) v[i] = src.getAtIndex(ValueLayout.JAVA_FLOAT, off + i);
        t.put(name, v);
        s.put(name, shape);
    }

    static void permuteToHf(float[] m, int heads, int rows, int cols) {
        float[] src = m.clone();
        int hs = rows / heads;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < hs / 2; i++)
                for (int j = 0; j < 2; j++)
                    System.arraycopy(src, (h * hs + 2 * i + j) * cols, m, (h * hs + j * (hs / 2) + i) * cols, cols);
    }
}
