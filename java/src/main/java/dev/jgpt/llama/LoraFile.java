package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.io.Json;
import dev.jgpt.io.Safetensors;
import dev.jgpt.llama.LoraSpec.Target;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * LoRA adapters read from a Hugging Face PEFT directory ({@code adapter_config.json} and
 * {@code adapter_model.safetensors}: a jgpt LoRA checkpoint, or adapters trained with PEFT for the same base model),
 * to be merged into a Llama model's matrices as they load ({@code generate|chat --lora DIR}). The adapters are small
 * (a few MB) and held as float arrays; B's q and k rows are turned from Hugging Face's rotate-half order into llama2.c's.
 */
public final class LoraFile {
    private final LlamaConfig c;
    private final int r;
    private final float scale;
    private final Set<Target> targets;
    private final float[][][] a, b; // [layer][target ordinal]: A (r, in) and B (out, r), row-major

    private LoraFile(LlamaConfig c, int r, float scale, Set<Target> targets, float[][][] a, float[][][] b) {
        this.c = c;
        this.r = r;
        this.scale = scale;
        this.targets = targets;
        this.a = a;
        this.b = b;
    }

    /** Reads the adapters in {@code dir} for a model of shape {@code c}; every problem is one error naming the file. */
    public static LoraFile read(Path dir, LlamaConfig c) {
        Path cfgFile = dir.resolve(LoraAdapters.CONFIG), weights = dir.resolve(LoraAdapters.WEIGHTS);
        if (!Files.isRegularFile(cfgFile) || !Files.isRegularFile(weights)) {
            throw new JgptException("--lora " + dir + ": no " + LoraAdapters.CONFIG + " and " + LoraAdapters.WEIGHTS
                    + " in it (a LoRA run's checkpoint, or a PEFT adapter directory)");
        }
        JsonNode cfg;
        try {
            cfg = Json.MAPPER.readTree(Files.readString(cfgFile));
        } catch (IOException e) {
            throw new JgptException(cfgFile + ": " + e.getMessage());
        } catch (JacksonException e) {
            throw new JgptException(cfgFile + ": not JSON (" + e.getOriginalMessage() + ")");
        }
        if (!cfg.path("peft_type").asString("LORA").equals("LORA")) {
            throw new JgptException(cfgFile + ": peft_type " + cfg.path("peft_type").asString() + ", not LORA");
        }
        int r = cfg.path("r").asInt(0);
        double alpha = cfg.path("lora_alpha").asDouble(0);
        if (r <= 0 || !(alpha > 0)) throw new JgptException(cfgFile + ": \"r\" and \"lora_alpha\" must be positive numbers");
        if (cfg.path("fan_in_fan_out").asBoolean(false)) throw new JgptException(cfgFile + ": fan_in_fan_out adapters are not read");
        // rsLoRA scales by alpha / sqrt(r), LoRA by alpha / r
        float scale = (float) (cfg.path("use_rslora").asBoolean(false) ? alpha / Math.sqrt(r) : alpha / r);
        Set<Target> targets = EnumSet.noneOf(Target.class);
        for (JsonNode m : cfg.path("target_modules")) {
            String name = m.asString();
            Target t = null;
            for (Target x : Target.values()) if (x.module.equals(name)) t = x;
            if (t == null) throw new JgptException(cfgFile + ": target module '" + name + "' is not one of a Llama's linear layers");
            targets.add(t);
        }
        if (targets.isEmpty()) throw new JgptException(cfgFile + ": \"target_modules\" lists no module");
        int L = c.layers(), nt = Target.values().length;
        float[][][] a = new float[L][nt][], b = new float[L][nt][];
        try (Safetensors.Reader rd = Safetensors.open(weights)) {
            for (int l = 0; l < L; l++) {
                for (Target t : targets) {
                    int i = t.ordinal();
                    a[l][i] = floats(rd, LoraAdapters.peftName(l, t, "A"), r, t.in(c));
                    b[l][i] = floats(rd, LoraAdapters.peftName(l, t, "B"), t.out(c), r);
                    if (t == Target.Q || t == Target.K) b[l][i] = fromHfRows(b[l][i], r, t == Target.Q ? c.heads() : c.kvHeads(), c.headSize());
                }
            }
        }
        return new LoraFile(c, r, scale, targets, a, b);
    }

    /** A tensor of the file as floats (F32, F16, BF16 or F64: PEFT saves adapters in the training's dtype). */
    private static float[] floats(Safetensors.Reader rd, String name, long rows, long cols) {
        Safetensors.Entry e = rd.get(name);
        if (e.shape().length != 2 || e.shape()[0] != rows || e.shape()[1] != cols) {
            throw new JgptException(rd.file() + ": tensor '" + name + "' has shape " + java.util.Arrays.toString(e.shape())
                    + ", expected [" + rows + ", " + cols + "] (adapters of another model, or of another rank)");
        }
        float[] out = new float[(int) (rows * cols)];
        for (int i = 0; i < out.length; i++) out[i] = e.getFloat(i);
        return out;
    }

    /** B's rows from Hugging Face's order (row h*hs + j*hs/2 + i) into llama2.c's (row h*hs + 2i + j). */
    private static float[] fromHfRows(float[] hf, int r, int heads, int hs) {
        float[] out = new float[hf.length];
        int half = hs / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    System.arraycopy(hf, (h * hs + j * half + i) * r, out, (h * hs + 2 * i + j) * r, r);
                }
            }
        }
        return out;
    }

    /** Whether the adapters change matrix {@code t}. */
    public boolean adapts(Target t) {
        return targets.contains(t);
    }

    /** {@code w (out, in) += scale B A} for layer {@code l}'s matrix {@code t} (a float32 copy of it). */
    public void addTo(Target t, int l, MemorySegment w) {
        if (!adapts(t)) return;
        addProduct(w, t.out(c), t.in(c), a[l][t.ordinal()], b[l][t.ordinal()], r, scale);
    }

    /** {@code w (out, in) += scale B (out, r) A (r, in)}, one row of w at a time: how adapters merge into a matrix. */
    static void addProduct(MemorySegment w, int out, int in, float[] a, float[] b, int r, float scale) {
        float[] row = new float[in];
        for (int y = 0; y < out; y++) {
            MemorySegment.copy(w, ValueLayout.JAVA_FLOAT, (long) y * in * 4, row, 0, in);
            for (int j = 0; j < r; j++) {
                float bj = scale * b[y * r + j];
                int aj = j * in;
                for (int x = 0; x < in; x++) row[x] += bj * a[aj + x];
            }
            MemorySegment.copy(row, 0, w, ValueLayout.JAVA_FLOAT, (long) y * in * 4, in);
        }
    }
}
