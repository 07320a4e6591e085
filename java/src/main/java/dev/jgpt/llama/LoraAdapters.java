package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.Json;
import dev.jgpt.io.NamedTensor;
import dev.jgpt.io.Safetensors;
import dev.jgpt.llama.LoraSpec.Target;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * LoRA adapters (Hu et al. 2021) of a {@link LlamaTrainModel} whose own weights stay frozen: for each adapted matrix W
 * (out, in) of each layer, A (r, in) and B (out, r), and the product {@code x W^T} gains {@code scale (x A^T) B^T}
 * ({@code scale = alpha / r}). Only A and B have gradients and AdamW moments, so fine-tuning needs the frozen weights
 * once plus 4 x a few MB, where full fine-tuning needs four copies of the model.
 *
 * <p>Per adapted product the forward keeps {@code u = x A^T} (N, r) for the backward; the backward turns the
 * product's output gradient dy into {@code du = scale dy B} (N, r), {@code dB += scale dy^T u},
 * {@code dA += du^T x} and {@code dx += du A} — four thin products beside the frozen {@code dx += dy W}.
 *
 * <p>Files: Hugging Face PEFT's {@code adapter_model.safetensors} (names
 * {@code base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight}, q/k B rows in Hugging Face's rotate-half
 * order) and {@code adapter_config.json}.
 */
public final class LoraAdapters implements AutoCloseable {

    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String CONFIG = "adapter_config.json";

    private final Backend ops;
    private final LlamaConfig c;
    private final LoraSpec spec;
    private final float scale;
    private final int r;
    private final TensorArena arena;
    private final Tensor params, grads;
    private final long[][] aOffset;               // [layer][target] offset of A in the flat buffers; B follows A
    private final Tensor[][] a, b, da, db, u;     // [layer][target ordinal], null where the target is not adapted
    private final Tensor du;                      // (N, r) scratch of the backward
    private Tensor m, v;
    private TensorArena hostMirror;               // on a device backend: host copies for files, made on first use
    private Tensor hostParams, hostGrads;
    private String baseModel = "";                // PEFT's base_model_name_or_path

    /** Adapters for a model of shape {@code c} trained on batches of up to {@code maxN} tokens, zero until initialised. */
    public LoraAdapters(Backend ops, LlamaConfig c, LoraSpec spec, long maxN) {
        this.ops = ops;
        this.c = c;
        this.spec = spec;
        this.scale = spec.scale();
        this.r = spec.rank();
        int L = c.layers(), nt = Target.values().length;
        List<Target> targets = spec.ordered();
        aOffset = new long[L][nt];
        long off = 0;
        for (int l = 0; l < L; l++) {
            for (Target t : targets) {
                aOffset[l][t.ordinal()] = off;
                off += (long) r * (t.in(c) + t.out(c));
            }
        }
        arena = ops.newArena();
        try {
            params = arena.allocate(DType.F32, off);
            grads = arena.allocate(DType.F32, off);
            ops.zero(params);
            ops.zero(grads);
            Tensor saved = arena.allocate(DType.F32, (long) L * targets.size() * maxN * r);
            du = arena.allocate(DType.F32, maxN * r);
            a = new Tensor[L][nt];
            b = new Tensor[L][nt];
            da = new Tensor[L][nt];
            db = new Tensor[L][nt];
            u = new Tensor[L][nt];
            int k = 0;
            for (int l = 0; l < L; l++) {
                for (Target t : targets) {
                    int i = t.ordinal();
                    long o = aOffset[l][i], na = (long) r * t.in(c);
                    a[l][i] = params.view(o, r, t.in(c));
                    b[l][i] = params.view(o + na, t.out(c), r);
                    da[l][i] = grads.view(o, r, t.in(c));
                    db[l][i] = grads.view(o + na, t.out(c), r);
                    u[l][i] = saved.view(k++ * maxN * r, maxN * r);
                }
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public LoraSpec spec() { return spec; }

    /** Whether matrix {@code t} of every layer has an adapter. */
    public boolean adapts(Target t) {
        return spec.targets().contains(t);
    }

    /** Trainable floats (every A and B). */
    public long parameterCount() {
        return params.numel();
    }

    /** PEFT's initialisation: A uniform in +-1/sqrt(in) (kaiming_uniform with a = sqrt 5), B zero, so training starts at the base model. */
    public void initWeights(long seed) {
        Random rnd = new Random(seed);
        Tensor h = hostBuffer();
        for (int l = 0; l < c.layers(); l++) {
            for (Target t : spec.ordered()) {
                long o = aOffset[l][t.ordinal()], na = (long) r * t.in(c), nb = (long) t.out(c) * r;
                double bound = 1.0 / Math.sqrt(t.in(c));
                for (long j = 0; j < na; j++) h.setFloat(o + j, (float) ((rnd.nextDouble() * 2 - 1) * bound));
                for (long j = 0; j < nb; j++) h.setFloat(o + na + j, 0f);
            }
        }
        upload(h);
    }

    /** Takes {@code other}'s adapters (same model shape and spec): chat fine-tuning goes on with the ones pretraining trained. */
    public void copyFrom(LoraAdapters other) {
        if (!other.spec.equals(spec) || !other.c.equals(c)) throw new IllegalArgumentException("adapters of another shape");
        ops.copy(params, other.params);
    }

    // ---- forward and backward of one adapted product ------------------------------------------------

    /** {@code out (N, out) += scale (inp A^T) B^T}, after the frozen product wrote {@code out = inp W^T}. */
    void forward(int l, Target t, Tensor out, Tensor inp, int N) {
        int i = t.ordinal();
        ops.matmulForward(u[l][i], inp, a[l][i], null, N, t.in(c), r);
        ops.matmulAddForward(out, u[l][i], b[l][i], N, r, t.out(c), scale);
    }

    /** Given the product's output gradient {@code dout}: accumulates dA, dB and {@code dinp += scale dout B A}. */
    void backward(int l, Target t, Tensor dinp, Tensor dout, Tensor inp, int N) {
        int i = t.ordinal();
        ops.matmulAddBackward(du, db[l][i], dout, u[l][i], b[l][i], N, r, t.out(c), scale);
        ops.matmulBackward(dinp, da[l][i], null, du, inp, a[l][i], N, t.in(c), r);
    }

    // ---- optimizer --------------------------------------------------------------------------------

    void zeroGrad() {
        ops.zero(grads);
    }

    double gradSumSquares() {
        return ops.sumSquares(grads);
    }

    /** AdamW on every A and B (they are matrices: weight decay applies). */
    void adamw(float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale) {
        allocateOptimizerState();
        ops.adamw(params, grads, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale);
    }

    void allocateOptimizerState() {
        if (m == null) {
            m = arena.allocate(DType.F32, params.numel());
            v = arena.allocate(DType.F32, params.numel());
        }
    }

    Tensor optimizerM() { return m; }

    Tensor optimizerV() { return v; }

    /** Bytes: the adapters, their gradients, AdamW's moments, the saved {@code x A^T} and the backward's scratch. */
    long allocatedBytes() {
        return arena.allocatedBytes() + (hostMirror == null ? 0 : hostMirror.allocatedBytes());
    }

    long parameterBytes() {
        return params.byteSize();
    }

    /** The gradients (host; copied down on a device backend): the layout of the adapters. */
    Tensor gradients() {
        if (grads.isHost()) return grads;
        if (hostGrads == null) hostGrads = mirror().allocate(DType.F32, grads.numel());
        ops.copy(hostGrads, grads);
        return hostGrads;
    }

    /** The adapters, flat (host; on a device backend a copy brought down now). */
    public Tensor host() {
        Tensor h = hostBuffer();
        if (h != params) ops.copy(h, params);
        return h;
    }

    /** Where host code writes the adapters before {@link #upload}: the adapters themselves on a host backend. */
    private Tensor hostBuffer() {
        if (params.isHost()) return params;
        if (hostParams == null) hostParams = mirror().allocate(DType.F32, params.numel());
        return hostParams;
    }

    /** Makes {@code h} (what {@link #host} returned, changed) the adapters. */
    void upload(Tensor h) {
        if (h != params) ops.copy(params, h);
    }

    private TensorArena mirror() {
        if (hostMirror == null) hostMirror = TensorArena.host();
        return hostMirror;
    }

    // ---- merging ----------------------------------------------------------------------------------

    /**
     * {@code w (out, in) += scale B A} for layer {@code l}'s matrix {@code t}, on a host copy of the frozen matrix:
     * the merged weight a checkpoint holds, so every reader of a llama2.c file runs the fine-tuned model.
     */
    void addDelta(Tensor hostAdapters, int l, Target t, MemorySegment w) {
        int in = t.in(c), out = t.out(c);
        long o = aOffset[l][t.ordinal()], bo = o + (long) r * in;
        float[] a = new float[r * in], b = new float[out * r];
        MemorySegment.copy(hostAdapters.data(), ValueLayout.JAVA_FLOAT, o * 4, a, 0, a.length);
        MemorySegment.copy(hostAdapters.data(), ValueLayout.JAVA_FLOAT, bo * 4, b, 0, b.length);
        LoraFile.addProduct(w, out, in, a, b, r, scale);
    }

    // ---- files (Hugging Face PEFT) -------------------------------------------------------------------

    static String peftName(int layer, Target t, String ab) {
        return "base_model.model.model.layers." + layer + "." + t.block + "." + t.module + ".lora_" + ab + ".weight";
    }

    /** What the files name as the model these adapters fit (PEFT's {@code base_model_name_or_path}). */
    public void baseModel(String name) {
        baseModel = name == null ? "" : name;
    }

    /**
     * Writes {@code adapter_model.safetensors} and {@code adapter_config.json} into {@code dir}. B of q and k is
     * written in Hugging Face's row order.
     */
    public void writePeft(Path dir) {
        Tensor h = host();
        try (Arena scratch = Arena.ofConfined()) {
            List<NamedTensor> out = new ArrayList<>();
            for (int l = 0; l < c.layers(); l++) {
                for (Target t : spec.ordered()) {
                    long o = aOffset[l][t.ordinal()], na = (long) r * t.in(c), nb = (long) t.out(c) * r;
                    MemorySegment aSeg = h.data().asSlice(o * 4, na * 4), bSeg = h.data().asSlice((o + na) * 4, nb * 4);
                    if (t == Target.Q || t == Target.K) bSeg = permuteRows(bSeg, t == Target.Q ? c.heads() : c.kvHeads(), true, scratch);
                    out.add(new NamedTensor(peftName(l, t, "A"), DType.F32, new long[] {r, t.in(c)}, aSeg));
                    out.add(new NamedTensor(peftName(l, t, "B"), DType.F32, new long[] {t.out(c), r}, bSeg));
                }
            }
            Safetensors.write(dir.resolve(WEIGHTS), out, Map.of("format", "pt"));
        }
        AtomicFiles.write(dir.resolve(CONFIG), Json.PRETTY.writeValueAsBytes(peftConfig(baseModel)));
    }

    private ObjectNode peftConfig(String base) {
        ObjectNode o = Json.object();
        o.put("peft_type", "LORA");
        o.put("task_type", "CAUSAL_LM");
        o.put("base_model_name_or_path", base);
        o.put("r", r);
        o.put("lora_alpha", spec.alpha());
        o.put("lora_dropout", 0.0);
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", true);
        o.put("use_rslora", false);
        ArrayNode mods = o.putArray("target_modules");
        for (Target t : spec.ordered()) mods.add(t.module);
        return o;
    }

    /** Reads the adapters from a checkpoint's {@code adapter_model.safetensors} (shapes must be this spec's). */
    public void readPeft(Path dir) {
        Path f = dir.resolve(WEIGHTS);
        Tensor h = hostBuffer();
        try (Safetensors.Reader rd = Safetensors.open(f); Arena scratch = Arena.ofConfined()) {
            for (int l = 0; l < c.layers(); l++) {
                for (Target t : spec.ordered()) {
                    long o = aOffset[l][t.ordinal()], na = (long) r * t.in(c);
                    MemorySegment aSeg = rd.require(peftName(l, t, "A"), DType.F32, r, t.in(c)).data();
                    MemorySegment bSeg = rd.require(peftName(l, t, "B"), DType.F32, t.out(c), r).data();
                    if (t == Target.Q || t == Target.K) bSeg = permuteRows(bSeg, t == Target.Q ? c.heads() : c.kvHeads(), false, scratch);
                    MemorySegment.copy(aSeg, 0, h.data(), o * 4, aSeg.byteSize());
                    MemorySegment.copy(bSeg, 0, h.data(), (o + na) * 4, bSeg.byteSize());
                }
            }
        }
        upload(h);
    }

    /**
     * B's rows of q or k between llama2.c's order (RoPE on interleaved pairs: row h*hs + 2i + j) and Hugging Face's
     * (rotate half: row h*hs + j*hs/2 + i); {@code toHf} picks the direction.
     */
    private MemorySegment permuteRows(MemorySegment src, int heads, boolean toHf, Arena arena) {
        int hs = c.headSize(), half = hs / 2;
        long rowBytes = (long) r * 4;
        MemorySegment dst = arena.allocate(src.byteSize(), 64);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    long l2c = (long) h * hs + 2L * i + j, hf = (long) h * hs + (long) j * half + i;
                    long from = toHf ? l2c : hf, to = toHf ? hf : l2c;
                    MemorySegment.copy(src, from * rowBytes, dst, to * rowBytes, rowBytes);
                }
            }
        }
        return dst;
    }

    @Override
    public void close() {
        try {
            arena.close();
        } finally {
            if (hostMirror != null) hostMirror.close();
        }
    }

    /** For messages: the spec and the trainable count. */
    public String describe() {
        return spec + String.format(" (%,d trainable)", parameterCount());
    }
}
