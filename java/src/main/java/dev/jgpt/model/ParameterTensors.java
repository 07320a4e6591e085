package dev.jgpt.model;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;

/**
 * The named views of one flat buffer laid out by {@link ParameterLayout}: used for the parameters,
 * the gradients and the AdamW moments alike. Per-layer slices are made once here, so the forward and
 * backward passes create no views per step.
 */
public final class ParameterTensors {
    private final ParameterLayout layout;
    private final Tensor flat;
    private final Tensor wte, wpe, lnfw, lnfb;
    private final Tensor[] byView; // parallel to layout.views()
    private final Tensor[] ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb;

    ParameterTensors(ParameterLayout layout, Tensor flat) {
        if (flat.dtype() != DType.F32 || flat.numel() != layout.size()) {
            throw new IllegalArgumentException("flat: expected F32[" + layout.size() + "] for " + layout.config()
                    + " but got " + flat);
        }
        this.layout = layout;
        this.flat = flat;
        wte = layout.view("wte").of(flat);
        wpe = layout.view("wpe").of(flat);
        lnfw = layout.view("lnfw").of(flat);
        lnfb = layout.view("lnfb").of(flat);
        ln1w = layers("ln1w");
        ln1b = layers("ln1b");
        qkvw = layers("qkvw");
        qkvb = layers("qkvb");
        attprojw = layers("attprojw");
        attprojb = layers("attprojb");
        ln2w = layers("ln2w");
        ln2b = layers("ln2b");
        fcw = layers("fcw");
        fcb = layers("fcb");
        fcprojw = layers("fcprojw");
        fcprojb = layers("fcprojb");
        byView = new Tensor[layout.views().size()];
        for (int i = 0; i < byView.length; i++) byView[i] = layout.views().get(i).of(flat);
    }

    private Tensor[] layers(String name) {
        Tensor all = layout.view(name).of(flat);
        Tensor[] out = new Tensor[layout.config().layers()];
        for (int l = 0; l < out.length; l++) out[l] = all.slice(l);
        return out;
    }

    public ParameterLayout layout() { return layout; }

    /** The whole buffer. */
    public Tensor flat() { return flat; }

    /** The full (possibly layer-stacked) tensor of a view. */
    public Tensor tensor(ParameterLayout.View view) {
        for (int i = 0; i < byView.length; i++) {
            if (layout.views().get(i) == view) return byView[i];
        }
        return view.of(flat); // a view of another layout instance with the same shape
    }

    /** Token embedding (V, C), also the output classifier (tied). */
    public Tensor wte() { return wte; }
    /** Position embedding (maxT, C). */
    public Tensor wpe() { return wpe; }
    public Tensor ln1w(int l) { return ln1w[l]; }
    public Tensor ln1b(int l) { return ln1b[l]; }
    /** (3C, C): rows [0,C) make q, [C,2C) k, [2C,3C) v. */
    public Tensor qkvw(int l) { return qkvw[l]; }
    public Tensor qkvb(int l) { return qkvb[l]; }
    public Tensor attprojw(int l) { return attprojw[l]; }
    public Tensor attprojb(int l) { return attprojb[l]; }
    public Tensor ln2w(int l) { return ln2w[l]; }
    public Tensor ln2b(int l) { return ln2b[l]; }
    /** (4C, C). */
    public Tensor fcw(int l) { return fcw[l]; }
    public Tensor fcb(int l) { return fcb[l]; }
    /** (C, 4C). */
    public Tensor fcprojw(int l) { return fcprojw[l]; }
    public Tensor fcprojb(int l) { return fcprojb[l]; }
    public Tensor lnfw() { return lnfw; }
    public Tensor lnfb() { return lnfb; }
}
