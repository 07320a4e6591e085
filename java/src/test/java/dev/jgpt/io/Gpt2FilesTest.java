package dev.jgpt.io;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Gpt2FilesTest {
    @TempDir
    Path dir;

    static final GptConfig C = new GptConfig(40, 8, 2, 2, 8);

    static Tensor random(TensorArena a) {
        Tensor t = a.allocate(DType.F32, ParameterLayout.of(C).size());
        Random r = new Random(5);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) r.nextGaussian());
        return t;
    }

    @Test
    void roundTripIsBitExactAndUsesHuggingFaceNamesAndLayout() {
        try (TensorArena a = TensorArena.host()) {
            Tensor p = random(a);
            Gpt2Files.write(dir, C, p, 3, Map.of());
            assertThat(Gpt2Files.readConfig(dir.resolve("config.json"))).isEqualTo(C);
            Tensor q = a.allocate(DType.F32, p.numel());
            Gpt2Files.readWeights(dir.resolve("model.safetensors"), C, q);
            assertThat(q.data().mismatch(p.data().asSlice(0, p.byteSize()))).isEqualTo(-1);
            try (Safetensors.Reader r = Safetensors.open(dir.resolve("model.safetensors"))) {
                assertThat(r.metadata()).containsEntry("format", "pt");
                assertThat(r.entries()).hasSize(2 + 12 * C.layers() + 2).doesNotContainKey("lm_head.weight");
                Safetensors.Entry cAttn = r.get("transformer.h.1.attn.c_attn.weight");
                assertThat(cAttn.shape()).containsExactly(8, 24);
                // HF (in, out)[i][j] == ours (out, in)[j][i]
                Tensor ours = ParameterLayout.of(C).view("qkvw").of(p).slice(1);
                assertThat(cAttn.getFloat(3L * 24 + 17)).isEqualTo(ours.getFloat(17L * 8 + 3));
            }
        }
    }

    @Test
    void readsForeignCheckpointsWithoutPrefixWithBuffersAndHalfPrecision() {
        try (TensorArena a = TensorArena.host(); Arena arena = Arena.ofConfined()) {
            Tensor p = random(a);
            List<NamedTensor> list = new ArrayList<>();
            for (NamedTensor t : Gpt2Files.hfTensors(ParameterLayout.of(C), p, arena)) {
                String name = t.name().substring("transformer.".length());
                if (name.equals("wte.weight")) { // store one tensor as BF16, as some checkpoints do
                    MemorySegment s = arena.allocate(t.numel() * 2);
                    for (long i = 0; i < t.numel(); i++) {
                        s.setAtIndex(ValueLayout.JAVA_SHORT, i, DType.toBf16(t.data().getAtIndex(ValueLayout.JAVA_FLOAT, i)));
                    }
                    list.add(new NamedTensor(name, DType.BF16, t.shape(), s));
                } else {
                    list.add(new NamedTensor(name, t.dtype(), t.shape(), t.data()));
                }
            }
            list.add(new NamedTensor("h.0.attn.bias", DType.F32, new long[] {1, 1, 8, 8}, arena.allocate(256)));
            Path f = dir.resolve("foreign.safetensors");
            Safetensors.write(f, list, Map.of("format", "pt"));
            Tensor q = a.allocate(DType.F32, p.numel());
            Gpt2Files.readWeights(f, C, q);
            assertThat(q.getFloat(100)).isEqualTo(DType.fromBf16(DType.toBf16(p.getFloat(100))));
            long last = p.numel() - 1;
            assertThat(q.getFloat(last)).isEqualTo(p.getFloat(last));
            // a model of another shape is a clear error
            GptConfig wider = new GptConfig(40, 8, 2, 2, 16);
            Tensor w = a.allocate(DType.F32, ParameterLayout.of(wider).size());
            assertThatThrownBy(() -> Gpt2Files.readWeights(f, wider, w)).hasMessageContaining("has shape [40, 8], expected [40, 16]");
        }
    }

    @Test
    void llmcFileHasItsHeaderAndPaddedVocabulary() throws Exception {
        try (TensorArena a = TensorArena.host()) {
            Tensor p = random(a);
            Path f = dir.resolve("m.bin");
            ModelExport.writeLlmc(f, C, p);
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
            int[] h = new int[8];
            for (int i = 0; i < 8; i++) h[i] = b.getInt(4 * i);
            assertThat(h).containsExactly(20240326, 3, 8, 40, 2, 2, 8, 128);
            assertThat(Files.size(f)).isEqualTo(1024 + 4 * (p.numel() + (128 - 40) * 8L));
            assertThat(b.getFloat(1024 + 4 * 5)).isEqualTo(p.getFloat(5));
            long wpeAt = 1024 + 4L * 128 * 8; // after the padded token table
            assertThat(b.getFloat((int) wpeAt)).isEqualTo(p.getFloat(40L * 8));
        }
    }

    @Test
    void ggufHasTheTensorsAndTypedMetadataLlamaCppNeeds() throws Exception {
        Path tokJson = dir.resolve("tokenizer.json");
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < 39; i++) vocab.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":").append(i);
        Files.writeString(tokJson, "{\"added_tokens\":[{\"id\":39,\"content\":\"<|endoftext|>\",\"special\":true}],"
                + "\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab + "},\"merges\":[\"t 1\",[\"t1\",\"2\"]]}}");
        try (TensorArena a = TensorArena.host()) {
            Path f = dir.resolve("m.gguf");
            ModelExport.writeGguf(f, C, random(a), TokenizerJson.read(tokJson), "test");
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(b.getInt()).isEqualTo(0x46554747);
            assertThat(b.getInt()).isEqualTo(3);
            long nTensors = b.getLong(), nKv = b.getLong();
            assertThat(nTensors).isEqualTo(2 + 12 * 2 + 3);
            Map<String, Integer> types = new LinkedHashMap<>();
            Map<String, Object> values = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                String key = str(b);
                int type = b.getInt();
                types.put(key, type);
                values.put(key, value(b, type));
            }
            assertThat(values.get("general.architecture")).isEqualTo("gpt2");
            for (String k : List.of("gpt2.context_length", "gpt2.embedding_length", "gpt2.block_count",
                    "gpt2.feed_forward_length", "gpt2.attention.head_count", "tokenizer.ggml.bos_token_id",
                    "tokenizer.ggml.eos_token_id")) {
                assertThat(types.get(k)).as(k).isEqualTo(4); // u32, checked strictly by llama.cpp
            }
            assertThat(types.get("gpt2.attention.layer_norm_epsilon")).isEqualTo(6);
            assertThat(values.get("tokenizer.ggml.eos_token_id")).isEqualTo(39);
            assertThat(values.get("tokenizer.ggml.pre")).isEqualTo("gpt-2");
            assertThat(values.get("tokenizer.ggml.merges")).isEqualTo(List.of("t 1", "t1 2"));
            Map<String, long[]> dims = new LinkedHashMap<>();
            for (long i = 0; i < nTensors; i++) {
                String name = str(b);
                long[] d = new long[b.getInt()];
                for (int k = 0; k < d.length; k++) d[k] = b.getLong();
                assertThat(b.getInt()).isZero(); // F32
                b.getLong();
                dims.put(name, d);
            }
            assertThat(dims.get("token_embd.weight")).containsExactly(8, 40);
            assertThat(dims.get("blk.1.attn_qkv.weight")).containsExactly(8, 24);
            assertThat(dims.get("blk.0.ffn_down.weight")).containsExactly(32, 8);
            assertThat(dims.get("output.weight")).containsExactly(8, 40);
        }
    }

    @Test
    void ggufInBf16HasBf16MatricesAndF32NormsAndQ8NeedsChannelsOf32() throws Exception {
        Path tokJson = dir.resolve("tokenizer-bf16.json");
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < 39; i++) vocab.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":").append(i);
        Files.writeString(tokJson, "{\"added_tokens\":[{\"id\":39,\"content\":\"<|endoftext|>\",\"special\":true}],"
                + "\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab + "},\"merges\":[\"t 1\"]}}");
        try (TensorArena a = TensorArena.host()) {
            Tensor params = random(a);
            Path f = dir.resolve("m-bf16.gguf");
            ModelExport.writeGguf(f, C, params, TokenizerJson.read(tokJson), "test", GgmlType.BF16);
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
            b.getInt();
            b.getInt();
            long nTensors = b.getLong(), nKv = b.getLong();
            Map<String, Object> values = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                String key = str(b);
                values.put(key, value(b, b.getInt()));
            }
            assertThat(values.get("general.file_type")).isEqualTo(32);   // MOSTLY_BF16
            Map<String, Integer> type = new LinkedHashMap<>();
            for (long i = 0; i < nTensors; i++) {
                String name = str(b);
                int nd = b.getInt();
                for (int k = 0; k < nd; k++) b.getLong();
                type.put(name, b.getInt());
                b.getLong();
            }
            for (String m : List.of("token_embd.weight", "blk.0.attn_qkv.weight", "blk.1.attn_output.weight", "blk.0.ffn_up.weight",
                    "blk.1.ffn_down.weight", "output.weight")) {
                assertThat(type.get(m)).as(m).isEqualTo(GgmlType.BF16.id);
            }
            for (String m : List.of("position_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_qkv.bias", "output_norm.bias")) {
                assertThat(type.get(m)).as(m).isEqualTo(GgmlType.F32.id);
            }
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> ModelExport.writeGguf(dir.resolve("q8.gguf"), C, params,
                    TokenizerJson.read(tokJson), "test", GgmlType.Q8_0)).isInstanceOf(dev.jgpt.JgptException.class)
                    .hasMessageContaining("multiple of 32");
        }
    }

    private static String str(ByteBuffer b) {
        byte[] s = new byte[(int) b.getLong()];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static Object value(ByteBuffer b, int type) {
        return switch (type) {
            case 4, 5 -> b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get();
            case 8 -> str(b);
            case 9 -> {
                int et = b.getInt();
                long n = b.getLong();
                List<Object> l = new ArrayList<>();
                for (long i = 0; i < n; i++) l.add(value(b, et));
                yield l;
            }
            default -> throw new IllegalStateException("type " + type);
        };
    }
}
