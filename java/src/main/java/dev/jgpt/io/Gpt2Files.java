package dev.jgpt.io;

import dev.jgpt.JgptException;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A GPT-2 model as Hugging Face stores it: {@code model.safetensors} with GPT-2's tensor names
 * ({@code transformer.h.0.attn.c_attn.weight}, ...; Conv1D weights transposed to (in, out);
 * {@code lm_head.weight} omitted because it is tied to {@code wte}) and {@code config.json}
 * ({@code GPT2LMHeadModel}). {@code transformers} loads such a directory with
 * {@code GPT2LMHeadModel.from_pretrained(dir)}; we read it back bit for bit, and also read the
 * files of an existing GPT-2 checkpoint (names with or without the {@code transformer.} prefix,
 * F32/F16/BF16).
 */
public final class Gpt2Files {
    public static final String WEIGHTS = "model.safetensors";
    public static final String CONFIG = "config.json";

    private Gpt2Files() {}

    /** HF's config.json for this model; {@code eotId} becomes bos/eos (null when unknown). */
    public static ObjectNode configJson(GptConfig c, Integer eotId) {
        ObjectNode o = Json.object();
        o.putArray("architectures").add("GPT2LMHeadModel");
        o.put("model_type", "gpt2");
        o.put("vocab_size", c.vocabSize());
        o.put("n_positions", c.contextLength());
        o.put("n_ctx", c.contextLength());
        o.put("n_embd", c.channels());
        o.put("n_layer", c.layers());
        o.put("n_head", c.heads());
        o.putNull("n_inner");
        o.put("activation_function", "gelu_new");
        o.put("layer_norm_epsilon", 1e-5);
        o.put("resid_pdrop", 0.0);
        o.put("embd_pdrop", 0.0);
        o.put("attn_pdrop", 0.0);
        o.put("initializer_range", 0.02);
        o.put("scale_attn_weights", true);
        o.put("tie_word_embeddings", true);
        o.put("use_cache", true);
        if (eotId != null) {
            o.put("bos_token_id", eotId);
            o.put("eos_token_id", eotId);
        }
        o.put("torch_dtype", "float32");
        return o;
    }

    /** Reads config.json (ours or Hugging Face's) into a model shape. */
    public static GptConfig readConfig(Path configJson) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(Files.readString(configJson));
        } catch (NoSuchFileException e) {
            throw new JgptException(configJson + ": no such file");
        } catch (IOException e) {
            throw new JgptException("cannot read " + configJson + ": " + AtomicFiles.describe(e), e);
        } catch (JacksonException e) {
            throw new JgptException(configJson + ": not valid JSON (" + Json.problem(e) + ")");
        }
        if (n == null || !n.isObject()) throw new JgptException(configJson + ": expected a JSON object");
        String type = n.path("model_type").asString("gpt2");
        if (!type.equals("gpt2")) throw new JgptException(configJson + ": model_type '" + type + "' is not supported (only gpt2)");
        int V = intField(configJson, n, "vocab_size");
        int T = n.has("n_positions") ? intField(configJson, n, "n_positions") : intField(configJson, n, "n_ctx");
        int C = intField(configJson, n, "n_embd");
        int L = intField(configJson, n, "n_layer");
        int H = intField(configJson, n, "n_head");
        JsonNode inner = n.get("n_inner");
        if (inner != null && !inner.isNull() && inner.asInt() != 4 * C) {
            throw new JgptException(configJson + ": n_inner " + inner.asInt() + " is not 4*n_embd (unsupported)");
        }
        try {
            return new GptConfig(V, T, L, H, C);
        } catch (JgptException e) {
            throw new JgptException(configJson + ": " + e.getMessage());
        }
    }

    private static int intField(Path f, JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isIntegralNumber()) throw new JgptException(f + ": missing integer '" + key + "'");
        return v.intValue();
    }

    /** Writes model.safetensors and config.json into {@code dir} (each atomically). params: host F32 flat buffer. */
    public static void write(Path dir, GptConfig c, Tensor params, Integer eotId, Map<String, String> metadata) {
        ParameterLayout layout = ParameterLayout.of(c);
        try (Arena arena = Arena.ofConfined()) {
            List<NamedTensor> list = hfTensors(layout, params, arena);
            Map<String, String> meta = new java.util.LinkedHashMap<>();
            meta.put("format", "pt");
            if (metadata != null) meta.putAll(metadata);
            Safetensors.write(dir.resolve(WEIGHTS), list, meta);
        }
        AtomicFiles.write(dir.resolve(CONFIG), Json.PRETTY.writeValueAsBytes(configJson(c, eotId)));
    }

    /** The parameters as Hugging Face names and layouts (transposed copies live in {@code arena}). */
    public static List<NamedTensor> hfTensors(ParameterLayout layout, Tensor params, Arena arena) {
        List<NamedTensor> out = new ArrayList<>();
        int L = layout.config().layers();
        for (ParameterLayout.View v : layout.views()) {
            Tensor all = v.of(params);
            int n = v.perLayer() ? L : 1;
            for (int l = 0; l < n; l++) {
                Tensor t = v.perLayer() ? all.slice(l) : all;
                long[] shape = t.shape();
                MemorySegment data = t.data().asSlice(0, t.byteSize());
                if (v.hfTransposed()) {
                    int rows = (int) shape[0], cols = (int) shape[1];
                    MemorySegment tr = arena.allocate(t.byteSize(), 64);
                    transpose(data, tr, rows, cols);
                    data = tr;
                    shape = new long[] {cols, rows};
                }
                out.add(new NamedTensor(v.hfName(l), DType.F32, shape, data));
            }
        }
        return out;
    }

    /** dst (cols, rows) = src (rows, cols)^T, floats, bit-exact. */
    static void transpose(MemorySegment src, MemorySegment dst, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                dst.setAtIndex(ValueLayout.JAVA_INT, (long) c * rows + r, src.getAtIndex(ValueLayout.JAVA_INT, (long) r * cols + c));
            }
        }
    }

    /**
     * Fills {@code params} (host F32, layout of {@code c}) from a safetensors file of GPT-2 weights.
     * Extra buffers of Hugging Face checkpoints ({@code attn.bias}, {@code attn.masked_bias}) and a
     * tied {@code lm_head.weight} are ignored; anything missing or misshapen is a clear error. A
     * position table longer than {@code c}'s context is cut to it.
     */
    public static void readWeights(Path file, GptConfig c, Tensor params) {
        ParameterLayout layout = ParameterLayout.of(c);
        try (Safetensors.Reader r = Safetensors.open(file)) {
            String prefix = r.has("transformer.wte.weight") ? "" : r.has("wte.weight") ? "strip" : null;
            if (prefix == null) {
                throw new JgptException(file + ": not GPT-2 weights (no tensor 'transformer.wte.weight' or 'wte.weight')");
            }
            int L = c.layers();
            for (ParameterLayout.View v : layout.views()) {
                Tensor all = v.of(params);
                int n = v.perLayer() ? L : 1;
                for (int l = 0; l < n; l++) {
                    Tensor t = v.perLayer() ? all.slice(l) : all;
                    String name = v.hfName(l);
                    if (prefix.equals("strip")) name = name.substring("transformer.".length());
                    Safetensors.Entry e = r.get(name);
                    long[] want = t.shape();
                    if (v.hfTransposed()) want = new long[] {want[1], want[0]};
                    long[] have = e.shape();
                    boolean posCut = v.name().equals("wpe") && have.length == 2 && have[1] == want[1] && have[0] >= want[0];
                    if (!posCut && !java.util.Arrays.equals(have, want)) {
                        throw new JgptException(file + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(have)
                                + ", expected " + java.util.Arrays.toString(want) + " for " + describe(c));
                    }
                    copyIn(e, t, v.hfTransposed());
                }
            }
        }
    }

    private static String describe(GptConfig c) {
        return "vocab " + c.vocabSize() + ", context " + c.contextLength() + ", " + c.layers() + " layers, "
                + c.heads() + " heads, " + c.channels() + " channels";
    }

    private static void copyIn(Safetensors.Entry e, Tensor dst, boolean transposed) {
        long n = dst.numel();
        MemorySegment d = dst.data();
        if (e.dtype().equals("F32") && !transposed) {
            MemorySegment.copy(e.data(), 0, d, 0, n * 4);
            return;
        }
        if (!transposed) {
            for (long i = 0; i < n; i++) d.setAtIndex(ValueLayout.JAVA_FLOAT, i, e.getFloat(i));
            return;
        }
        int rows = (int) dst.dim(0), cols = (int) dst.dim(1); // ours (rows, cols); file (cols, rows)
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) {
                d.setAtIndex(ValueLayout.JAVA_FLOAT, (long) r * cols + c, e.getFloat((long) c * rows + r));
            }
        }
    }

    /** True when {@code dir} holds a model this class can read. */
    public static boolean isModelDir(Path dir) {
        return Files.isRegularFile(dir.resolve(WEIGHTS)) && Files.isRegularFile(dir.resolve(CONFIG));
    }
}
