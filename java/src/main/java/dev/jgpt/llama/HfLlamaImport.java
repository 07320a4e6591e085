package dev.jgpt.llama;

import dev.jgpt.JgptException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Imports a Hugging Face {@code LlamaForCausalLM} directory: {@code config.json} and one or more
 * {@code *.safetensors} files (F32, BF16 or F16 tensors). The safetensors files are memory-mapped;
 * the weights are copied once into float32 tensors stacked over layers in llama2.c's order (they
 * have to be: HF keeps one tensor per layer, and its q/k rows are ordered for "rotate half" RoPE,
 * which this codebase does on interleaved pairs like llama2.c, so q and k rows are permuted on the
 * way, as llama2.c's export script does).
 */
public final class HfLlamaImport {
    private HfLlamaImport() {}

    /** Whether {@code dir} looks like a Hugging Face Llama model directory. */
    public static boolean isHfLlamaDir(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve("config.json"));
    }

    /**
     * Whether {@code dir}'s config.json names a Llama model ({@code architectures} LlamaForCausalLM or {@code model_type}
     * llama): a GPT-2 model directory has a config.json too.
     */
    public static boolean isLlamaConfig(Path dir) {
        if (!isHfLlamaDir(dir)) return false;
        try {
            JsonNode n = JsonMapper.builder().build().readTree(Files.readString(dir.resolve("config.json")));
            return n.path("architectures").path(0).asString("").equals("LlamaForCausalLM") || n.path("model_type").asString("").equals("llama");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    public static LlamaConfig readConfig(Path dir) {
        Path f = dir.resolve("config.json");
        JsonNode n;
        try {
            n = JsonMapper.builder().build().readTree(Files.readString(f));
        } catch (IOException | RuntimeException e) {
            throw new JgptException("config " + f + ": " + e.getMessage());
        }
        JsonNode archs = n.path("architectures");
        if (archs.isArray() && !archs.isEmpty() && !archs.get(0).asString().equals("LlamaForCausalLM")) {
            throw new JgptException("config " + f + ": architecture " + archs.get(0).asString() + " is not LlamaForCausalLM");
        }
        if (n.has("rope_scaling") && !n.get("rope_scaling").isNull()) {
            throw new JgptException("config " + f + ": rope_scaling " + n.get("rope_scaling") + " is not supported (plain RoPE only)");
        }
        if (n.has("hidden_act") && !n.get("hidden_act").asString().equals("silu")) {
            throw new JgptException("config " + f + ": hidden_act " + n.get("hidden_act").asString() + " is not supported (silu only)");
        }
        int heads = required(n, f, "num_attention_heads");
        try {
            return new LlamaConfig(required(n, f, "hidden_size"), required(n, f, "intermediate_size"),
                    required(n, f, "num_hidden_layers"), heads,
                    n.has("num_key_value_heads") ? n.get("num_key_value_heads").asInt() : heads,
                    required(n, f, "vocab_size"), required(n, f, "max_position_embeddings"),
                    n.path("tie_word_embeddings").asBoolean(false),
                    n.has("rope_theta") ? n.get("rope_theta").asDouble() : 10000.0,
                    n.has("rms_norm_eps") ? n.get("rms_norm_eps").asDouble() : 1e-6);
        } catch (JgptException e) {
            throw new JgptException("config " + f + ": " + e.getMessage());
        }
    }

    /**
     * A Llama model's Hugging Face {@code tokenizer.json} (or llama2.c's {@code tokenizer.bin}) for a vocabulary of
     * {@code vocabSize}: byte-level BPE (a ByteLevel pre-tokenizer or decoder: SmolLM, Llama 3) as jgpt's
     * {@link dev.jgpt.tokenizer.BpeTokenizer}, otherwise sentencepiece BPE (Llama 2, TinyLlama, Mistral) as
     * {@link Llama2cTokenizer}.
     */
    public static dev.jgpt.tokenizer.Tokenizer tokenizer(Path file, int vocabSize) {
        if (!file.getFileName().toString().endsWith(".json")) return Llama2cTokenizer.read(file, vocabSize);
        if (!isByteLevel(file)) return Llama2cTokenizer.fromHuggingFace(file, vocabSize);
        dev.jgpt.tokenizer.BpeTokenizer t = dev.jgpt.tokenizer.BpeTokenizer.load(file);
        if (t.vocabSize() != vocabSize) {
            throw new JgptException("tokenizer " + file + ": " + t.vocabSize() + " tokens but the model's vocabulary is " + vocabSize);
        }
        return t;
    }

    /** {@link #tokenizer(Path, int)} with the vocabulary size the file itself gives (its largest id + 1). */
    public static dev.jgpt.tokenizer.Tokenizer tokenizer(Path file) {
        if (!file.getFileName().toString().endsWith(".json")) return Llama2cTokenizer.read(file);
        if (isByteLevel(file)) return dev.jgpt.tokenizer.BpeTokenizer.load(file);
        try {
            JsonNode root = JsonMapper.builder().build().readTree(Files.readString(file));
            int max = -1;
            for (var e : root.path("model").path("vocab").properties()) max = Math.max(max, e.getValue().asInt());
            for (var t : root.path("added_tokens")) max = Math.max(max, t.path("id").asInt(-1));
            return Llama2cTokenizer.fromHuggingFace(file, max + 1);
        } catch (IOException | RuntimeException e) {
            if (e instanceof JgptException j) throw j;
            throw new JgptException("tokenizer " + file + ": " + e.getMessage());
        }
    }

    /** Whether a tokenizer.json's pre-tokenizer or decoder is ByteLevel (GPT-2's byte alphabet, not sentencepiece's U+2581). */
    static boolean isByteLevel(Path file) {
        try {
            JsonNode root = JsonMapper.builder().build().readTree(Files.readString(file));
            return mentionsByteLevel(root.path("pre_tokenizer")) || mentionsByteLevel(root.path("decoder"));
        } catch (IOException | RuntimeException e) {
            throw new JgptException("tokenizer " + file + ": " + e.getMessage());
        }
    }

    private static boolean mentionsByteLevel(JsonNode n) {
        if (n.path("type").asString("").equals("ByteLevel")) return true;
        for (JsonNode c : n.path("pretokenizers")) if (mentionsByteLevel(c)) return true;
        for (JsonNode c : n.path("decoders")) if (mentionsByteLevel(c)) return true;
        return false;
    }

    /**
     * What {@code tokenizer_config.json} says about chatting: {@code chat_template} (a string, or a list of named
     * templates of which "default" is taken), {@code add_bos_token} (default true, as Llama's tokenizer), the
     * {@code bos_token} and {@code eos_token}, with the ids of {@code tokenizer.json}'s added tokens. A directory
     * without a tokenizer_config.json has no template (llama2.c's BOS and EOS).
     */
    public static dev.jgpt.chat.ChatSource chatSource(Path dir) {
        Path f = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(f)) return dev.jgpt.chat.ChatSource.LLAMA2C;
        JsonMapper json = JsonMapper.builder().build();
        try {
            JsonNode n = json.readTree(Files.readString(f));
            Map<String, Integer> specials = new HashMap<>(Map.of("<s>", 1, "</s>", 2));
            Path tok = dir.resolve("tokenizer.json");
            if (Files.isRegularFile(tok)) {
                for (JsonNode a : json.readTree(Files.readString(tok)).path("added_tokens")) {
                    if (a.has("content") && a.has("id")) specials.put(a.get("content").asString(), a.get("id").asInt());
                }
            }
            String bos = tokenText(n.path("bos_token"), "<s>"), eos = tokenText(n.path("eos_token"), "</s>");
            JsonNode t = n.path("chat_template");
            String template = null;
            if (t.isString()) {
                template = t.asString();
            } else if (t.isArray()) {
                for (JsonNode e : t) if (e.path("name").asString("").equals("default")) template = e.path("template").asString(null);
            }
            int bosId = n.path("add_bos_token").asBoolean(true) ? specials.getOrDefault(bos, 1) : -1;
            return new dev.jgpt.chat.ChatSource(template, bosId, eos, specials);
        } catch (IOException | RuntimeException e) {
            throw new JgptException("tokenizer config " + f + ": " + e.getMessage());
        }
    }

    /** A special token written as a string or as an object with its {@code content}. */
    private static String tokenText(JsonNode n, String otherwise) {
        if (n.isString()) return n.asString();
        if (n.isObject() && n.path("content").isString()) return n.get("content").asString();
        return otherwise;
    }

    private static int required(JsonNode n, Path f, String field) {
        if (!n.has(field)) throw new JgptException("config " + f + ": field " + field + " is missing");
        return n.get(field).asInt();
    }

    /** One tensor of a mapped safetensors file. */
    record Entry(Path file, String dtype, long[] shape, MemorySegment data) {}

    /**
     * Reads the directory into float32 weights owned by {@code arena} (the mapped files are
     * released before returning). {@code maxSeq} &gt; 0 caps the context (and so the KV cache).
     */
    public static LlamaWeights load(Path dir, Arena arena, int maxSeq) {
        try (Arena mapped = Arena.ofShared()) {
            return stream(dir, arena, mapped, maxSeq).load(arena);
        }
    }

    /**
     * The directory's safetensors mapped into {@code mapped}, every tensor's shape checked against config.json, the
     * embedding and norms copied into {@code small}; the matrices left to copy one at a time while {@code mapped} is
     * open ({@link LlamaParts}), q and k permuted on the way.
     */
    public static LlamaParts stream(Path dir, Arena small, Arena mapped, int maxSeq) {
        LlamaConfig cfg = readConfig(dir);
        LlamaConfig c = maxSeq > 0 && maxSeq < cfg.seqLen() ? cfg.withSeqLen(maxSeq) : cfg;
        Map<String, Entry> t = mapAll(dir, mapped);
        int L = c.layers(), d = c.dim(), kv = c.kvDim(), h = c.hiddenDim(), V = c.vocabSize();
        // per matrix k (wq wk wv wo w1 w2 w3): its name in a layer and its (rows, cols)
        String[] names = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
            "mlp.down_proj", "mlp.up_proj"};
        int[][] shapes = {{d, d}, {kv, d}, {kv, d}, {d, d}, {h, d}, {d, h}, {h, d}};
        find(t, "model.embed_tokens.weight", V, d);
        find(t, "model.norm.weight", d);
        if (!c.sharedClassifier()) find(t, "lm_head.weight", V, d);
        for (int l = 0; l < L; l++) {
            String p = "model.layers." + l + ".";
            find(t, p + "input_layernorm.weight", d);
            find(t, p + "post_attention_layernorm.weight", d);
            for (int k = 0; k < 7; k++) find(t, p + names[k] + ".weight", shapes[k][0], shapes[k][1]);
        }
        MemorySegment emb = small.allocate(4L * V * d, 64), ra = small.allocate(4L * L * d, 64), rf = small.allocate(4L * L * d, 64),
                fin = small.allocate(4L * d, 64);
        copy(t, "model.embed_tokens.weight", emb, 0, V, d);
        copy(t, "model.norm.weight", fin, 0, d);
        for (int l = 0; l < L; l++) {
            String p = "model.layers." + l + ".";
            copy(t, p + "input_layernorm.weight", ra, (long) l * d, d);
            copy(t, p + "post_attention_layernorm.weight", rf, (long) l * d, d);
        }
        LlamaInference.MatrixDecoder matrices = (k, into) -> {
            if (k == 7) {
                MemorySegment out = into.allocate(4L * V * d, 64);
                copy(t, "lm_head.weight", out, 0, V, d);
                return out;
            }
            long per = (long) shapes[k][0] * shapes[k][1];
            MemorySegment out = into.allocate(4 * per * L, 64);
            for (int l = 0; l < L; l++) {
                String name = "model.layers." + l + "." + names[k] + ".weight";
                if (k == 0) copyPermuted(t, name, out, l * per, c.heads(), d, d);
                else if (k == 1) copyPermuted(t, name, out, l * per, c.kvHeads(), kv, d);
                else copy(t, name, out, l * per, shapes[k][0], shapes[k][1]);
            }
            return out;
        };
        return new LlamaParts(c, emb, ra, rf, fin, matrices);
    }

    private static Map<String, Entry> mapAll(Path dir, Arena arena) {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new JgptException("model directory " + dir + ": " + e.getMessage());
        }
        if (files.isEmpty()) throw new JgptException("model directory " + dir + ": no .safetensors files");
        Map<String, Entry> out = new HashMap<>();
        JsonMapper json = JsonMapper.builder().build();
        for (Path f : files) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
                if (n <= 0 || 8 + n > all.byteSize()) throw new JgptException("safetensors " + f + ": bad header length " + n);
                byte[] hdr = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
                JsonNode root = json.readTree(new String(hdr, StandardCharsets.UTF_8));
                MemorySegment body = all.asSlice(8 + n);
                for (var e : root.properties()) {
                    if (e.getKey().equals("__metadata__")) continue;
                    JsonNode v = e.getValue();
                    long[] shape = new long[v.get("shape").size()];
                    for (int i = 0; i < shape.length; i++) shape[i] = v.get("shape").get(i).asLong();
                    long begin = v.get("data_offsets").get(0).asLong(), end = v.get("data_offsets").get(1).asLong();
                    if (begin < 0 || end < begin || end > body.byteSize()) {
                        throw new JgptException("safetensors " + f + ": tensor " + e.getKey() + " lies outside the file");
                    }
                    out.put(e.getKey(), new Entry(f, v.get("dtype").asString(), shape, body.asSlice(begin, end - begin)));
                }
            } catch (IOException e) {
                throw new JgptException("safetensors " + f + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static Entry find(Map<String, Entry> t, String name, long... shape) {
        Entry e = t.get(name);
        if (e == null) throw new JgptException("model: tensor " + name + " is missing from the safetensors files");
        if (!java.util.Arrays.equals(e.shape(), shape)) {
            throw new JgptException("safetensors " + e.file() + ": tensor " + name + " has shape "
                    + java.util.Arrays.toString(e.shape()) + ", config.json implies " + java.util.Arrays.toString(shape));
        }
        return e;
    }

    private static void copy(Map<String, Entry> t, String name, MemorySegment dst, long dstOffset, long... shape) {
        Entry e = find(t, name, shape);
        long n = 1;
        for (long s : shape) n *= s;
        for (long i = 0; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_FLOAT, dstOffset + i, read(e, i));
    }

    /** llama2.c row h*hs + 2i + j comes from HF row h*hs + j*hs/2 + i (HF rotates halves, llama2.c pairs). */
    private static void copyPermuted(Map<String, Entry> t, String name, MemorySegment dst, long dstOffset, int heads,
                                     int rows, int cols) {
        Entry e = find(t, name, rows, cols);
        int hs = rows / heads;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < hs / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    long to = (long) h * hs + 2L * i + j, from = (long) h * hs + (long) j * (hs / 2) + i;
                    for (int k = 0; k < cols; k++) {
                        dst.setAtIndex(ValueLayout.JAVA_FLOAT, dstOffset + to * cols + k, read(e, from * cols + k));
                    }
                }
            }
        }
    }

    private static float read(Entry e, long i) {
        return switch (e.dtype()) {
            case "F32" -> e.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case "BF16" -> Float.intBitsToFloat((e.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xFFFF) << 16);
            case "F16" -> Float.float16ToFloat(e.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            default -> throw new JgptException("safetensors " + e.file() + ": dtype " + e.dtype() + " is not supported (F32, BF16, F16)");
        };
    }
}
