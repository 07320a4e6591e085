package dev.jgpt.model;

import dev.jgpt.memory.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where each parameter tensor lives in the one flat F32 buffer, in llm.c's order, so AdamW,
 * gradient norm, checkpoints and device copies are one loop or one copy each. The same layout
 * addresses the gradients and the AdamW moments (buffers of equal size).
 *
 * <p>Per-layer tensors are stored stacked over layers, e.g. {@code qkvw} is (L, 3C, C); layer
 * {@code l}'s slice is {@code qkvw[l]}.
 *
 * <table>
 *   <caption>views, shapes and Hugging Face GPT-2 names</caption>
 *   <tr><th>view</th><th>shape here</th><th>Hugging Face name (per layer {@code i})</th><th>HF shape</th></tr>
 *   <tr><td>wte</td><td>(V, C)</td><td>transformer.wte.weight (also lm_head.weight, tied)</td><td>(V, C)</td></tr>
 *   <tr><td>wpe</td><td>(maxT, C)</td><td>transformer.wpe.weight</td><td>(maxT, C)</td></tr>
 *   <tr><td>ln1w, ln1b</td><td>(L, C)</td><td>transformer.h.i.ln_1.weight / .bias</td><td>(C)</td></tr>
 *   <tr><td>qkvw</td><td>(L, 3C, C)</td><td>transformer.h.i.attn.c_attn.weight</td><td>(C, 3C) transposed</td></tr>
 *   <tr><td>qkvb</td><td>(L, 3C)</td><td>transformer.h.i.attn.c_attn.bias</td><td>(3C)</td></tr>
 *   <tr><td>attprojw</td><td>(L, C, C)</td><td>transformer.h.i.attn.c_proj.weight</td><td>(C, C) transposed</td></tr>
 *   <tr><td>attprojb</td><td>(L, C)</td><td>transformer.h.i.attn.c_proj.bias</td><td>(C)</td></tr>
 *   <tr><td>ln2w, ln2b</td><td>(L, C)</td><td>transformer.h.i.ln_2.weight / .bias</td><td>(C)</td></tr>
 *   <tr><td>fcw</td><td>(L, 4C, C)</td><td>transformer.h.i.mlp.c_fc.weight</td><td>(C, 4C) transposed</td></tr>
 *   <tr><td>fcb</td><td>(L, 4C)</td><td>transformer.h.i.mlp.c_fc.bias</td><td>(4C)</td></tr>
 *   <tr><td>fcprojw</td><td>(L, C, 4C)</td><td>transformer.h.i.mlp.c_proj.weight</td><td>(4C, C) transposed</td></tr>
 *   <tr><td>fcprojb</td><td>(L, C)</td><td>transformer.h.i.mlp.c_proj.bias</td><td>(C)</td></tr>
 *   <tr><td>lnfw, lnfb</td><td>(C)</td><td>transformer.ln_f.weight / .bias</td><td>(C)</td></tr>
 * </table>
 *
 * <p>Hugging Face's GPT-2 uses {@code Conv1D}, which stores a linear layer's weight as (in, out);
 * we store (out, in) like {@code nn.Linear} and llm.c, so the four matmul weights must be transposed
 * on export and import ({@link View#hfTransposed()}).
 */
public final class ParameterLayout {

    /**
     * One named tensor of the flat buffer.
     *
     * @param name          llm.c-style name ({@code wte}, {@code qkvw}, ...)
     * @param offset        first element in the flat buffer
     * @param shape         full shape; per-layer views have L as their first dimension
     * @param perLayer      stacked over layers
     * @param hfName        Hugging Face tensor name; per-layer names contain {@code %d} for the layer
     * @param hfTransposed  stored transposed (as (in, out)) by Hugging Face's Conv1D
     * @param weightDecay   AdamW applies weight decay (2-D matmul weights and wte; not biases, layernorms, wpe)
     */
    public record View(String name, long offset, long[] shape, boolean perLayer, String hfName,
                       boolean hfTransposed, boolean weightDecay) {

        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        /** Shape of one layer's slice (the full shape for non-layer views). */
        public long[] layerShape() {
            return perLayer ? Arrays.copyOfRange(shape, 1, shape.length) : shape.clone();
        }

        /** Shape of one layer's slice as Hugging Face stores it: {@link #layerShape()}, reversed if {@link #hfTransposed()}. */
        public long[] hfShape() {
            long[] s = layerShape();
            return hfTransposed ? new long[] {s[1], s[0]} : s;
        }

        /** The Hugging Face name of layer {@code layer}'s slice (the layer is ignored for non-layer views). */
        public String hfName(int layer) {
            return perLayer ? hfName.formatted(layer) : hfName;
        }

        /** This view over a flat buffer laid out by this layout. */
        public Tensor of(Tensor flat) {
            return flat.view(offset, shape);
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape) + "@" + offset;
        }
    }

    private final GptConfig config;
    private final List<View> views;
    private final long size;

    private ParameterLayout(GptConfig config) {
        this.config = config;
        long V = config.vocabSize(), maxT = config.contextLength(), L = config.layers(), C = config.channels();
        List<View> v = new ArrayList<>();
        long[] off = {0};
        class Adder {
            void add(String name, boolean perLayer, String hf, boolean transposed, boolean decay, long... shape) {
                View view = new View(name, off[0], shape, perLayer, hf, transposed, decay);
                v.add(view);
                off[0] += view.numel();
            }
        }
        Adder a = new Adder();
        a.add("wte", false, "transformer.wte.weight", false, true, V, C);
        a.add("wpe", false, "transformer.wpe.weight", false, false, maxT, C);
        a.add("ln1w", true, "transformer.h.%d.ln_1.weight", false, false, L, C);
        a.add("ln1b", true, "transformer.h.%d.ln_1.bias", false, false, L, C);
        a.add("qkvw", true, "transformer.h.%d.attn.c_attn.weight", true, true, L, 3 * C, C);
        a.add("qkvb", true, "transformer.h.%d.attn.c_attn.bias", false, false, L, 3 * C);
        a.add("attprojw", true, "transformer.h.%d.attn.c_proj.weight", true, true, L, C, C);
        a.add("attprojb", true, "transformer.h.%d.attn.c_proj.bias", false, false, L, C);
        a.add("ln2w", true, "transformer.h.%d.ln_2.weight", false, false, L, C);
        a.add("ln2b", true, "transformer.h.%d.ln_2.bias", false, false, L, C);
        a.add("fcw", true, "transformer.h.%d.mlp.c_fc.weight", true, true, L, 4 * C, C);
        a.add("fcb", true, "transformer.h.%d.mlp.c_fc.bias", false, false, L, 4 * C);
        a.add("fcprojw", true, "transformer.h.%d.mlp.c_proj.weight", true, true, L, C, 4 * C);
        a.add("fcprojb", true, "transformer.h.%d.mlp.c_proj.bias", false, false, L, C);
        a.add("lnfw", false, "transformer.ln_f.weight", false, false, C);
        a.add("lnfb", false, "transformer.ln_f.bias", false, false, C);
        this.views = List.copyOf(v);
        this.size = off[0];
    }

    public static ParameterLayout of(GptConfig config) {
        return new ParameterLayout(config);
    }

    public GptConfig config() {
        return config;
    }

    /** All views in buffer order (llm.c's order). */
    public List<View> views() {
        return views;
    }

    /** Total elements of the flat buffer (= the parameter count). */
    public long size() {
        return size;
    }

    /** The view called {@code name} ({@code wte}, {@code qkvw}, ...). */
    public View view(String name) {
        for (View v : views) if (v.name().equals(name)) return v;
        throw new IllegalArgumentException("no parameter view named '" + name + "'; have " + views);
    }

    /** Named tensors over {@code flat} (parameters, gradients or AdamW moments). */
    public ParameterTensors bind(Tensor flat) {
        return new ParameterTensors(this, flat);
    }
}
