package dev.jgpt.backend.cuda;

import static dev.jgpt.bindings.Cublas.CUBLAS_OP_N;
import static dev.jgpt.bindings.Cublas.CUBLAS_OP_T;

import dev.jgpt.backend.Backend;
import dev.jgpt.bindings.Cublas;
import dev.jgpt.bindings.CublasLt;
import dev.jgpt.bindings.CudaDriver;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The {@code cuda} backend: cuBLAS for every matrix product, our kernels (kernels/*.cu, loaded from the
 * fatbin in the jar through the driver API) for everything else. All work is queued on one stream;
 * the host waits only where a value must come back (losses, the gradient norm, copies to host memory).
 *
 * <p>fp32 storage throughout. The matrix products use plain fp32 math unless {@link GemmMath} says
 * otherwise ({@code --precision tf32|bf16}, {@link #setMath}): tensor-core products carry about 1e-3 (TF32)
 * or 1e-2 (bf16) relative error, fine for training and outside the 1e-4 the contract tests hold fp32 to.
 * In bf16 mode the inputs of the matmul, attention and classifier products are bf16 and multiplied with fp32
 * accumulation into fp32 outputs: activations are rounded to bf16 copies before each product (in
 * {@link Bf16Operands}); weights inside the model's parameter buffer ({@link #parametersAre}) are read from one
 * bf16 copy of that buffer that the AdamW update keeps current ({@link Bf16Parameters}). The fp32 weights stay
 * the masters AdamW updates; gradients and optimizer state stay fp32.
 *
 * <p>{@link #setFusedAttention} swaps the contract's attention, and its grouped-query attention (Llama), for the
 * flash-style fused kernels (forward and backward, probabilities recomputed from the saved log-sum-exp) where T
 * exceeds the head size.
 *
 * <p>Tensors given to the ops must be device tensors from {@link #newArena()}; host tensors are only
 * accepted by {@link #copy}. Use from one platform thread at a time (see {@link CudaContext}).
 */
public final class CudaBackend implements Backend, dev.jgpt.backend.DeviceTopK, dev.jgpt.backend.StepGraphs {
    private static final int PARTIALS = 1024;

    private final CudaContext ctx;
    /** The context's per-kernel timeline: products and copies are bracketed here, kernels in CudaContext. */
    private final KernelTimeline timeline;
    private final Arena hostArena = Arena.ofShared();
    /** cuBLAS's host scalars (read when a product is queued, so {@code scale} is rewritten before each use). */
    private final MemorySegment one, zero, scale;
    private final DeviceArena scratch;
    private final Tensor partials, sumResult;
    /** Most candidates {@link #topK} returns (the kernels' JG_TOPK_MAX). */
    public static final int TOPK_MAX = TopKRows.MAX_K;
    /** Device top-k ({@link #topKRows}); its buffers grow at the first call of a shape. */
    private final TopKRows topKRows;
    private final MemorySegment pinnedResult;
    private GemmMath math;
    private int threads = 1;
    /** bf16 copies of product inputs ({@link GemmMath#BF16}); empty until the first bf16 product. */
    private final Bf16Operands bf16;
    /** The bf16 copy of the registered parameter buffer ({@link #parametersAre}); allocated at its first bf16 product. */
    private final Bf16Parameters bf16Params;
    /**
     * False: bf16 products convert every operand, weights included, per product (the path before
     * {@link Bf16Parameters}); tests compare the two. True by default.
     */
    private boolean keepBf16Parameters = true;
    /** Whether bf16 mode asks models for bf16 activations ({@link #activationDType}). */
    private boolean bf16Activations = bf16ActivationsConfigured();
    /** The contract's attention through the fused kernels where the shapes allow ({@link #setFusedAttention}). */
    private boolean fusedAttention;
    /** With fusedAttention: only where the tensor-core kernels take the head size (JGPT_CUDA_ATTENTION=auto, the default). */
    private boolean fusedOnlyOnTensorCores;
    /** Fused attention on the CUDA-core kernels even where the tensor-core ones apply ({@link #setCudaCoreAttention}). */
    private boolean cudaCoreAttention;
    /** The tensor-core path on the WMMA kernels (attention_flash_tc.cu) instead of the mma.sync ones ({@link #setWmmaAttention}). */
    private boolean wmmaAttention;
    /** cuBLASLt with fused epilogues ({@link #setLt}); null until asked for, or when the library is missing. */
    private LtMatmul lt;
    private boolean ltOpened;
    private boolean useLt;
    /** cuBLASLt's DGELU epilogue for the backward through GELU ({@link #setLtDgelu}). */
    private boolean ltDgelu = true;
    /** The classifier's products over V in a multiple-of-64 part and a tail ({@link #setClassifierSplit}). */
    private boolean classifierSplit = true;
    /** Products of at most {@link #ROW_PRODUCT_ROWS} input rows on kernels/matmul.cu's row kernels ({@link #setRowProducts}). */
    private boolean rowProducts = true;
    /** BGRADB writes the bias gradient; the contract accumulates: it lands here, then is added. */
    private final DeviceScratch ltBiasGrad;
    /** Partial sums of weight and bias gradients (layernorm's per block; RMSNorm's dweight and a product's dbias per row
     * split), added up in order by add_partial_sums (no atomics). */
    private final DeviceScratch gradientPartials;
    /** The encoder backward's sort keys (token, position): each token's rows summed in position order (no atomics). */
    private final DeviceScratch sortKeys;
    /** Largest head size the tensor-core attention kernels take (kernels/attention_flash_mma.cu and attention_flash_tc.cu: D = 16, 32, 64). */
    public static final int TENSOR_CORE_ATTENTION_MAX_HEAD = 64;

    /** Opens device 0. Throws {@link IllegalStateException} with the reason when CUDA is not usable. */
    public static CudaBackend open() {
        CudaProbe probe = CudaProbe.get();
        if (!probe.usable()) throw new IllegalStateException("cuda backend unavailable: " + probe.reason());
        CudaBackend b = new CudaBackend(0, GemmMath.configured());
        String attention = attentionConfigured();
        if (attention.equals("auto")) {
            b.setAutoAttention();
        } else {
            b.setFusedAttention(!attention.equals("cublas"));
            b.setCudaCoreAttention(attention.equals("fused-cudacore"));
            b.setWmmaAttention(attention.equals("fused-wmma"));
        }
        return b;
    }

    /**
     * {@code JGPT_CUDA_LT=0|1} (or {@code -Djgpt.cuda.lt=false|true}): the cuBLASLt epilogues ({@link #setLt}); on
     * unless switched off.
     */
    static boolean ltConfigured() {
        return switchConfigured("jgpt.cuda.lt", "JGPT_CUDA_LT");
    }

    /**
     * {@code JGPT_CUDA_BF16_ACTIVATIONS=0|1} (or {@code -Djgpt.cuda.bf16Activations=false|true}): in bf16 mode, models
     * store their product-input activations as bf16 ({@link #activationDType}); on unless switched off.
     */
    static boolean bf16ActivationsConfigured() {
        return switchConfigured("jgpt.cuda.bf16Activations", "JGPT_CUDA_BF16_ACTIVATIONS");
    }

    /** An on/off switch from a system property, else an environment variable; on when neither says. */
    private static boolean switchConfigured(String property, String env) {
        String v = System.getProperty(property, System.getenv(env));
        if (v == null || v.isBlank()) return true;
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true", "on", "yes" -> true;
            case "0", "false", "off", "no" -> false;
            default -> throw new dev.jgpt.JgptException(env + ": unknown '" + v + "', expected 1 or 0");
        };
    }

    /**
     * {@code JGPT_CUDA_ATTENTION=auto|cublas|fused|fused-wmma|fused-cudacore} (or {@code -Djgpt.cuda.attention=...});
     * default {@code auto} ({@link #setAutoAttention}: fused where it runs on tensor cores, the unfused path elsewhere).
     * {@code cublas}: the unfused path everywhere; {@code fused}: fused wherever the kernels take the head size, on CUDA
     * cores outside bf16 mode; {@code fused-cudacore}: fused, on the CUDA-core kernels even in bf16 mode;
     * {@code fused-wmma}: fused, bf16 mode's tensor-core path on the WMMA kernels instead of the mma.sync ones.
     */
    static String attentionConfigured() {
        String v = System.getProperty("jgpt.cuda.attention", System.getenv("JGPT_CUDA_ATTENTION"));
        if (v == null || v.isBlank()) return "auto";
        String mode = v.trim().toLowerCase(java.util.Locale.ROOT);
        if (List.of("auto", "cublas", "fused", "fused-wmma", "fused-cudacore").contains(mode)) return mode;
        throw new dev.jgpt.JgptException("JGPT_CUDA_ATTENTION: unknown '" + v + "', expected auto, cublas, fused, fused-wmma or fused-cudacore");
    }

    /** Opens device {@code ordinal} without asking {@link CudaProbe} (tests with a stand-in driver). */
    CudaBackend(int ordinal, GemmMath math) {
        byte[] image = Fatbin.readResource().orElseThrow(() -> new IllegalStateException("no " + Fatbin.RESOURCE + " in this build"));
        this.math = math;
        this.ctx = new CudaContext(ordinal, image);
        this.timeline = ctx.timeline();
        this.bf16 = new Bf16Operands(ctx);
        this.bf16Params = new Bf16Parameters(ctx);
        ctx.onRelease(bf16Params::released);
        this.one = hostArena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
        this.zero = hostArena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
        this.scale = hostArena.allocate(ValueLayout.JAVA_FLOAT);
        this.scratch = new DeviceArena(ctx, 64 << 10); // a few KB of sums
        this.partials = scratch.allocate(DType.F32, 2 * PARTIALS); // PARTIALS doubles
        this.sumResult = scratch.allocate(DType.F32, 2);          // one double
        this.topKRows = new TopKRows(ctx);
        this.ltBiasGrad = new DeviceScratch(ctx, "the cuBLASLt bias gradient");
        this.gradientPartials = new DeviceScratch(ctx, "the partial sums of weight gradients");
        this.sortKeys = new DeviceScratch(ctx, "the encoder backward's sort keys");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            CudaException.check(CudaDriver.cuMemAllocHost_v2(out, 1024), "cuMemAllocHost");
            this.pinnedResult = out.get(ValueLayout.ADDRESS, 0).reinterpret(1024);
        }
        setLt(ltConfigured());
        setLtDgelu(switchConfigured("jgpt.cuda.ltDgelu", "JGPT_CUDA_LT_DGELU"));
        setClassifierSplit(switchConfigured("jgpt.cuda.classifierSplit", "JGPT_CUDA_CLASSIFIER_SPLIT"));
        setRowProducts(switchConfigured("jgpt.cuda.rowProducts", "JGPT_CUDA_ROW_PRODUCTS"));
    }

    /**
     * With the epilogues on, whether the backward through GELU uses cuBLASLt's DGELU epilogue ({@code JGPT_CUDA_LT_DGELU},
     * on by default) or the plain product and the gelu backward kernel. On the H200 (2026-11-27) the DGELU product ran
     * at 163 TFLOP/s where the step's plain dinp products ran at 663: the switch lets one run time both.
     */
    public void setLtDgelu(boolean on) {
        ltDgelu = on;
    }

    /** Whether the backward through GELU takes the DGELU epilogue ({@link #setLtDgelu} and the epilogues on). */
    public boolean ltDgelu() {
        return useLt && ltDgelu;
    }

    /**
     * Whether the classifier multiplies the vocabulary's rows in two products, the most that are a multiple of 64 and
     * the rest ({@code JGPT_CUDA_CLASSIFIER_SPLIT}, on by default; see {@link #classifier}), or in one.
     */
    public void setClassifierSplit(boolean on) {
        classifierSplit = on;
    }

    public boolean classifierSplit() {
        return classifierSplit;
    }

    /** Input rows up to which {@link #matmulForward} takes the row kernels (kernels/matmul.cu's JG_ROWS_MAX). */
    static final int ROW_PRODUCT_ROWS = 8;

    /**
     * Whether {@link #matmulForward} multiplies at most {@value #ROW_PRODUCT_ROWS} input rows (a decode step, a server's
     * batched step) on kernels/matmul.cu's row kernels, bias included, instead of cuBLAS / cuBLASLt
     * ({@code JGPT_CUDA_ROW_PRODUCTS}, on by default). On an H100 (session 20) GPT-2 124M's per-layer decode products
     * took 8.75 µs each through cuBLASLt (0.8 TB/s of weights); the row kernels keep 4 KiB of weight loads in flight
     * per warp. Chosen from that profile, not yet timed: gpu-check times a decode with it off too.
     */
    public void setRowProducts(boolean on) {
        rowProducts = on;
    }

    public boolean rowProducts() {
        return rowProducts;
    }

    /**
     * With {@code on} set (the default, {@code JGPT_CUDA_LT}), products with a bias, GPT-2's fc + GELU and the backward
     * through GELU run as cuBLASLt products with fused epilogues ({@code BIAS}, {@code GELU_AUX_BIAS}, {@code DGELU},
     * {@code BGRADB}) instead of cuBLAS + separate {@code add_bias}, {@code gelu_*} and {@code matmul_backward_bias}
     * kernels. Where libcublasLt is missing this says so once and the old path stays; shapes cuBLASLt has no
     * algorithm for take the old path too. It changes no buffer sizes, so it may be switched at any time.
     */
    public void setLt(boolean on) {
        if (on && !ltOpened) {
            ltOpened = true;
            lt = LtMatmul.open(ctx);
        }
        useLt = on && lt != null;
    }

    /** Whether products take the cuBLASLt path ({@link #setLt} on and the library present). */
    public boolean lt() {
        return useLt;
    }

    /** Shapes cuBLASLt described so far and how many got an algorithm (tests); {0, 0} without Lt. */
    int[] ltPlans() {
        return lt == null ? new int[2] : lt.plans();
    }

    @Override
    public String name() {
        return "cuda";
    }

    public GemmMath math() {
        return math;
    }

    /** How later matrix products compute ({@code --precision}); takes effect at the next product. */
    public void setMath(GemmMath math) {
        if (math == null) throw new IllegalArgumentException("math: null");
        if (math != this.math) bf16Params.invalidate(); // conservative: refreshed at the next bf16 product
        this.math = math;
    }

    /**
     * Remembers {@code params} (a device F32 buffer, or null to forget) as the model's flat parameter buffer:
     * in bf16 mode, products whose weight lies inside it read one bf16 copy of the buffer that AdamW keeps
     * current ({@link Bf16Parameters}) instead of converting the weight before each product. Any other write
     * into the buffer through this backend makes the copy stale, and it is refreshed (one conversion of the
     * whole buffer) before the next product; the last buffer registered wins.
     */
    @Override
    public void parametersAre(Tensor params) {
        bf16Params.register(params);
    }

    /**
     * BF16 in bf16 mode with bf16 activation storage on ({@link #setBf16Activations}, {@code JGPT_CUDA_BF16_ACTIVATIONS}),
     * else F32. Asked by a model when it allocates its activations: switching math or this later does not change
     * tensors already allocated, and every op takes what it was given (a product with a bf16 operand multiplies in
     * bf16 whatever the math).
     */
    @Override
    public DType activationDType() {
        // fused attention reads bf16 q/k/v and writes a bf16 out through its _bf16 kernels
        return math == GemmMath.BF16 && bf16Activations ? DType.BF16 : DType.F32;
    }

    /** BF16 in bf16 mode: a product rounds a float32 weight to bf16 anyway (from the parameters' copy or per product). */
    @Override
    public DType decodeWeightDType() {
        return math == GemmMath.BF16 ? DType.BF16 : DType.F32;
    }

    /** Whether bf16 mode stores product-input activations as bf16 (on by default); for models allocated after the call. */
    public void setBf16Activations(boolean on) {
        this.bf16Activations = on;
    }

    /** Package-private switch for tests: false converts every bf16 operand per product (the old path). */
    void keepBf16Parameters(boolean keep) {
        this.keepBf16Parameters = keep;
    }

    /** Device bytes of the bf16 operand slots and of the bf16 parameter copy (tests, memory accounting). */
    long[] bf16Bytes() {
        return new long[] {bf16.reservedBytes(), bf16Params.reservedBytes()};
    }

    /** Whole-buffer refreshes of the bf16 parameter copy so far (tests). */
    long bf16ParameterRefreshes() {
        return bf16Params.refreshes();
    }

    /** Bytes of the registered parameter buffer ({@link #parametersAre}), 0 when none or freed since (tests). */
    long bf16ParameterBufferBytes() {
        return bf16Params.registeredBytes();
    }

    /**
     * With {@code fused} set, {@link #attentionForward} and {@link #attentionBackward} run the flash-style
     * kernels ({@link #attentionForwardFused}, {@link #attentionBackwardFused}) whenever T > head size, and
     * then {@code att} and {@code datt} no longer hold probabilities: {@code att} holds what the backward
     * needs (each row's log-sum-exp, then a copy of {@code out}) and {@code datt} is scratch, and both are
     * only {@link #attentionStateFloats} / {@link #attentionScratchFloats} long, far less than (B,NH,T,T).
     * Only {@code out} and {@code dqkv} keep the contract's meaning, so nothing may read {@code att} in this
     * mode ({@link #attentionKeepsProbabilities} says false; training does not read it). For T <= head size
     * the cuBLAS path runs as usual. Buffers sized while fused mode was on are too small for the cuBLAS path:
     * switch before sizing them. The same holds for {@link #gqaAttentionForward} / {@link #gqaAttentionBackward}
     * (the same kernels with Llama's separate q, k, v; sizes {@link #gqaAttentionStateFloats} /
     * {@link #gqaAttentionScratchFloats}), whose unfused path is kernels/llama.cu's.
     */
    public void setFusedAttention(boolean fused) {
        this.fusedAttention = fused;
        this.fusedOnlyOnTensorCores = false;
    }

    /**
     * Fused attention where it runs on tensor cores ({@link #tensorCoreAttention}: bf16 mode, head size at most
     * {@value #TENSOR_CORE_ATTENTION_MAX_HEAD}), the unfused path (cuBLAS; Llama's kernels/llama.cu rows) elsewhere:
     * what {@link #open} sets unless JGPT_CUDA_ATTENTION says otherwise. On an H100 (2026-11-27, session 20) the mma.sync
     * kernels made GPT-2 124M's bf16 step 1.23x faster at B 8 (30.60 to 24.86 ms) and left 24 GiB of activations at B 64
     * where the cuBLAS path needs 43; on CUDA cores the fused kernels ran 0.01-0.44x of the unfused path, so fp32 mode
     * and larger heads keep it. {@link #setFusedAttention} replaces this setting.
     */
    public void setAutoAttention() {
        this.fusedAttention = true;
        this.fusedOnlyOnTensorCores = true;
        this.cudaCoreAttention = false;
        this.wmmaAttention = false;
    }

    /** Whether attention over heads of this size takes the fused kernels (where T exceeds it, {@link #useFusedAttention}). */
    private boolean fusedFor(int headSize) {
        return fusedAttention && (!fusedOnlyOnTensorCores || tensorCoreAttention(headSize));
    }

    public boolean fusedAttention() {
        return fusedAttention;
    }

    /**
     * With {@code force} set, the fused path runs the CUDA-core kernels even where the tensor-core ones would
     * ({@link #tensorCoreAttention}): to compare the two on a GPU ({@code JGPT_CUDA_ATTENTION=fused-cudacore}).
     */
    public void setCudaCoreAttention(boolean force) {
        this.cudaCoreAttention = force;
    }

    public boolean cudaCoreAttention() {
        return cudaCoreAttention;
    }

    /**
     * With {@code wmma} set, the tensor-core path ({@link #tensorCoreAttention}) runs the WMMA kernels
     * (kernels/attention_flash_tc.cu: S, P and the rescaling of O through shared memory) instead of the mma.sync ones
     * (kernels/attention_flash_mma.cu: in registers, FlashAttention-2 style): to compare the two on a GPU
     * ({@code JGPT_CUDA_ATTENTION=fused-wmma}). Same contract, same bounds.
     */
    public void setWmmaAttention(boolean wmma) {
        this.wmmaAttention = wmma;
    }

    public boolean wmmaAttention() {
        return wmmaAttention;
    }

    /**
     * Whether {@link #attentionForwardFused} / {@link #attentionBackwardFused} (and so the fused contract path)
     * run on tensor cores (kernels/attention_flash_tc.cu: bf16 operands, fp32 accumulation) for this head
     * size: in {@link GemmMath#BF16} mode, head size at most {@value #TENSOR_CORE_ATTENTION_MAX_HEAD}, unless
     * {@link #setCudaCoreAttention} forces the CUDA-core kernels. Elsewhere the fp32 CUDA-core kernels run.
     */
    public boolean tensorCoreAttention(int headSize) {
        return math == GemmMath.BF16 && !cudaCoreAttention && headSize >= 1 && headSize <= TENSOR_CORE_ATTENTION_MAX_HEAD;
    }

    /** What {@code bench train-step} reports: cublas, fused-tc (tensor cores, mma.sync), fused-wmma or fused-cudacore, for this head size. */
    public String attentionLabel(int headSize) {
        if (!fusedFor(headSize)) return "cublas";
        return fusedLabel(headSize);
    }

    /** The path GPT-2's attention takes at length T: cublas where T <= head size in every mode, else attentionLabel. */
    public String attentionLabel(int T, int headSize) {
        return useFusedAttention(T, headSize) ? fusedLabel(headSize) : "cublas";
    }

    /** The path grouped-query attention takes at length T: rows (kernels/llama.cu) wherever the fused one does not run. */
    public String gqaAttentionLabel(int T, int headSize) {
        return useFusedAttention(T, headSize) ? fusedLabel(headSize) : "rows";
    }

    private String fusedLabel(int headSize) {
        if (!tensorCoreAttention(headSize)) return "fused-cudacore";
        return wmmaAttention ? "fused-wmma" : "fused-tc";
    }

    public CudaContext context() {
        return ctx;
    }

    /**
     * Per-kernel GPU times of this backend's stream ({@code bench train-step --profile}): every kernel,
     * cuBLAS product and copy between {@link KernelTimeline#beginStep()} and {@link KernelTimeline#endStep()}.
     */
    /**
     * Bytes of GPU memory in use now, as the driver counts them ({@code cuMemGetInfo}: total minus free): what this
     * process reserved (arenas, operand slots, cuBLAS workspaces, the context itself) plus any other process's.
     * What {@code bench train-step} reports beside speed as {@code deviceMemoryUsedBytes}.
     */
    public long deviceMemoryInUse() {
        return ctx.memoryInUse();
    }

    public KernelTimeline timeline() {
        return timeline;
    }

    @Override
    public TensorArena newArena() {
        return new DeviceArena(ctx, DeviceArena.configuredChunk(), this::outOfMemoryAdvice);
    }

    /**
     * What to try when a model's memory does not fit: the GPU's memory in use, then a smaller batch or model, and
     * where they are off, bf16 mode (half of most activations) and fused attention (no (B, NH, T, T) matrices).
     */
    private String outOfMemoryAdvice() {
        StringBuilder s = new StringBuilder();
        try {
            s.append(String.format(java.util.Locale.ROOT, "%.1f GiB of the GPU's memory already in use; ",
                    deviceMemoryInUse() / (double) (1L << 30)));
        } catch (RuntimeException e) {
            // the driver cannot say: leave the figure out
        }
        s.append("use a smaller batch or model");
        if (math != GemmMath.BF16) s.append(", or --precision bf16 (bf16 activations, half the bytes)");
        if (!fusedAttention || (fusedOnlyOnTensorCores && math != GemmMath.BF16)) {
            s.append(", or JGPT_CUDA_ATTENTION=fused (no (B, NH, T, T) attention matrices)");
        }
        return s.toString();
    }

    /** Host threads play no part in GPU kernels; the value is kept for reporting only. */
    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads: must be >= 1 but was " + threads);
        this.threads = threads;
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void synchronize() {
        ctx.synchronize();
    }

    // ---- copies ---------------------------------------------------------------------------------

    @Override
    public void copy(Tensor dst, Tensor src) {
        if (dst.dtype() != src.dtype() || dst.numel() != src.numel()) {
            throw new IllegalArgumentException("copy: " + src + " into " + dst + " (dtype and size must match)");
        }
        long bytes = src.byteSize();
        if (bytes == 0) return;
        if (dst.isHost() && src.isHost()) {
            MemorySegment.copy(src.data(), 0, dst.data(), 0, bytes);
            return;
        }
        ctx.ensureCurrent();
        wrote(dst);
        timeline.begin();
        if (!dst.isHost() && src.isHost()) {
            CudaException.check(CudaDriver.cuMemcpyHtoDAsync_v2(ptr(dst), src.data(), bytes, ctx.stream()), "cuMemcpyHtoD");
            timeline.end("memcpy HtoD", KernelTimeline.Kind.COPY, 0);
        } else if (dst.isHost()) {
            CudaException.check(CudaDriver.cuMemcpyDtoHAsync_v2(dst.data(), ptr(src), bytes, ctx.stream()), "cuMemcpyDtoH");
            timeline.end("memcpy DtoH", KernelTimeline.Kind.COPY, 0);
            ctx.synchronize(); // the host reads dst next
        } else {
            CudaException.check(CudaDriver.cuMemcpyDtoDAsync_v2(ptr(dst), ptr(src), bytes, ctx.stream()), "cuMemcpyDtoD");
            timeline.end("memcpy DtoD", KernelTimeline.Kind.COPY, 0);
        }
    }

    @Override
    public void zero(Tensor t) {
        if (t.isHost()) {
            t.fill(0f);
            return;
        }
        ctx.ensureCurrent();
        long bytes = t.byteSize();
        wrote(t);
        timeline.begin();
        if (bytes % 4 == 0) CudaException.check(CudaDriver.cuMemsetD32Async(ptr(t), 0, bytes / 4, ctx.stream()), "cuMemsetD32Async");
        else CudaException.check(CudaDriver.cuMemsetD8Async(ptr(t), (byte) 0, bytes, ctx.stream()), "cuMemsetD8Async");
        timeline.end("memset (zero)", KernelTimeline.Kind.COPY, 0);
    }

    // ---- encoder --------------------------------------------------------------------------------

    @Override
    public void encoderForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C) {
        encode(out, tokens, wte, wpe, B, T, C, true);
    }

    /** Without the id check's count kernel, copy and synchronisation: the caller checked the ids on the host. */
    @Override
    public void encoderForwardCheckedIds(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C) {
        encode(out, tokens, wte, wpe, B, T, C, false);
    }

    private void encode(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C, boolean checkIds) {
        positive("B", B, "T", T, "C", C);
        long n = (long) B * T * C;
        dev("out", out, DType.F32, n);
        dev("tokens", tokens, DType.I32, (long) B * T);
        dev("wpe", wpe, DType.F32, (long) T * C);
        int V = rows("wte", wte, C);
        if (checkIds) checkIds("tokens", tokens, (long) B * T, V, false);
        wrote(out);
        ctx.kernel(Kernel.ENCODER_FORWARD, blocks(n, 256), 256)
                .ptr(out).ptr(tokens).ptr(wte).ptr(wpe).i32(B).i32(T).i32(C).i32(V).go();
    }

    /** All rows' ids checked at once, then one launch per 32 rows (encoder_forward_rows, the positions by value). */
    @Override
    public void encoderForwardRows(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int[] pos, int n, int C) {
        positive("n", n, "C", C);
        if (pos.length < n) throw new IllegalArgumentException("pos: need " + n + " entries");
        int max = 0;
        for (int r = 0; r < n; r++) {
            if (pos[r] < 0) throw new IllegalArgumentException("pos: row " + r + " at position " + pos[r]);
            max = Math.max(max, pos[r]);
        }
        dev("out", out, DType.F32, (long) n * C);
        dev("tokens", tokens, DType.I32, n);
        dev("wpe", wpe, DType.F32, (max + 1L) * C);
        int V = rows("wte", wte, C);
        checkIds("tokens", tokens, n, V, false);
        for (int c0 = 0; c0 < n; c0 += DECODE_ROWS_MAX) {
            int m = Math.min(DECODE_ROWS_MAX, n - c0);
            for (int i = 0; i < m; i++) rowPositions.setAtIndex(ValueLayout.JAVA_INT, i, pos[c0 + i]);
            ctx.kernel(Kernel.ENCODER_FORWARD_ROWS, blocks(C, 256), m, 256, 1, 0)
                    .ptr(ptr(out) + 4L * c0 * C).ptr(ptr(tokens) + 4L * c0).ptr(wte).ptr(wpe).struct(rowPositions)
                    .i32(m).i32(C).i32(V).ptr(0L).go();
        }
        wrote(out);
    }

    @Override
    public void encoderBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens, int B, int T, int C) {
        positive("B", B, "T", T, "C", C);
        long n = (long) B * T * C;
        dev("dout", dout, DType.F32, n);
        dev("tokens", tokens, DType.I32, (long) B * T);
        dev("dwpe", dwpe, DType.F32, (long) T * C);
        int V = rows("dwte", dwte, C);
        wrote(dwte, dwpe);
        int positions = B * T;
        long keys = sortPositionsByToken(tokens, positions, V);
        ctx.kernel(Kernel.ENCODER_BACKWARD_WTE, blocks(positions, 32), (int) blocks(C, 256), 256, 1, 0)
                .ptr(dwte).ptr(dout).ptr(keys).i32(positions).i32(C).i32(V).go();
        ctx.kernel(Kernel.ENCODER_BACKWARD_WPE, blocks((long) T * C, 256), 256)
                .ptr(dwpe).ptr(dout).i32(B).i32(T).i32(C).go();
    }

    /**
     * The keys token << 32 | position of the n positions, sorted (kernels/encoder.cu): a bitonic sort over n rounded
     * up to a power of two P, its stages with strides within a chunk of 2048 keys in shared memory, each longer stride
     * one launch (for P = 8192: 6 launches; 65536: 21). Returns the keys' device address (the backend's scratch).
     */
    private long sortPositionsByToken(Tensor tokens, int n, int V) {
        long P = Math.max(2, Long.highestOneBit(n));
        if (P < n) P <<= 1;
        int chunk = (int) Math.min(P, SORT_CHUNK);
        long keys = sortKeys.atLeast(8 * P);
        ctx.kernel(Kernel.ENCODER_SORT_KEYS, P / chunk, chunk / 2).ptr(keys).ptr(tokens).i32(n).i32(V).go();
        for (long k = 2L * chunk; k <= P; k <<= 1) {
            for (long j = k / 2; j >= chunk; j >>= 1) {
                ctx.kernel(Kernel.ENCODER_SORT_STEP, blocks(P / 2, 256), 256).ptr(keys).i64(P / 2).i64(j).i64(k).go();
            }
            ctx.kernel(Kernel.ENCODER_SORT_MERGE, P / chunk, chunk / 2).ptr(keys).i64(k).go();
        }
        return keys;
    }

    /** Keys a block of encoder_sort_keys/_merge sorts in shared memory (JG_SORT_CHUNK in kernels/encoder.cu). */
    private static final int SORT_CHUNK = 2048;

    // ---- layernorm --------------------------------------------------------------------------------

    @Override
    public void layernormForward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight, Tensor bias, int N, int C) {
        layernormArgs(out, mean, rstd, weight, bias, N, C);
        dev("inp", inp, DType.F32, (long) N * C);
        int block = 256, rowsPerBlock = block / 32;
        ctx.kernel(isBf16(out) ? Kernel.LAYERNORM_FORWARD_BF16 : Kernel.LAYERNORM_FORWARD, blocks(N, rowsPerBlock), block)
                .ptr(out).ptr(mean).ptr(rstd).ptr(inp).ptr(weight).ptr(bias).i32(N).i32(C).go();
    }

    /** The checks both layernorm forwards share: out (N,C) F32 or BF16, weight and bias (C), mean and rstd (N) when given. */
    private void layernormArgs(Tensor out, Tensor mean, Tensor rstd, Tensor weight, Tensor bias, int N, int C) {
        positive("N", N, "C", C);
        activation("out", out, (long) N * C);
        dev("weight", weight, DType.F32, C);
        dev("bias", bias, DType.F32, C);
        if (mean != null) dev("mean", mean, DType.F32, N);
        if (rstd != null) dev("rstd", rstd, DType.F32, N);
        wrote(out, mean, rstd);
    }

    @Override
    public void residualLayernormForward(Tensor residual, Tensor out, Tensor mean, Tensor rstd, Tensor a, Tensor b,
                                         Tensor weight, Tensor bias, int N, int C) {
        layernormArgs(out, mean, rstd, weight, bias, N, C);
        long n = (long) N * C;
        dev("residual", residual, DType.F32, n);
        dev("a", a, DType.F32, n);
        activation("b", b, n); // bf16: GPT-2's attproj/fcproj output in bf16 mode (with a bf16 out)
        if (isBf16(b)) sameType("residualLayernormForward", "b", b, "out", out);
        wrote(residual);
        int block = 256, rowsPerBlock = block / 32;
        Kernel k = isBf16(b) ? Kernel.FUSED_RESIDUAL_LAYERNORM_FORWARD_BF16_IN
                : isBf16(out) ? Kernel.FUSED_RESIDUAL_LAYERNORM_FORWARD_BF16 : Kernel.FUSED_RESIDUAL_LAYERNORM_FORWARD;
        ctx.kernel(k, blocks(N, rowsPerBlock), block)
                .ptr(residual).ptr(out).ptr(mean).ptr(rstd).ptr(a).ptr(b).ptr(weight).ptr(bias).i32(N).i32(C).go();
    }

    @Override
    public void layernormBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                                  Tensor mean, Tensor rstd, int N, int C) {
        layernormBackward(dinp, null, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    }

    /** In one pass: a bf16 dinpCopy written as dinp is (layernorm_backward_copy_bf16, or _bf16 for a bf16 dout too). */
    @Override
    public void layernormBackwardCopy(Tensor dinp, Tensor dinpCopy, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                      Tensor weight, Tensor mean, Tensor rstd, int N, int C) {
        if (dinpCopy == null) throw new IllegalArgumentException("dinpCopy: null");
        if (!isBf16(dinpCopy)) {
            Backend.super.layernormBackwardCopy(dinp, dinpCopy, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
            return;
        }
        layernormBackward(dinp, dinpCopy, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    }

    /** {@link #layernormBackward}, with {@code copy} (bf16) written in the same pass where it is not null. */
    private void layernormBackward(Tensor dinp, Tensor copy, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                   Tensor weight, Tensor mean, Tensor rstd, int N, int C) {
        positive("N", N, "C", C);
        long n = (long) N * C;
        dev("dinp", dinp, DType.F32, n);
        if (copy != null) dev("dinpCopy", copy, DType.BF16, n);
        activation("dout", dout, n); // bf16: GPT-2's layernorm output gradients in bf16 mode (with a bf16 copy)
        if (isBf16(dout) && copy == null) {
            throw new IllegalArgumentException("layernormBackward: a BF16 dout comes with a BF16 dinpCopy (layernormBackwardCopy)");
        }
        dev("inp", inp, DType.F32, n);
        dev("dweight", dweight, DType.F32, C);
        dev("dbias", dbias, DType.F32, C);
        dev("weight", weight, DType.F32, C);
        dev("mean", mean, DType.F32, N);
        dev("rstd", rstd, DType.F32, N);
        // warp w of a block sums its rows' dweight/dbias terms into its own 2*C floats of shared memory: as many warps
        // (up to 8) as the device's shared memory per block holds
        long perWarp = 2L * C * Float.BYTES;
        int warps = (int) Math.min(8, ctx.maxSharedOptIn() / perWarp);
        if (warps < 1) {
            throw new IllegalArgumentException("layernormBackward: C = " + C + " needs " + perWarp
                    + " bytes of shared memory, the device offers " + ctx.maxSharedOptIn());
        }
        int block = 32 * warps, grid = (int) Math.min(blocks(N, warps), 2L * ctx.multiprocessors());
        long partials = gradientPartials.atLeast(grid * perWarp);
        wrote(dinp, dweight, dbias);
        if (copy == null) {
            ctx.kernel(Kernel.LAYERNORM_BACKWARD, grid, 1, block, 1, (int) (warps * perWarp))
                    .ptr(dinp).ptr(partials).ptr(dout).ptr(inp).ptr(weight).ptr(mean).ptr(rstd).i32(N).i32(C).go();
        } else {
            wrote(copy);
            ctx.kernel(isBf16(dout) ? Kernel.LAYERNORM_BACKWARD_BF16 : Kernel.LAYERNORM_BACKWARD_COPY_BF16, grid, 1, block, 1,
                    (int) (warps * perWarp))
                    .ptr(dinp).ptr(copy).ptr(partials).ptr(dout).ptr(inp).ptr(weight).ptr(mean).ptr(rstd).i32(N).i32(C).go();
        }
        // the blocks' partial sums added in block order
        ctx.kernel(Kernel.ADD_PARTIAL_SUMS, blocks(2L * C, 32), 1, 32, 8, 0)
                .ptr(dbias).ptr(dweight).ptr(partials).i32(grid).i32(C).go();
    }

    // ---- matmul (row-major products as column-major cuBLAS calls on the transposes) ---------------

    @Override
    public void matmulForward(Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC) {
        positive("N", N, "C", C);
        positive("OC", OC);
        activation("out", out, (long) N * OC);
        activation("inp", inp, (long) N * C);
        activation("weight", weight, (long) OC * C); // F32, or a decoder's bf16 matrix (decodeWeightDType)
        if (bias != null) dev("bias", bias, DType.F32, OC);
        boolean bf = bf16Product(inp, out) || isBf16(weight);
        // out^T (OC,N) = weight (OC,C) . inp^T (C,N)
        MemorySegment w = operand(weight, (long) OC * C, 1, bf), x = operand(inp, (long) N * C, 0, bf);
        if (rowProduct(out, x, w, bias, N, C, OC, bf)) return;
        long biasOp = bias == null || !ltUsable() ? 0 : ltBias(bias, out, OC);
        if (biasOp != 0 && ltGemm(CublasLt.CUBLASLT_EPILOGUE_BIAS, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, w, C, x, C, zero,
                out, OC, bf, biasOp, 0, null, 0, "matmulForward (lt bias)")) {
            return;
        }
        gemm(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, one, w, C, x, C, zero, out, OC, bf, "matmulForward");
        if (bias != null) {
            long n = (long) N * OC;
            ctx.kernel(isBf16(out) ? Kernel.ADD_BIAS_BF16 : Kernel.ADD_BIAS, gridStride(n, 256), 256)
                    .ptr(out).ptr(bias).i32(N).i32(OC).go();
        }
    }

    /**
     * {@link #matmulForward} on the row kernels where {@link #rowProducts} holds, N is at most
     * {@value #ROW_PRODUCT_ROWS} and the operands (bf16 where {@code bf}, else fp32) allow 16-byte loads; false otherwise
     * (nothing launched).
     */
    private boolean rowProduct(Tensor out, MemorySegment x, MemorySegment w, Tensor bias, int N, int C, int OC, boolean bf) {
        if (!rowProducts || N > ROW_PRODUCT_ROWS) return false; // (a bf16 out makes bf true: no fp32-in, bf16-out kernel)
        if (C % (bf ? 8 : 4) != 0 || x.address() % 16 != 0 || w.address() % 16 != 0) return false;
        wrote(out);
        boolean one = N == 1; // a decode step: the one-sum kernels, fewer registers
        Kernel k = !bf ? (one ? Kernel.MATMUL_ROW_FORWARD : Kernel.MATMUL_ROWS_FORWARD)
                : isBf16(out) ? (one ? Kernel.MATMUL_ROW_FORWARD_BF16 : Kernel.MATMUL_ROWS_FORWARD_BF16)
                : (one ? Kernel.MATMUL_ROW_FORWARD_BF16_IN : Kernel.MATMUL_ROWS_FORWARD_BF16_IN);
        int warps = 4; // a warp per output row
        ctx.kernel(k, (OC + warps - 1) / warps, warps * 32).ptr(out).ptr(x.address()).ptr(w.address()).ptr(bias)
                .i32(N).i32(C).i32(OC).go();
        return true;
    }

    /**
     * Most input rows {@link #matmulQ8Forward} multiplies with its own kernel (a decode step, a batched step of up to 32
     * sequences: each pass of 8 rows reads the weights again); more rows (a prompt, a larger batch) are one cuBLAS
     * product on the weights dequantised into an operand slot. Where the two cost the same is a guess until measured.
     */
    static final int Q8_KERNEL_ROWS = 32;
    /** Output rows each warp of the one-row q8 kernels takes (kernels/quant.cu's JG_Q8_OUT): the grid is sized by it. */
    static final int Q8_ROW_OUTPUTS = 4;

    @Override
    public void matmulQ8Forward(Tensor out, Tensor inp, Tensor weight, Tensor scales, int group, int N, int C, int OC) {
        Backend.checkQ8("matmulQ8Forward", weight, scales, group, N, C, OC);
        if (group % 16 != 0) throw new IllegalArgumentException("matmulQ8Forward: group " + group + " must be a multiple of 16 on cuda");
        activation("out", out, (long) N * OC);
        activation("inp", inp, (long) N * C);
        dev("weight", weight, DType.I8, (long) OC * C);
        dev("scales", scales, DType.F32, (long) OC * C / group);
        if (ptr(weight) % 16 != 0) throw new IllegalArgumentException("matmulQ8Forward: weight " + weight + " is not 16-byte aligned");
        if (N <= Q8_KERNEL_ROWS) {
            wrote(out);
            boolean one = N == 1; // a decode step: the one-sum kernels, fewer registers (the same sums)
            Kernel k = isBf16(inp)
                    ? (isBf16(out) ? (one ? Kernel.MATMUL_Q8_ROW_BF16 : Kernel.MATMUL_Q8_ROWS_BF16)
                                   : (one ? Kernel.MATMUL_Q8_ROW_BF16_IN : Kernel.MATMUL_Q8_ROWS_BF16_IN))
                    : (isBf16(out) ? (one ? Kernel.MATMUL_Q8_ROW_BF16_OUT : Kernel.MATMUL_Q8_ROWS_BF16_OUT)
                                   : (one ? Kernel.MATMUL_Q8_ROW : Kernel.MATMUL_Q8_ROWS));
            int warps = 4, rowsPerWarp = one ? Q8_ROW_OUTPUTS : 1; // output rows each warp takes
            ctx.kernel(k, (OC + warps * rowsPerWarp - 1) / (warps * rowsPerWarp), warps * 32).ptr(out).ptr(inp).ptr(weight)
                    .ptr(scales).i32(N).i32(C).i32(OC).i32(group).go();
            return;
        }
        boolean bf = bf16Product(inp, out);
        MemorySegment w = bf16.dequantizeQ8(1, ptr(weight), ptr(scales), (long) OC * C, group, bf);
        MemorySegment x = operand(inp, (long) N * C, 0, bf);
        gemm(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, one, w, C, x, C, zero, out, OC, bf, "matmulQ8Forward (dequantised)");
    }

    @Override
    public void embeddingLookup(Tensor out, Tensor tokens, Tensor table, Tensor scales, int group, int N, int C) {
        long V = Backend.checkEmbeddingTable("embeddingLookup", out, tokens, table, scales, group, N, C);
        dev("out", out, DType.F32, (long) N * C);
        dev("tokens", tokens, DType.I32, N);
        dev("table", table, table.dtype(), V * C);
        if (scales != null) dev("scales", scales, DType.F32, V * C / group);
        wrote(out);
        long n = (long) N * C;
        if (scales == null) {
            ctx.kernel(Kernel.EMBEDDING_ROWS_BF16, gridStride(n, 256), 256).ptr(out).ptr(tokens).ptr(table)
                    .i32(N).i32(C).i32((int) V).go();
        } else {
            ctx.kernel(Kernel.EMBEDDING_ROWS_Q8, gridStride(n, 256), 256).ptr(out).ptr(tokens).ptr(table).ptr(scales)
                    .i32(N).i32(C).i32((int) V).i32(group).go();
        }
    }

    @Override
    public void matmulBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                               int N, int C, int OC) {
        matmulBackward(dinp, false, dweight, dbias, dout, inp, weight, N, C, OC);
    }

    /** The dinp product with beta 0: no memset before it, and cuBLAS does not read the old dinp. */
    @Override
    public void matmulBackwardOverwrite(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                                        int N, int C, int OC) {
        if (dinp == null) throw new IllegalArgumentException("dinp: null");
        matmulBackward(dinp, true, dweight, dbias, dout, inp, weight, N, C, OC);
    }

    /** {@code dinp += dout @ weight} (the contract), or {@code dinp = dout @ weight} where {@code overwrite} (beta 0). */
    private void matmulBackward(Tensor dinp, boolean overwrite, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                Tensor weight, int N, int C, int OC) {
        positive("N", N, "C", C);
        positive("OC", OC);
        activation("dout", dout, (long) N * OC); // bf16: a gradient made in bf16 (bf16 mode), already the product's operand
        activation("inp", inp, (long) N * C);
        dev("weight", weight, DType.F32, (long) OC * C);
        if (dweight != null) dev("dweight", dweight, DType.F32, (long) OC * C); // null: a frozen weight, no dweight product
        // a bf16 dinp (a model's activation gradient in bf16 mode) only where it is overwritten: the product rounds once
        boolean bf16Dinp = dinp != null && isBf16(dinp) && overwrite;
        boolean bf = bf16Product(inp, dout) || bf16Dinp;
        MemorySegment dO = operand(dout, (long) N * OC, 0, bf);
        if (dinp != null) {
            dev("dinp", dinp, bf16Dinp ? DType.BF16 : DType.F32, (long) N * C);
            // dinp^T (C,N) (+)= weight^T (C,OC) . dout^T (OC,N)
            gemm(CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, one, operand(weight, (long) OC * C, 1, bf), C, dO, OC, overwrite ? zero : one, dinp, C, bf,
                    "matmulBackward dinp");
        }
        dweightProduct(dweight, dbias, dout, dO, inp, N, C, OC, bf);
    }

    /**
     * {@code dweight += dout^T @ inp} and {@code dbias += sum_rows(dout)} (either may be null: a null dweight is a frozen
     * weight, no product); dO is dout's operand, bf whether the product multiplies bf16 operands.
     */
    private void dweightProduct(Tensor dweight, Tensor dbias, Tensor dout, MemorySegment dO, Tensor inp, int N, int C, int OC,
                                boolean bf) {
        if (dbias != null) dev("dbias", dbias, DType.F32, OC);
        if (dweight == null) {
            if (dbias != null) biasGradient(dbias, dout, N, OC);
            return;
        }
        MemorySegment x = operand(inp, (long) N * C, 2, bf);
        // dweight^T (C,OC) += inp^T (C,N) . dout (N,OC); BGRADB: the column sums of dout^T's transpose = sum_rows(dout),
        // written (not accumulated) into a scratch vector that is then added to dbias
        if (dbias != null && ltUsable() && ltGemm(CublasLt.CUBLASLT_EPILOGUE_BGRADB, CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, x, C,
                dO, OC, one, dweight, C, bf, ltBiasGrad.atLeast(4L * OC), 0, null, 0, "matmulBackward dweight (lt bgrad)")) {
            wrote(dbias);
            ctx.kernel(Kernel.RESIDUAL_FORWARD, gridStride(OC, 256), 256).ptr(dbias).ptr(dbias).ptr(ltBiasGrad.address()).i64(OC).go();
            return;
        }
        gemm(CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, one, x, C, dO, OC, one, dweight, C, bf, "matmulBackward dweight");
        if (dbias != null) biasGradient(dbias, dout, N, OC);
    }

    /** {@code dbias += sum_rows(dout)} by kernels: per-split column sums, then added in split order. */
    private void biasGradient(Tensor dbias, Tensor dout, int N, int OC) {
        wrote(dbias);
        int columnBlocks = (int) blocks(OC, 32), splits = rowSplits(N, columnBlocks);
        long partials = gradientPartials.atLeast(4L * splits * OC);
        ctx.kernel(isBf16(dout) ? Kernel.MATMUL_BACKWARD_BIAS_BF16 : Kernel.MATMUL_BACKWARD_BIAS, columnBlocks, splits, 32, 8, 0)
                .ptr(partials).ptr(dout).i32(N).i32(OC).go();
        ctx.kernel(Kernel.ADD_PARTIAL_SUMS, columnBlocks, 1, 32, 8, 0).ptr(dbias).ptr(0L).ptr(partials).i32(splits).i32(OC).go();
    }

    /**
     * A LoRA adapter's B product, added with beta 1. F32 tensors only (in bf16 mode the operands are rounded as for any
     * product, the output accumulates in fp32); a BF16 activation is refused, naming it.
     */
    @Override
    public void matmulAddForward(Tensor out, Tensor inp, Tensor weight, int N, int C, int OC, float alpha) {
        positive("N", N, "C", C);
        positive("OC", OC);
        dev("out", out, DType.F32, (long) N * OC);
        dev("inp", inp, DType.F32, (long) N * C);
        dev("weight", weight, DType.F32, (long) OC * C);
        boolean bf = bf16Product(inp);
        MemorySegment w = operand(weight, (long) OC * C, 1, bf), x = operand(inp, (long) N * C, 0, bf);
        // out^T (OC,N) += alpha * weight (OC,C) . inp^T (C,N)
        gemm(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, alpha(alpha), w, C, x, C, one, out, OC, bf, "matmulAddForward");
    }

    /** dinp by a product with beta 0 (not read, no memset), dweight by one with beta 1; both scaled by alpha. */
    @Override
    public void matmulAddBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, int N, int C, int OC,
                                  float alpha) {
        positive("N", N, "C", C);
        positive("OC", OC);
        dev("dinp", dinp, DType.F32, (long) N * C);
        dev("dweight", dweight, DType.F32, (long) OC * C);
        dev("dout", dout, DType.F32, (long) N * OC);
        dev("inp", inp, DType.F32, (long) N * C);
        dev("weight", weight, DType.F32, (long) OC * C);
        boolean bf = bf16Product(inp);
        MemorySegment dO = operand(dout, (long) N * OC, 0, bf);
        // dinp^T (C,N) = alpha * weight^T (C,OC) . dout^T (OC,N)
        gemm(CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, alpha(alpha), operand(weight, (long) OC * C, 1, bf), C, dO, OC, zero, dinp, C, bf,
                "matmulAddBackward dinp");
        // dweight^T (C,OC) += alpha * inp^T (C,N) . dout (N,OC)
        gemm(CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, alpha(alpha), operand(inp, (long) N * C, 2, bf), C, dO, OC, one, dweight, C, bf,
                "matmulAddBackward dweight");
    }

    /** {@code a} in the host scalar cuBLAS reads as a product's alpha (when the call is made, so one slot serves all). */
    private MemorySegment alpha(float a) {
        scale.set(ValueLayout.JAVA_FLOAT, 0, a);
        return scale;
    }

    /**
     * GPT-2's fc and GELU: on the cuBLASLt path one product with the {@code GELU_AUX_BIAS} epilogue (out = gelu(pre),
     * pre written as the epilogue's aux matrix); else the contract's two ops.
     */
    @Override
    public void matmulGeluForward(Tensor pre, Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC) {
        positive("N", N, "C", C);
        positive("OC", OC);
        activation("pre", pre, (long) N * OC);
        activation("out", out, (long) N * OC);
        activation("inp", inp, (long) N * C);
        dev("weight", weight, DType.F32, (long) OC * C);
        sameType("matmulGeluForward", "pre", pre, "out", out);
        if (bias != null) dev("bias", bias, DType.F32, OC);
        long biasOp = bias == null || !ltUsable() || OC % 8 != 0 ? 0 : ltBias(bias, out, OC); // aux ld: a multiple of 8
        if (biasOp != 0) {
            boolean bf = bf16Product(inp, out);
            MemorySegment w = operand(weight, (long) OC * C, 1, bf), x = operand(inp, (long) N * C, 0, bf);
            wrote(pre);
            if (ltGemm(CublasLt.CUBLASLT_EPILOGUE_GELU_AUX_BIAS, CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, w, C, x, C, zero,
                    out, OC, bf, biasOp, ptr(pre), pre, OC, "matmulGeluForward (lt gelu+bias)")) {
                return;
            }
        }
        Backend.super.matmulGeluForward(pre, out, inp, weight, bias, N, C, OC);
    }

    /**
     * The backward of a product on gelu(pre): on the cuBLASLt path the dinp product with the {@code DGELU} epilogue
     * writes dpre directly (dgelu is not touched), and the dweight product takes the bias gradient; else the
     * contract's ops.
     */
    @Override
    public void matmulBackwardGelu(Tensor dpre, Tensor dgelu, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                   Tensor weight, Tensor pre, int N, int C, int OC) {
        positive("N", N, "C", C);
        positive("OC", OC);
        activation("dpre", dpre, (long) N * C);
        dev("dgelu", dgelu, DType.F32, (long) N * C);
        activation("pre", pre, (long) N * C);
        if (isBf16(dpre)) sameType("matmulBackwardGelu", "dpre", dpre, "pre", pre);
        activation("dout", dout, (long) N * OC); // bf16: the residual stream's gradient as a bf16 copy (layernormBackwardCopy)
        activation("inp", inp, (long) N * C);
        dev("weight", weight, DType.F32, (long) OC * C);
        dev("dweight", dweight, DType.F32, (long) OC * C);
        if (ltUsable() && ltDgelu && C % 8 == 0) {
            boolean bf = bf16Product(inp, pre) || isBf16(dout);
            MemorySegment dO = operand(dout, (long) N * OC, 0, bf);
            // dpre^T (C,N) = gelu'(pre^T) * (weight^T (C,OC) . dout^T (OC,N)), beta 0: overwritten (in bf16 mode as bf16:
            // the fc backward product's operand as it is)
            if (ltGemm(CublasLt.CUBLASLT_EPILOGUE_DGELU, CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, operand(weight, (long) OC * C, 1, bf), C,
                    dO, OC, zero, dpre, C, bf, 0, ptr(pre), pre, C, "matmulBackward dinp (lt dgelu)")) {
                dweightProduct(dweight, dbias, dout, dO, inp, N, C, OC, bf);
                return;
            }
        }
        Backend.super.matmulBackwardGelu(dpre, dgelu, dweight, dbias, dout, inp, weight, pre, N, C, OC);
    }

    /**
     * The bias an Lt product onto {@code out} adds, in out's type (cuBLASLt refuses an fp32 bias onto a bf16 D; llm.c
     * keeps its biases in bf16 too): the fp32 bias itself, or its bf16 copy: its place in the parameters' bf16 copy,
     * else rounded into slot 2, which no forward product's operands use (a launch of OC elements where the cuBLAS path
     * launches add_bias over N x OC). Either way the same bf16 values.
     */
    private long ltBias(Tensor bias, Tensor out, int OC) {
        return isBf16(out) ? operand(bias, OC, 2, true).address() : ptr(bias);
    }

    /** Lt products are captured into CUDA graphs like cuBLAS ones, so a replayed step computes what an eager one does. */
    private boolean ltUsable() {
        return useLt;
    }

    /**
     * A product through {@link LtMatmul} with an epilogue (bias / aux device addresses, 0 for none), in this backend's
     * math: fp32 or TF32 on fp32 operands, bf16 operands ({@link #operand}) with fp32 accumulation. False, having done
     * nothing, where the Lt path is off or has no algorithm for the shape: the caller then runs its cuBLAS path.
     */
    private boolean ltGemm(int epilogue, int opA, int opB, int m, int n, int k, MemorySegment a, int lda, MemorySegment b,
                           int ldb, MemorySegment beta, Tensor c, int ldc, boolean bf, long bias, long aux, Tensor auxTensor,
                           long auxLd, String what) {
        if (!ltUsable()) return false;
        int abType = bf ? Cublas.CUDA_R_16BF : Cublas.CUDA_R_32F;
        int compute = bf ? Cublas.CUBLAS_COMPUTE_32F : math.computeType();
        int dType = cudaType(c), auxType = auxTensor == null ? Cublas.CUDA_R_32F : cudaType(auxTensor);
        LtMatmul.Plan plan = lt.plan(epilogue, opA, opB, m, n, k, lda, ldb, ldc, abType, compute, dType, auxType);
        if (plan == null) return false;
        wroteProduct(ptr(c), ldc, n, 0, 1, c.dtype().bytes());
        timeline.begin(); // a refused call records no end: the next begin reuses the start event
        if (!lt.run(plan, one, a, b, beta, c.data(), bias, aux, auxLd, what)) return false;
        timeline.end(what, KernelTimeline.Kind.CUBLAS, gemmFlops(m, n, k, 1));
        return true;
    }

    // ---- attention --------------------------------------------------------------------------------

    @Override
    public void attentionForward(Tensor out, Tensor att, Tensor qkv, int B, int T, int C, int NH) {
        positive("B", B, "T", T, "C", C);
        int hs = headSize(C, NH);
        activation("out", out, (long) B * T * C);
        attentionBuffer("att", att, attentionNeeded(B, T, NH, hs), T, hs, true);
        activation("qkv", qkv, (long) B * T * 3 * C);
        sameType("attentionForward", "qkv", qkv, "out", out);
        if (useFusedAttention(T, hs)) {
            wrote(att);
            attentionForwardFused(out, lseOf(att, B, T, NH), qkv, B, T, C, NH); // the backward is given out (D = dO.O)
            return;
        }
        scale.set(ValueLayout.JAVA_FLOAT, 0, 1.0f / (float) Math.sqrt(hs));
        // operands: fp32 tensors, or bf16 (stored so, or copies in bf16 mode); e = bytes per operand element, oe of out's,
        // ae of att's (bf16 probabilities: the scores product writes bf16, so its operands are bf16 too)
        boolean bf = bf16Product(qkv) || isBf16(att);
        long tt = (long) T * T, e = bf ? 2 : Float.BYTES, oe = out.dtype().bytes(), ae = att.dtype().bytes();
        long q = operand(qkv, (long) B * T * 3 * C, 0, bf).address(), k = q + C * e, v = q + 2L * C * e;
        // per (b, h): att^T (Tk,Tq) = K (Tk,hs) . Q^T (hs,Tq), scaled; heads hs apart inside a row of 3C
        gemmPerHead(CUBLAS_OP_T, CUBLAS_OP_N, T, T, hs, scale, k, QKV, q, QKV, e, zero, ptr(att), SCORES, ae, cudaType(att),
                B, T, C, NH, bf, "attention QK^T");
        int rows = B * NH * T;
        Kernel softmax = isBf16(att) ? Kernel.ATTENTION_SOFTMAX_FORWARD_BF16 : Kernel.ATTENTION_SOFTMAX_FORWARD;
        ctx.kernel(softmax, blocks(rows, 8), 256).ptr(att).i32(B * NH).i32(T).go();
        long attOp = operand(att, (long) B * NH * tt, 1, bf).address();
        // per (b, h): out^T (hs,Tq) = V^T (hs,Tk) . att^T (Tk,Tq), written into the head's columns of out
        gemmPerHead(CUBLAS_OP_N, CUBLAS_OP_N, hs, T, T, one, v, QKV, attOp, SCORES, e, zero, ptr(out), HEADS, oe, cudaType(out),
                B, T, C, NH, bf, "attention att.V");
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out,
                                  int B, int T, int C, int NH) {
        attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH, true);
    }

    /**
     * dqkv written, not added to: the dV, dQ and dK products with beta 0, the fused kernels storing each row once
     * (GPT-2's backward: no zeroing of dqkv first, nor reading it back).
     */
    @Override
    public void attentionBackwardOverwrite(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out,
                                           int B, int T, int C, int NH) {
        attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH, false);
    }

    private void attentionBackward(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out,
                                   int B, int T, int C, int NH, boolean accumulate) {
        positive("B", B, "T", T, "C", C);
        int hs = headSize(C, NH);
        DType grad = gradientType("attentionBackward", "dqkv", dqkv, dout, "qkv", qkv); // bf16: GPT-2's, in bf16 mode
        dev("dqkv", dqkv, grad, (long) B * T * 3 * C);
        attentionBuffer("datt", datt, attentionNeeded(B, T, NH, hs), T, hs, true);
        dev("dout", dout, grad, (long) B * T * C);
        activation("qkv", qkv, (long) B * T * 3 * C);
        attentionBuffer("att", att, attentionNeeded(B, T, NH, hs), T, hs, true);
        activation("out", out, (long) B * T * C);
        sameType("attentionBackward", "qkv", qkv, "out", out);
        if (useFusedAttention(T, hs)) {
            attentionBackwardFused(dqkv, lseOf(datt, B, T, NH), dout, qkv, out, lseOf(att, B, T, NH), B, T, C, NH, accumulate);
            return;
        }
        // operands: fp32 tensors, or bf16 (stored so, or copies in bf16 mode); e = bytes per operand element, ae of
        // att's and datt's (one type: bf16 probabilities, bf16 d(probabilities) and d(scores))
        sameType("attentionBackward", "att", att, "datt", datt);
        boolean bf = bf16Product(qkv) || isBf16(att);
        // f, gType: dqkv's element (fp32, or bf16 gradients, which the dV/dQ/dK products add to in fp32 and round)
        long f = grad.bytes(), tt = (long) T * T, e = bf ? 2 : Float.BYTES, ae = att.dtype().bytes();
        int gType = cudaType(dqkv);
        MemorySegment beta = accumulate ? one : zero; // dV, dQ, dK: added to dqkv, or written over it
        long q = operand(qkv, (long) B * T * 3 * C, 0, bf).address(), k = q + C * e, v = q + 2L * C * e;
        long dO = operand(dout, (long) B * T * C, 2, bf).address(), attOp = operand(att, (long) B * NH * tt, 1, bf).address();
        long dq = ptr(dqkv), dk = dq + C * f, dv = dq + 2L * C * f;
        // per (b, h): datt (Tq,Tk) = dout (Tq,hs) . V^T  -> column-major datt^T = V . dout^T
        gemmPerHead(CUBLAS_OP_T, CUBLAS_OP_N, T, T, hs, one, v, QKV, dO, HEADS, e, zero, ptr(datt), SCORES, ae, cudaType(datt),
                B, T, C, NH, bf, "attention datt");
        // dV (Tk,hs) += att^T . dout  -> column-major dV^T = dout^T . att
        gemmPerHead(CUBLAS_OP_N, CUBLAS_OP_T, hs, T, T, one, dO, HEADS, attOp, SCORES, e, beta, dv, QKV, f, gType,
                B, T, C, NH, bf, "attention dV");
        int rows = B * NH * T;
        Kernel softmax = isBf16(att) ? Kernel.ATTENTION_SOFTMAX_BACKWARD_BF16 : Kernel.ATTENTION_SOFTMAX_BACKWARD;
        ctx.kernel(softmax, blocks(rows, 8), 256).ptr(datt).ptr(att).i32(B * NH).i32(T).f32(1.0f / (float) Math.sqrt(hs)).go();
        long ds = operand(datt, (long) B * NH * tt, 1, bf).address(); // slot 1: the att copy is no longer needed
        // dQ (Tq,hs) += dS . K  -> column-major dQ^T = K^T . dS^T
        gemmPerHead(CUBLAS_OP_N, CUBLAS_OP_N, hs, T, T, one, k, QKV, ds, SCORES, e, beta, dq, QKV, f, gType,
                B, T, C, NH, bf, "attention dQ");
        // dK (Tk,hs) += dS^T . Q  -> column-major dK^T = Q^T . dS
        gemmPerHead(CUBLAS_OP_N, CUBLAS_OP_T, hs, T, T, one, q, QKV, ds, SCORES, e, beta, dk, QKV, f, gType,
                B, T, C, NH, bf, "attention dK");
    }

    /**
     * Fused (flash-style) causal attention forward: the same {@code out} as {@link #attentionForward} without
     * writing the (B, NH, T, T) probabilities, plus {@code lse} (B, NH, T), the log-sum-exp of each row's
     * scaled scores (may be null). The contract's attention runs it in fused mode ({@link #setFusedAttention}).
     * Head size at most 256. Where {@link #tensorCoreAttention} holds (bf16 mode, head size at most 64) the
     * tensor-core kernel runs (kernels/attention_flash_tc.cu: bf16 operands, fp32 accumulation and softmax),
     * else the fp32 CUDA-core one. {@code qkv} and {@code out} are both F32 or both BF16 (bf16 activation storage:
     * the _bf16 kernels read q, k, v as they are and write {@code out} rounded to bf16; the arithmetic and
     * {@code lse} stay fp32).
     */
    public void attentionForwardFused(Tensor out, Tensor lse, Tensor qkv, int B, int T, int C, int NH) {
        positive("B", B, "T", T, "C", C);
        int hs = headSize(C, NH);
        if (hs > 256) throw new IllegalArgumentException("NH: head size " + hs + " > 256 is not supported by the fused kernel");
        DType act = fusedActivationType("attentionForwardFused", qkv, out);
        dev("out", out, act, (long) B * T * C);
        dev("qkv", qkv, act, (long) B * T * 3 * C);
        if (lse != null) dev("lse", lse, DType.F32, (long) B * NH * T);
        wrote(out, lse);
        long q = ptr(qkv), c = (long) C * act.bytes();
        fusedForward(ptr(out), lse == null ? 0L : ptr(lse), q, q + c, q + 2 * c, B, T, NH, NH, hs, 3 * C, 3 * C,
                act == DType.BF16);
    }

    /**
     * The element type of the fused attention's activations: qkv's and out's, which must agree (F32, or BF16 for
     * the _bf16 kernels); anything else is one error naming both. Null tensors are left to the size checks.
     */
    private static DType fusedActivationType(String op, Tensor qkv, Tensor out) {
        if (qkv == null || out == null) return DType.F32;
        DType a = qkv.dtype(), b = out.dtype();
        if (a != b || (a != DType.F32 && a != DType.BF16)) {
            throw new IllegalArgumentException(op + ": qkv is " + a + " and out is " + b
                    + "; the fused attention takes both F32 or both BF16");
        }
        return a;
    }

    /**
     * The fused forward on raw device pointers: on tensor cores where {@link #tensorCoreAttention} holds
     * ({@link FlashKernels}), else on CUDA cores ({@link #fusedForwardCudaCore}); same layout for both.
     */
    private void fusedForward(long out, long lse, long q, long k, long v, int B, int T, int NH, int NKV, int hs,
                              int qStride, int kvStride, boolean bf16) {
        if (tensorCoreAttention(hs)) {
            int D = flashHeadDim(hs); // the same shared memory for both element types: the tiles are bf16 either way
            FlashKernels f = flashKernels();
            ctx.kernel(f.forward(bf16), (T + f.forwardRows() - 1) / f.forwardRows(), NH, B, 128, 1,
                            f.forwardShared().bytes(D))
                    .ptr(out).ptr(lse).ptr(q).ptr(k).ptr(v).i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(qStride).i32(kvStride).go();
            return;
        }
        fusedForwardCudaCore(out, lse, q, k, v, B, T, NH, NKV, hs, qStride, kvStride, bf16);
    }

    /** The tensor-core family that runs: mma.sync, or WMMA where {@link #setWmmaAttention} asked for it. */
    private FlashKernels flashKernels() {
        return wmmaAttention ? FlashKernels.WMMA : FlashKernels.MMA;
    }

    /**
     * The fused backward on raw device pointers, on tensor cores or CUDA cores as {@link #fusedForward}; {@code bf16}:
     * q, k, v and out are bf16 (the _bf16 kernels); {@code bf16Grads} (only with bf16): dout, dq, dk and dv are bf16 too
     * (the _bf16_grads kernels), else fp32; lse and delta fp32 either way. {@code accumulate}: dq, dk and dv are added
     * to (the contract), else written (each of their rows is written once: no zeroing first).
     */
    private void fusedBackward(long dq, long dk, long dv, long delta, long dout, long q, long k, long v, long out,
                               long lse, int B, int T, int NH, int NKV, int hs, int qStride, int kvStride, boolean bf16,
                               boolean bf16Grads, boolean accumulate) {
        int add = accumulate ? 1 : 0;
        if (tensorCoreAttention(hs)) {
            int D = flashHeadDim(hs), tiles = (T + 63) / 64; // shared memory as in fp32: the tiles are bf16 either way
            FlashKernels f = flashKernels();
            Kernel dqKernel = f.dq(bf16, bf16Grads), dkvKernel = f.dkv(bf16, bf16Grads);
            int dqShared = f.dqShared().bytes(D), dkvShared = f.dkvShared().bytes(D);
            ctx.kernel(dqKernel, tiles, NH, B, 128, 1, dqShared)
                    .ptr(dq).ptr(delta).ptr(dout).ptr(q).ptr(k).ptr(v).ptr(out).ptr(lse)
                    .i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(qStride).i32(kvStride).i32(add).go();
            ctx.kernel(dkvKernel, tiles, NKV, B, 128, 1, dkvShared)
                    .ptr(dk).ptr(dv).ptr(dout).ptr(q).ptr(k).ptr(v).ptr(lse).ptr(delta)
                    .i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(qStride).i32(kvStride).i32(add).go();
            return;
        }
        fusedBackwardCudaCore(dq, dk, dv, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, qStride, kvStride, bf16, bf16Grads,
                add);
    }

    /**
     * attention_forward_fused (kernels/attention.cu) on raw device pointers: q rows qStride floats apart, k and v
     * rows kvStride apart, query head h reading kv head h / (NH/NKV); out (B,T,NH*hs), lse (B,NH,T) or 0.
     * GPT-2 passes its packed qkv (three pointers C elements apart, strides 3C, NKV = NH), Llama q, k, v.
     * {@code bf16}: q, k, v and out bf16 (attention_forward_fused_bf16); strides count elements either way.
     */
    private void fusedForwardCudaCore(long out, long lse, long q, long k, long v, int B, int T, int NH, int NKV, int hs,
                                      int qStride, int kvStride, boolean bf16) {
        int warps = 4; // shared memory holds q as fp32 for both element types
        ctx.kernel(bf16 ? Kernel.ATTENTION_FORWARD_FUSED_BF16 : Kernel.ATTENTION_FORWARD_FUSED, blocks(T, warps), NH, B,
                        32 * warps, 1, warps * hs * Float.BYTES)
                .ptr(out).ptr(lse).ptr(q).ptr(k).ptr(v).i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(qStride).i32(kvStride).go();
    }

    /**
     * attention_backward_fused_dq then _dkv (kernels/attention_backward_fused.cu) on raw device pointers, layout as
     * {@link #fusedForwardCudaCore}: dq rows qStride apart, dk and dv rows kvStride apart, all accumulated into (add 1)
     * or written (add 0: each row of them is written once, by one warp);
     * delta (B,NH,T) scratch. The key-centric kernel runs one warp per key row of each kv head and sums over the
     * NH/NKV query heads that share it, in order: no atomics. {@code bf16}: q, k, v and out bf16 (the _bf16 pair);
     * {@code bf16Grads}: dout and the gradients bf16 too (the _bf16_grads pair).
     */
    private void fusedBackwardCudaCore(long dq, long dk, long dv, long delta, long dout, long q, long k, long v, long out,
                                       long lse, int B, int T, int NH, int NKV, int hs, int qStride, int kvStride,
                                       boolean bf16, boolean bf16Grads, int add) {
        int warps = 4, smem = warps * 2 * hs * Float.BYTES; // fp32 copies of q, dO (dq) or k, v (dkv) for both types
        Kernel dqKernel = bf16Grads ? Kernel.ATTENTION_BACKWARD_FUSED_DQ_BF16_GRADS
                : bf16 ? Kernel.ATTENTION_BACKWARD_FUSED_DQ_BF16 : Kernel.ATTENTION_BACKWARD_FUSED_DQ;
        Kernel dkvKernel = bf16Grads ? Kernel.ATTENTION_BACKWARD_FUSED_DKV_BF16_GRADS
                : bf16 ? Kernel.ATTENTION_BACKWARD_FUSED_DKV_BF16 : Kernel.ATTENTION_BACKWARD_FUSED_DKV;
        ctx.kernel(dqKernel, blocks(T, warps), NH, B, 32 * warps, 1, smem)
                .ptr(dq).ptr(delta).ptr(dout).ptr(q).ptr(k).ptr(v).ptr(out).ptr(lse)
                .i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(qStride).i32(kvStride).i32(add).go();
        ctx.kernel(dkvKernel, blocks(T, warps), NKV, B, 32 * warps, 1, smem)
                .ptr(dk).ptr(dv).ptr(dout).ptr(q).ptr(k).ptr(v).ptr(lse).ptr(delta)
                .i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(qStride).i32(kvStride).i32(add).go();
    }

    // ---- fused attention backward (flash-style) -----------------------------------------------------

    /**
     * Fused causal attention backward, paired with {@link #attentionForwardFused}: {@code dqkv += d(out)/d(qkv)}
     * without the (B, NH, T, T) probabilities, which the kernels recompute from {@code lse} (B, NH, T), the
     * forward's per-row log-sum-exp. {@code out} is the forward's output (B,T,C); {@code delta} (B, NH, T) is
     * scratch this call overwrites. Head size at most 256. Two kernels: per query row (D = dO.O, then dQ) and
     * per key row (dK, dV), so no atomics and a fixed summation order; on tensor cores where
     * {@link #tensorCoreAttention} holds (per 64-row tile instead of per row), else on CUDA cores in fp32.
     * {@code qkv} and {@code out} are both F32 or both BF16 (bf16 activation storage; {@code out} is then the bf16
     * output of the forward, read for D = dO.O); {@code dqkv} and {@code dout} are both F32, or both BF16 with a BF16
     * qkv (GPT-2's gradients in bf16 mode: added to in fp32, rounded once); {@code delta} and {@code lse} are F32.
     */
    public void attentionBackwardFused(Tensor dqkv, Tensor delta, Tensor dout, Tensor qkv, Tensor out, Tensor lse,
                                       int B, int T, int C, int NH) {
        attentionBackwardFused(dqkv, delta, dout, qkv, out, lse, B, T, C, NH, true);
    }

    /** {@link #attentionBackwardFused}, with dqkv added to ({@code accumulate}) or written. */
    private void attentionBackwardFused(Tensor dqkv, Tensor delta, Tensor dout, Tensor qkv, Tensor out, Tensor lse,
                                        int B, int T, int C, int NH, boolean accumulate) {
        positive("B", B, "T", T, "C", C);
        int hs = headSize(C, NH);
        if (hs > 256) throw new IllegalArgumentException("NH: head size " + hs + " > 256 is not supported by the fused kernel");
        DType act = fusedActivationType("attentionBackwardFused", qkv, out);
        DType grad = gradientType("attentionBackwardFused", "dqkv", dqkv, dout, "qkv", qkv);
        dev("dqkv", dqkv, grad, (long) B * T * 3 * C);
        dev("delta", delta, DType.F32, (long) B * NH * T);
        dev("dout", dout, grad, (long) B * T * C);
        dev("qkv", qkv, act, (long) B * T * 3 * C);
        dev("out", out, act, (long) B * T * C);
        dev("lse", lse, DType.F32, (long) B * NH * T);
        wrote(dqkv, delta);
        long q = ptr(qkv), dq = ptr(dqkv), c = (long) C * act.bytes(), cg = (long) C * grad.bytes();
        fusedBackward(dq, dq + cg, dq + 2 * cg, ptr(delta), ptr(dout), q, q + c, q + 2 * c, ptr(out), ptr(lse),
                B, T, NH, NH, hs, 3 * C, 3 * C, act == DType.BF16, grad == DType.BF16, accumulate);
    }

    /**
     * The head size the tensor-core kernels compute with (16, 32 or 64, the extra channels zero); their dynamic
     * shared memory is a function of it, the formulas at the launches mirroring the layouts in
     * kernels/attention_flash_mma.cu (forward 512(D+8) bytes, dq 512(D+8) + 512, dkv 512(D+8) + 1024) and
     * kernels/attention_flash_tc.cu (forward 256(D+8) + 27392, dq 256(D+8) + 32256, dkv 384(D+8) + 19712).
     */
    private static int flashHeadDim(int hs) {
        return hs <= 16 ? 16 : hs <= 32 ? 32 : 64;
    }

    /**
     * Whether the contract's attention takes the fused path: asked for, the kernels take the head size, and T > hs.
     * The bound dates from when the fused state held a copy of out (B*NH*T*(1 + hs) floats, smaller than the
     * probabilities' B*NH*T*T only there); the fused kernels have been checked at those lengths only, and shorter
     * batches, whose (T,T) matrices are small, keep the cuBLAS path.
     */
    private boolean useFusedAttention(int T, int hs) {
        return fusedFor(hs) && T > hs && hs <= 256;
    }

    /**
     * What att and datt (GPT-2's and grouped-query attention's alike) must hold at exactly (B, T): on the fused path
     * one float per row (a log-sum-exp in att, the backward's D = dO.O in datt), else the probabilities and their
     * gradient, B*NH*T*T.
     */
    private long attentionNeeded(int B, int T, int NH, int hs) {
        return useFusedAttention(T, hs) ? (long) B * NH * T : (long) B * NH * T * T;
    }

    /**
     * What att and datt must hold for every batch of at most B sequences of at most T tokens: in fused mode, where
     * T > head size, B*NH*max(T, hs^2); hs^2 because shorter batches (T' <= hs) take the cuBLAS path, which needs
     * B*NH*T'^2 (for GPT-2 at T 1024: 4 times the fused path's own need, 1/256 of B*NH*T^2).
     */
    private long attentionSized(int B, int T, int NH, int hs) {
        return useFusedAttention(T, hs) ? (long) B * NH * Math.max(T, (long) hs * hs) : (long) B * NH * T * T;
    }

    /** {@link #attentionSized}: the log-sum-exps in fused mode, with room for shorter batches' probabilities. */
    @Override
    public long attentionStateFloats(int B, int T, int C, int NH) {
        positive("B", B, "T", T, "C", C);
        return attentionSized(B, T, NH, headSize(C, NH));
    }

    /** {@link #attentionSized}: D per row in fused mode, with room for shorter batches' d(probabilities). */
    @Override
    public long attentionScratchFloats(int B, int T, int C, int NH) {
        positive("B", B, "T", T, "C", C);
        return attentionSized(B, T, NH, headSize(C, NH));
    }

    /** False where the fused path runs: att then holds its state, not probabilities. */
    @Override
    public boolean attentionKeepsProbabilities(int B, int T, int C, int NH) {
        positive("B", B, "T", T, "C", C);
        return !useFusedAttention(T, headSize(C, NH));
    }

    /**
     * BF16 where the cuBLAS path runs with bf16 activations ({@link #activationDType}): the scores product writes
     * bf16, the softmax kernels read and write bf16 in place, and the products read the probabilities and d(scores)
     * as they are (no rounding copies; half the bytes of the largest tensors of the step). F32 where fused attention
     * runs (its per-row log-sum-exps stay fp32) and wherever activations are F32.
     */
    @Override
    public DType attentionStateDType(int B, int T, int C, int NH) {
        positive("B", B, "T", T, "C", C);
        return activationDType() == DType.BF16 && !useFusedAttention(T, headSize(C, NH)) ? DType.BF16 : DType.F32;
    }

    /** {@link #attentionSized}, as {@link #attentionStateFloats}. */
    @Override
    public long gqaAttentionStateFloats(int B, int T, int NH, int NKV, int hs) {
        gqaDims(B, T, NH, NKV, hs);
        return attentionSized(B, T, NH, hs);
    }

    /** {@link #attentionSized}, as {@link #attentionScratchFloats}. */
    @Override
    public long gqaAttentionScratchFloats(int B, int T, int NH, int NKV, int hs) {
        gqaDims(B, T, NH, NKV, hs);
        return attentionSized(B, T, NH, hs);
    }

    /** False where the fused path runs: att then holds its state, not probabilities. */
    @Override
    public boolean gqaAttentionKeepsProbabilities(int B, int T, int NH, int NKV, int hs) {
        gqaDims(B, T, NH, NKV, hs);
        return !useFusedAttention(T, hs);
    }

    /** What {@code bench train-step --arch llama} reports: rows (kernels/llama.cu), fused-tc, fused-wmma or fused-cudacore, for this head size. */
    public String gqaAttentionLabel(int headSize) {
        if (!fusedFor(headSize) || headSize > 256) return "rows";
        return fusedLabel(headSize);
    }

    /**
     * {@link #dev} for att/datt, naming the likely cause when a buffer sized for the fused path (fused mode on
     * when it was made) reaches the cuBLAS path, which needs the whole (B,NH,T,T). BF16 only where
     * {@code bf16Probabilities} (GPT-2's cuBLAS path, {@link #attentionStateDType}) and never on the fused path.
     */
    private void attentionBuffer(String name, Tensor t, long need, int T, int hs, boolean bf16Probabilities) {
        if (t != null && !t.isHost() && isBf16(t) && useFusedAttention(T, hs)) {
            throw new IllegalArgumentException(name + ": " + t + " is BF16, but fused attention keeps fp32 log-sum-exps in it;"
                    + " allocate att and datt in attentionStateDType(...) with fused mode as it will run (setFusedAttention,"
                    + " JGPT_CUDA_ATTENTION)");
        }
        if (t != null && !t.isHost() && t.numel() < need && !useFusedAttention(T, hs)) {
            throw new IllegalArgumentException(name + ": needs " + need + " elements (B*NH*T*T) for the cuBLAS attention path but "
                    + t + " has " + t.numel() + (fusedFor(hs)
                    ? " (fused attention runs only where T > head size " + hs + " and head size <= 256)"
                    : "; a buffer sized for fused attention needs fused mode on (setFusedAttention, JGPT_CUDA_ATTENTION=fused)"));
        }
        if (bf16Probabilities) activation(name, t, need);
        else dev(name, t, DType.F32, need); // grouped-query attention keeps fp32 probabilities (kernels/llama.cu)
    }

    /** The first B*NH*T floats of att or datt: per-row statistics on the fused path. */
    private static Tensor lseOf(Tensor att, int B, int T, int NH) {
        return att.view(0, (long) B * NH * T);
    }

    // ---- elementwise ------------------------------------------------------------------------------

    @Override
    public void geluForward(Tensor out, Tensor inp, int N) {
        positive("N", N);
        activation("out", out, N);
        activation("inp", inp, N);
        sameType("geluForward", "inp", inp, "out", out);
        wrote(out);
        ctx.kernel(isBf16(out) ? Kernel.GELU_FORWARD_BF16 : Kernel.GELU_FORWARD, gridStride(N, 256), 256).ptr(out).ptr(inp).i64(N).go();
    }

    @Override
    public void geluBackward(Tensor dinp, Tensor inp, Tensor dout, int N) {
        positive("N", N);
        activation("dinp", dinp, N);
        activation("inp", inp, N);
        dev("dout", dout, DType.F32, N);
        if (isBf16(dinp)) sameType("geluBackward", "dinp", dinp, "inp", inp); // a bf16 d(fch) comes with a bf16 fch
        wrote(dinp);
        Kernel k = isBf16(dinp) ? Kernel.GELU_BACKWARD_BF16_DINP : isBf16(inp) ? Kernel.GELU_BACKWARD_BF16 : Kernel.GELU_BACKWARD;
        ctx.kernel(k, gridStride(N, 256), 256).ptr(dinp).ptr(inp).ptr(dout).i64(N).go();
    }

    @Override
    public void residualForward(Tensor out, Tensor a, Tensor b, int N) {
        positive("N", N);
        dev("out", out, DType.F32, N);
        dev("a", a, DType.F32, N);
        dev("b", b, DType.F32, N);
        wrote(out);
        ctx.kernel(Kernel.RESIDUAL_FORWARD, gridStride(N, 256), 256).ptr(out).ptr(a).ptr(b).i64(N).go();
    }

    @Override
    public void residualBackward(Tensor da, Tensor db, Tensor dout, int N) {
        positive("N", N);
        dev("da", da, DType.F32, N);
        dev("db", db, DType.F32, N);
        dev("dout", dout, DType.F32, N);
        wrote(da, db);
        ctx.kernel(Kernel.RESIDUAL_BACKWARD, gridStride(N, 256), 256).ptr(da).ptr(db).ptr(dout).i64(N).go();
    }

    // ---- fused classifier -------------------------------------------------------------------------

    /** Most bytes of logits {@link #classifierRows} lets a model's classifier scratch hold. */
    static final long CLASSIFIER_SCRATCH_BYTES = 1L << 30;

    /**
     * Up to 1 GiB of logits in {@link #activationDType} (the whole batch of GPT-2 124M at B 8, T 1024 in bf16;
     * 5,336 rows of 50,304 in fp32), not the 64 MiB the other backends keep: each chunk of rows re-reads and re-writes the
     * fp32 {@code dwte} (154 MB for GPT-2) in its accumulating product, and that product's inner dimension is the
     * chunk's row count, so small chunks make it memory-bound. At 333 rows (64 MiB of fp32) a B 8, T 1024 step took
     * 25 chunks and, computed, about 20 GB more memory traffic than one bf16 chunk (docs/PERFORMANCE.md).
     */
    @Override
    public long classifierRows(long N, int V) {
        long perRow = (long) classifierRowStride(V) * activationDType().bytes();
        return Math.max(1, Math.min(N, CLASSIFIER_SCRATCH_BYTES / perRow));
    }

    /**
     * V rounded up to a multiple of 64 (GPT-2's 50,257: 50,304, as llm.c pads its vocabulary): every logits row the
     * products write and read then starts 128-byte aligned, where an odd V leaves cuBLAS only unaligned rows (its
     * tensor-core kernels want 16-byte aligned leading dimensions). The padding is never read.
     */
    @Override
    public int classifierRowStride(int V) {
        return (V + 63) / 64 * 64;
    }

    /**
     * The fused classifier in row chunks of the scratch's size. A BF16 scratch (a model allocated in bf16 mode)
     * takes the logits product's output in bf16, the softmax kernel reads it and writes the dlogits in place in
     * bf16, and the two backward products read that as their operand: no rounding copy.
     */
    @Override
    public double classifier(Tensor losses, Tensor dx, Tensor dwte, Tensor x, Tensor wte, Tensor targets,
                             Tensor scratchLogits, int N, int C, int V, float dlossScale, boolean backward) {
        positive("N", N, "C", C);
        positive("V", V);
        dev("losses", losses, DType.F32, N);
        activation("x", x, (long) N * C);
        dev("wte", wte, DType.F32, (long) V * C);
        dev("targets", targets, DType.I32, N);
        activation("scratch", scratchLogits, V);
        // rows of the padded stride where the scratch holds one, else V apart (a scratch of a single unpadded row)
        int stride = classifierRowStride(V), ld = scratchLogits.numel() >= stride ? stride : V;
        if (backward) {
            dev("dx", dx, DType.F32, (long) N * C);
            if (dwte != null) dev("dwte", dwte, DType.F32, (long) V * C); // null: a frozen wte, no dwte product
        }
        checkIds("targets", targets, N, V, true);
        wrote(losses, scratchLogits);
        int R = (int) Math.min(N, scratchLogits.numel() / ld);
        // operands: fp32 tensors, or bf16 (stored so, or copies in bf16 mode); e = bytes per operand element.
        // bf16 logits come only from a bf16 product (cuBLAS writes a bf16 C only with bf16 A and B).
        boolean bfLogits = isBf16(scratchLogits), bf = bf16Product(x) || bfLogits;
        long f = Float.BYTES, e = bf ? 2 : Float.BYTES;
        int f32 = Cublas.CUDA_R_32F;
        MemorySegment logits = scratchLogits.data();
        Kernel softmax = bfLogits ? Kernel.CLASSIFIER_SOFTMAX_XENT_BF16 : Kernel.CLASSIFIER_SOFTMAX_XENT;
        MemorySegment wteOp = operand(wte, (long) V * C, 1, bf), xOp = operand(x, (long) N * C, 0, bf);
        // the vocabulary's rows in two parts: the most that are a multiple of 64 (GPT-2: 50,240), then the rest (17).
        // On an H200 (2026-11-27) the logits product over all 50,257 rows ran at 95 TFLOP/s and the dx product, whose
        // inner dimension they are, at 131, where the step's other bf16 products ran at 470-660: an odd extent keeps
        // cuBLAS off its aligned tensor-core kernels (our reading, not yet measured split). The tail costs 0.03%.
        int Va = classifierSplit && V / 64 * 64 > 0 ? V / 64 * 64 : V, tail = V - Va;
        int logitType = cudaType(scratchLogits);
        long logitBytes = scratchLogits.dtype().bytes();
        MemorySegment wteTail = tail == 0 ? null : seg(wteOp.address() + (long) Va * C * e);
        MemorySegment logitsTail = tail == 0 ? null : seg(logits.address() + Va * logitBytes);
        for (int r0 = 0; r0 < N; r0 += R) {
            int n = Math.min(R, N - r0);
            MemorySegment xr = r0 == 0 ? xOp : seg(xOp.address() + (long) r0 * C * e);
            // logits^T (V,n) = wte (V,C) . x^T (C,n)
            gemm(CUBLAS_OP_T, CUBLAS_OP_N, Va, n, C, one, wteOp, C, xr, C, zero, logits, logitType, ld, bf, "classifier logits");
            if (tail > 0) {
                gemm(CUBLAS_OP_T, CUBLAS_OP_N, tail, n, C, one, wteTail, C, xr, C, zero, logitsTail, logitType, ld, bf,
                        "classifier logits (tail)");
            }
            ctx.kernel(softmax, n, 1, 512, 1, 0)
                    .ptr(scratchLogits).ptr(ptr(losses) + r0 * f).ptr(ptr(targets) + r0 * f)
                    .i32(n).i32(V).i32(ld).f32(dlossScale).i32(backward ? 1 : 0).go();
            if (backward) {
                MemorySegment dlogits = operand(scratchLogits, (long) n * ld, 2, bf);
                MemorySegment dxr = r0 == 0 ? dx.data() : seg(ptr(dx) + (long) r0 * C * f);
                // dx^T (C,n) += wte^T (C,V) . dlogits^T (V,n), over the same two parts of V
                gemm(CUBLAS_OP_N, CUBLAS_OP_N, C, n, Va, one, wteOp, C, dlogits, ld, one, dxr, f32, C, bf, "classifier dx");
                if (tail > 0) {
                    gemm(CUBLAS_OP_N, CUBLAS_OP_N, C, n, tail, one, wteTail, C, seg(dlogits.address() + Va * e), ld, one, dxr,
                            f32, C, bf, "classifier dx (tail)");
                }
                // dwte^T (C,V) += x^T (C,n) . dlogits (n,V)
                if (dwte != null) {
                    gemm(CUBLAS_OP_N, CUBLAS_OP_T, C, V, n, one, xr, C, dlogits, ld, one, dwte.data(), f32, C, bf, "classifier dwte");
                }
            }
        }
        return deviceSum(losses, N, false);
    }

    // ---- optimizer --------------------------------------------------------------------------------

    @Override
    public double sumSquares(Tensor t) {
        if (t.isHost()) throw new IllegalArgumentException("sumSquares: " + t + " is host memory; the cuda backend needs device tensors");
        return deviceSum(t, t.numel(), true);
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, int step, float gradScale) {
        long n = params.numel();
        dev("params", params, DType.F32, n);
        dev("grads", grads, DType.F32, n);
        dev("m", m, DType.F32, n);
        dev("v", v, DType.F32, n);
        if (step < 1) throw new IllegalArgumentException("adamw: step " + step + " (counts from 1)");
        float bc1 = (float) (1.0 - Math.pow(beta1, step));
        float bc2 = (float) (1.0 - Math.pow(beta2, step));
        wrote(m, v);
        // in bf16 mode, parameters inside the registered buffer also get their bf16 copy in the same pass
        long copy = math == GemmMath.BF16 && keepBf16Parameters ? bf16Params.adamwTarget(ptr(params), n) : 0;
        if (copy != 0) {
            ctx.kernel(Kernel.ADAMW_UPDATE_BF16, gridStride(n, 256), 256)
                    .ptr(params).ptr(copy).ptr(grads).ptr(m).ptr(v).i64(n)
                    .f32(lr).f32(beta1).f32(beta2).f32(bc1).f32(bc2).f32(eps).f32(weightDecay).f32(gradScale).go();
            return;
        }
        wrote(params);
        ctx.kernel(Kernel.ADAMW_UPDATE, gridStride(n, 256), 256)
                .ptr(params).ptr(grads).ptr(m).ptr(v).i64(n)
                .f32(lr).f32(beta1).f32(beta2).f32(bc1).f32(bc2).f32(eps).f32(weightDecay).f32(gradScale).go();
    }

    // ---- inference --------------------------------------------------------------------------------

    /** One block per (query head, row) of the block: NH*rows blocks in one launch. */
    @Override
    public void gqaAttentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int rows, int NH, int NKV,
                                   int hs) {
        gqaDims(1, 1, NH, NKV, hs);
        if (pos < 0) throw new IllegalArgumentException("pos: must be >= 0 but was " + pos);
        if (rows < 1 || rows > 65535) throw new IllegalArgumentException("rows: must be in [1, 65535] (the grid's y) but was " + rows);
        long kv = ((long) pos + rows) * NKV * hs;
        DType e = decodeType("gqaAttentionDecode", q, kCache);
        dev("out", out, e, (long) rows * NH * hs);
        dev("att", att, DType.F32, Backend.gqaAttentionDecodeScratchFloats(pos, rows, NH));
        dev("q", q, e, (long) rows * NH * hs);
        dev("kCache", kCache, e, kv);
        dev("vCache", vCache, e, kv);
        wrote(out, att);
        ctx.kernel(e == DType.BF16 ? Kernel.GQA_ATTENTION_DECODE_BF16 : Kernel.GQA_ATTENTION_DECODE, NH, rows, DECODE_ATTENTION_THREADS, 1, 0)
                .ptr(out).ptr(att).ptr(q).ptr(kCache).ptr(vCache).i32(pos).i32(rows).i32(NH).i32(NKV).i32(hs).go();
    }

    /** Rows per launch of gqa_attention_decode_rows (the kernel's JG_DECODE_ROWS_MAX). */
    private static final int DECODE_ROWS_MAX = 32;
    /**
     * Threads per (head, row) block of the decode attention kernels (kernels/llama.cu's jg_decode_head). A decode step
     * has one block per head (12 for GPT-2 124M), each walking every position in serial rounds of blockDim positions
     * (scores) or blockDim / (hs / 4..8) positions (the mix): an H100 took 17 µs per GPT-2 call at positions 64-320
     * with 128 threads (session 20). 256 halves the rounds; at most 2048 / 8 (the kernel's JG_DECODE_PARTIALS over
     * bf16's 8 elements per lane) keeps the vector path. Chosen from that profile, not yet timed.
     */
    private static final int DECODE_ATTENTION_THREADS = 256;
    /** The kernel's struct jg_decode_rows, staged on the host: 32 k-cache pointers, 32 v-cache pointers, 32 positions. */
    private final MemorySegment decodeRows = hostArena.allocate(DECODE_ROWS_MAX * (8L + 8L + 4L), 8);
    /** The kernels' struct jg_positions (32 ints), staged on the host. */
    private final MemorySegment rowPositions = hostArena.allocate(DECODE_ROWS_MAX * 4L, 8);

    /**
     * A server's batched decode step in one launch per 32 sequences (the default's two copies and one attention
     * per sequence would be 3n launches): {@code gqa_attention_decode_rows} receives the sequences' cache
     * addresses and positions by value, writes every new key and value into its cache and attends.
     */
    @Override
    public void gqaAttentionDecodeRows(Tensor out, Tensor att, Tensor q, Tensor kNew, Tensor vNew, Tensor[] kCaches,
                                       Tensor[] vCaches, int[] pos, int n, int NH, int NKV, int hs) {
        gqaDims(1, 1, NH, NKV, hs);
        positive("n", n);
        if (kCaches.length < n || vCaches.length < n || pos.length < n) {
            throw new IllegalArgumentException("kCaches/vCaches/pos: need " + n + " entries each");
        }
        int kv = NKV * hs, qw = NH * hs;
        DType e = decodeRowsOperands("gqaAttentionDecodeRows", out, q, kNew, vNew, n, NH, NKV, hs);
        long eb = e.bytes();
        dev("att", att, DType.F32, Backend.gqaAttentionDecodeRowsScratchFloats(pos, n, NH));
        Kernel kernel = decodeRowsKernel(e);
        for (int c0 = 0; c0 < n; c0 += DECODE_ROWS_MAX) {
            int m = Math.min(DECODE_ROWS_MAX, n - c0), ld = 0;
            for (int i = 0; i < m; i++) {
                int p = pos[c0 + i];
                if (p < 0) throw new IllegalArgumentException("pos: row " + (c0 + i) + " at position " + p);
                devAt("kCaches", c0 + i, kCaches[c0 + i], e, (p + 1L) * kv);
                devAt("vCaches", c0 + i, vCaches[c0 + i], e, (p + 1L) * kv);
                decodeRows.setAtIndex(ValueLayout.JAVA_LONG, i, ptr(kCaches[c0 + i]));
                decodeRows.setAtIndex(ValueLayout.JAVA_LONG, DECODE_ROWS_MAX + i, ptr(vCaches[c0 + i]));
                decodeRows.setAtIndex(ValueLayout.JAVA_INT, 4 * DECODE_ROWS_MAX + i, p);
                ld = Math.max(ld, p + 1);
            }
            ctx.kernel(kernel, NH, m, 128, 1, 0)
                    .ptr(ptr(out) + eb * c0 * qw).ptr(att).ptr(ptr(q) + eb * c0 * qw).ptr(ptr(kNew) + eb * c0 * kv)
                    .ptr(ptr(vNew) + eb * c0 * kv).struct(decodeRows).i32(m).i32(ld).i32(NH).i32(NKV).i32(hs).ptr(0L).ptr(0L).go();
        }
        wrote(out, att);
        for (int i = 0; i < n; i++) wrote(kCaches[i], vCaches[i]);
    }

    // ---- CUDA graphs for decode steps (StepGraphs) ---------------------------------------------------

    /** {@code JGPT_CUDA_GRAPHS=0|1} (or {@code -Djgpt.cuda.graphs=false|true}); on by default. */
    static boolean graphsConfigured() {
        return switchConfigured("jgpt.cuda.graphs", "JGPT_CUDA_GRAPHS");
    }

    private boolean graphs = graphsConfigured();
    /** Set once a capture found the driver without the graph calls (said once): no later capture is tried. */
    private String graphsUnavailable;
    /** Tests: the next capture synchronises the stream inside the captured region (which capture forbids). */
    private boolean synchronizeInNextCapture;
    private long captures;

    @Override
    public boolean graphsEnabled() {
        return graphs && graphsUnavailable == null;
    }

    @Override
    public void setGraphs(boolean on) {
        this.graphs = on;
    }

    /** Graphs captured successfully so far (tests). */
    long graphCaptures() {
        return captures;
    }

    /** Tests: makes the next capture hit a synchronisation, as a step that copied to the host would. */
    void synchronizeInNextCapture() {
        synchronizeInNextCapture = true;
    }

    /** Tests: captures behave as on a driver that does not export the graph calls (their bindings throw). */
    private boolean driverWithoutGraphsForTests;

    void driverWithoutGraphsForTests() {
        driverWithoutGraphsForTests = true;
    }

    /**
     * Whether the backend state a step captured now depends on besides its own buffers is still as it is now: the
     * precision, and in bf16 mode the addresses of the bf16 weight copy and of the operand slots it converted into (a
     * slot grown by a larger product, e.g. a training step, is freed and moves). Compared per replay without allocating.
     */
    private java.util.function.BooleanSupplier stateAtCapture() {
        GemmMath m0 = math;
        boolean keep0 = keepBf16Parameters;
        long base0 = bf16Params.base(), bytes0 = bf16Params.bytes(), copy0 = bf16Params.copy();
        long s0 = bf16.address(0), s1 = bf16.address(1), s2 = bf16.address(2);
        long topK0 = topKRows.generation();
        return () -> {
            if (math != m0 || keepBf16Parameters != keep0) return false;
            if (topKRows.generation() != topK0) return false; // a captured top-k's buffers moved
            if (math != GemmMath.BF16) return true;
            if (bf16.address(0) != s0 || bf16.address(1) != s1 || bf16.address(2) != s2) return false;
            return !keep0 || (bf16Params.base() == base0 && bf16Params.bytes() == bytes0 && bf16Params.copy() == copy0);
        };
    }

    @Override
    public Graph capture(Runnable body, String what) {
        if (!graphsEnabled()) return null;
        StringBuilder failure = new StringBuilder();
        boolean sync = synchronizeInNextCapture;
        synchronizeInNextCapture = false;
        Runnable run = sync ? () -> { body.run(); ctx.synchronize(); } : body;
        DecodeGraph g = null;
        if (driverWithoutGraphsForTests) {
            failure.append("the CUDA driver has no graph calls (cuStreamBeginCapture_v2: libcuda.so.1 does not export"
                    + " cuStreamBeginCapture_v2; simulated by a test)");
        } else {
            g = DecodeGraph.capture(ctx, run, what, stateAtCapture(), () -> {
                if (math == GemmMath.BF16 && keepBf16Parameters) bf16Params.refreshIfStale();
            }, failure);
        }
        if (g != null) {
            captures++;
            return g;
        }
        if (failure.toString().startsWith("the CUDA driver has no graph calls")) {
            graphsUnavailable = failure.toString();
            System.err.println("cuda: CUDA graphs unavailable: " + graphsUnavailable + "; decode steps launch op by op");
        } else {
            System.err.println("cuda: capturing " + what + " into a CUDA graph failed: " + failure
                    + "; this sequence decodes op by op");
        }
        return null;
    }

    @Override
    public void encoderForwardRowsAt(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, Tensor positions, int maxT, int n,
                                     int C) {
        positive("n", n, "C", C, "maxT", maxT);
        if (n > DECODE_ROWS_MAX) throw new IllegalArgumentException("n: at most " + DECODE_ROWS_MAX + " rows, was " + n);
        dev("out", out, DType.F32, (long) n * C);
        dev("tokens", tokens, DType.I32, n);
        dev("positions", positions, DType.I32, n);
        dev("wpe", wpe, DType.F32, (long) maxT * C);
        int V = rows("wte", wte, C);
        ctx.kernel(Kernel.ENCODER_FORWARD_ROWS, blocks(C, 256), n, 256, 1, 0)
                .ptr(out).ptr(tokens).ptr(wte).ptr(wpe).struct(rowPositions).i32(n).i32(C).i32(V).ptr(positions).go();
        wrote(out);
    }

    @Override
    public void ropeForwardRowsAt(Tensor x, Tensor cos, Tensor sin, Tensor positions, int maxT, int n, int heads, int hs) {
        positive("n", n, "heads", heads, "hs", hs);
        positive("maxT", maxT);
        if (n > DECODE_ROWS_MAX) throw new IllegalArgumentException("n: at most " + DECODE_ROWS_MAX + " rows, was " + n);
        if (hs % 2 != 0) throw new IllegalArgumentException("hs: RoPE rotates pairs, the head size must be even but was " + hs);
        int half = hs / 2;
        activation("x", x, (long) n * heads * hs);
        dev("cos", cos, DType.F32, (long) maxT * half);
        dev("sin", sin, DType.F32, (long) maxT * half);
        dev("positions", positions, DType.I32, n);
        ctx.kernel(isBf16(x) ? Kernel.ROPE_ROTATE_ROWS_BF16 : Kernel.ROPE_ROTATE_ROWS, blocks((long) heads * half, 256), n, 256, 1, 0)
                .ptr(x).ptr(cos).ptr(sin).struct(rowPositions).i32(n).i32(heads).i32(hs).ptr(positions).go();
        wrote(x);
    }

    @Override
    public void gqaAttentionDecodeRowsAt(Tensor out, Tensor att, Tensor q, Tensor kNew, Tensor vNew, Tensor[] kCaches,
                                         Tensor[] vCaches, Tensor positions, int maxT, int n, int NH, int NKV, int hs) {
        gqaDims(1, 1, NH, NKV, hs);
        positive("n", n, "maxT", maxT);
        if (n > DECODE_ROWS_MAX) throw new IllegalArgumentException("n: at most " + DECODE_ROWS_MAX + " rows, was " + n);
        if (kCaches.length < n || vCaches.length < n) throw new IllegalArgumentException("kCaches/vCaches: need " + n + " entries each");
        int kv = NKV * hs;
        DType e = decodeRowsOperands("gqaAttentionDecodeRowsAt", out, q, kNew, vNew, n, NH, NKV, hs);
        dev("positions", positions, DType.I32, n);
        dev("att", att, DType.F32, (long) NH * n * maxT);
        for (int i = 0; i < n; i++) {
            devAt("kCaches", i, kCaches[i], e, (long) maxT * kv);
            devAt("vCaches", i, vCaches[i], e, (long) maxT * kv);
            decodeRows.setAtIndex(ValueLayout.JAVA_LONG, i, ptr(kCaches[i]));
            decodeRows.setAtIndex(ValueLayout.JAVA_LONG, DECODE_ROWS_MAX + i, ptr(vCaches[i]));
            decodeRows.setAtIndex(ValueLayout.JAVA_INT, 4 * DECODE_ROWS_MAX + i, 0);
        }
        // att rows maxT apart: the launch is the same at every position
        ctx.kernel(decodeRowsKernel(e), NH, n, DECODE_ATTENTION_THREADS, 1, 0)
                .ptr(out).ptr(att).ptr(q).ptr(kNew).ptr(vNew).struct(decodeRows).i32(n).i32(maxT).i32(NH).i32(NKV).i32(hs)
                .ptr(positions).ptr(0L).go();
        wrote(out, att);
        for (int i = 0; i < n; i++) wrote(kCaches[i], vCaches[i]);
    }

    @Override
    public void gqaAttentionDecodeRowsTable(Tensor out, Tensor att, Tensor q, Tensor kNew, Tensor vNew, Tensor caches,
                                            Tensor positions, int maxT, int n, int NH, int NKV, int hs) {
        gqaDims(1, 1, NH, NKV, hs);
        positive("n", n, "maxT", maxT);
        if (n > DECODE_ROWS_MAX) throw new IllegalArgumentException("n: at most " + DECODE_ROWS_MAX + " rows, was " + n);
        // the caches in the table are of kNew's type (the caller's caches and new rows are one type)
        DType e = decodeRowsOperands("gqaAttentionDecodeRowsTable", out, q, kNew, vNew, n, NH, NKV, hs);
        dev("positions", positions, DType.I32, n);
        dev("caches", caches, DType.I32, ROW_TABLE_CACHE_INTS);
        dev("att", att, DType.F32, (long) NH * n * maxT);
        if ((ptr(caches) & 7) != 0) throw new IllegalArgumentException("caches: the addresses must be 8-byte aligned");
        // the struct is not read (dcaches and dpos are not null): its contents do not matter
        ctx.kernel(decodeRowsKernel(e), NH, n, DECODE_ATTENTION_THREADS, 1, 0)
                .ptr(out).ptr(att).ptr(q).ptr(kNew).ptr(vNew).struct(decodeRows).i32(n).i32(maxT).i32(NH).i32(NKV).i32(hs)
                .ptr(positions).ptr(caches).go();
        wrote(out, att);
    }

    @Override
    public int maxTopK() {
        return TOPK_MAX;
    }

    /**
     * The {@code k} largest of the first {@code V} logits (a device tensor, e.g. the last position's row),
     * largest first, into {@code idx} and {@code val}: decoding then samples on the host from k candidates
     * and copies 2k numbers back instead of V ({@code Gpt2Inference.deviceLogits()}). Not part of the
     * {@link Backend} contract; see {@link dev.jgpt.backend.DeviceTopK} for the order of ties and NaN.
     */
    @Override
    public void topK(Tensor logits, int V, int k, int[] idx, float[] val) {
        topKRows(logits, 1, V, V, k, idx, val);
    }

    /** {@link #topK} of {@code rows} rows {@code ld} floats apart, in one pair of launches and one copy. */
    @Override
    public void topKRows(Tensor logits, int rows, int V, long ld, int k, int[] idx, float[] val) {
        positive("rows", rows, "V", V);
        dev("logits", logits, DType.F32, (rows - 1) * ld + V);
        topKRows.topK(ptr(logits), rows, V, ld, k, idx, val);
    }

    @Override
    public void queueTopKRows(Tensor logits, int rows, int V, long ld, int k) {
        positive("rows", rows, "V", V);
        dev("logits", logits, DType.F32, (rows - 1) * ld + V);
        topKRows.queue(ptr(logits), rows, V, ld, k);
    }

    @Override
    public void readQueuedTopK(int rows, int k, int[] idx, float[] val) {
        topKRows.read(rows, k, idx, val);
    }

    // ---- Llama-style layers (kernels/llama.cu: compiled into the fatbin, not yet run on a GPU) -------

    @Override
    public void rmsnormForward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, int N, int C, float eps) {
        positive("N", N, "C", C);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps: must be >= 0 but was " + eps);
        long n = (long) N * C;
        activation("out", out, n);
        dev("rstd", rstd, DType.F32, N);
        dev("inp", inp, DType.F32, n);
        dev("weight", weight, DType.F32, C);
        wrote(out, rstd);
        int block = 256;
        ctx.kernel(isBf16(out) ? Kernel.RMSNORM_FORWARD_BF16 : Kernel.RMSNORM_FORWARD, blocks(N, block / 32), block)
                .ptr(out).ptr(rstd).ptr(inp).ptr(weight).i32(N).i32(C).f32(eps).go();
    }

    @Override
    public void rmsnormBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, Tensor rstd, int N, int C) {
        rmsnormBackward(dinp, null, dweight, dout, inp, weight, rstd, N, C);
    }

    /** A bf16 dinpCopy in the same pass (rmsnorm_backward_dinp_copy_bf16); an F32 one as the default does. */
    @Override
    public void rmsnormBackwardCopy(Tensor dinp, Tensor dinpCopy, Tensor dweight, Tensor dout, Tensor inp, Tensor weight,
                                    Tensor rstd, int N, int C) {
        if (dinpCopy == null) throw new IllegalArgumentException("dinpCopy: null");
        if (!isBf16(dinpCopy)) {
            Backend.super.rmsnormBackwardCopy(dinp, dinpCopy, dweight, dout, inp, weight, rstd, N, C);
            return;
        }
        rmsnormBackward(dinp, dinpCopy, dweight, dout, inp, weight, rstd, N, C);
    }

    private void rmsnormBackward(Tensor dinp, Tensor copy, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, Tensor rstd,
                                 int N, int C) {
        positive("N", N, "C", C);
        long n = (long) N * C;
        dev("dinp", dinp, DType.F32, n);
        if (copy != null) dev("dinpCopy", copy, DType.BF16, n);
        dev("dweight", dweight, DType.F32, C);
        dev("dout", dout, DType.F32, n);
        dev("inp", inp, DType.F32, n);
        dev("weight", weight, DType.F32, C);
        dev("rstd", rstd, DType.F32, N);
        wrote(dinp, dweight);
        int block = 256;
        if (copy == null) {
            ctx.kernel(Kernel.RMSNORM_BACKWARD_DINP, blocks(N, block / 32), block)
                    .ptr(dinp).ptr(dout).ptr(inp).ptr(weight).ptr(rstd).i32(N).i32(C).go();
        } else {
            wrote(copy);
            ctx.kernel(Kernel.RMSNORM_BACKWARD_DINP_COPY_BF16, blocks(N, block / 32), block)
                    .ptr(dinp).ptr(copy).ptr(dout).ptr(inp).ptr(weight).ptr(rstd).i32(N).i32(C).go();
        }
        // dweight: each row split's sums written, then added in split order
        int columnBlocks = (int) blocks(C, 32), splits = rowSplits(N, columnBlocks);
        long partials = gradientPartials.atLeast(4L * splits * C);
        ctx.kernel(Kernel.RMSNORM_BACKWARD_DWEIGHT, columnBlocks, splits, 32, 8, 0)
                .ptr(partials).ptr(dout).ptr(inp).ptr(rstd).i32(N).i32(C).go();
        ctx.kernel(Kernel.ADD_PARTIAL_SUMS, columnBlocks, 1, 32, 8, 0).ptr(dweight).ptr(0L).ptr(partials).i32(splits).i32(C).go();
    }

    @Override
    public void ropeForward(Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        rope("x", x, cos, sin, B, T, NH, hs, 1f);
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        rope("dx", dx, cos, sin, B, T, NH, hs, -1f);
    }

    /** All rows in one launch per 32 (rope_rotate_rows, the positions passed by value). */
    @Override
    public void ropeForwardRows(Tensor x, Tensor cos, Tensor sin, int[] pos, int n, int heads, int hs) {
        positive("n", n, "heads", heads, "hs", hs);
        if (hs % 2 != 0) throw new IllegalArgumentException("hs: RoPE rotates pairs, the head size must be even but was " + hs);
        if (pos.length < n) throw new IllegalArgumentException("pos: need " + n + " entries");
        int w = heads * hs, half = hs / 2, max = 0;
        for (int r = 0; r < n; r++) {
            if (pos[r] < 0) throw new IllegalArgumentException("pos: row " + r + " at position " + pos[r]);
            max = Math.max(max, pos[r]);
        }
        activation("x", x, (long) n * w);
        dev("cos", cos, DType.F32, (max + 1L) * half);
        dev("sin", sin, DType.F32, (max + 1L) * half);
        Kernel kernel = isBf16(x) ? Kernel.ROPE_ROTATE_ROWS_BF16 : Kernel.ROPE_ROTATE_ROWS;
        long xb = x.dtype().bytes();
        for (int c0 = 0; c0 < n; c0 += DECODE_ROWS_MAX) {
            int m = Math.min(DECODE_ROWS_MAX, n - c0);
            for (int i = 0; i < m; i++) rowPositions.setAtIndex(ValueLayout.JAVA_INT, i, pos[c0 + i]);
            ctx.kernel(kernel, blocks((long) heads * half, 256), m, 256, 1, 0)
                    .ptr(ptr(x) + xb * c0 * w).ptr(cos).ptr(sin).struct(rowPositions).i32(m).i32(heads).i32(hs).ptr(0L).go();
        }
        wrote(x);
    }

    private void rope(String name, Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs, float sign) {
        positive("B", B, "T", T, "NH", NH);
        positive("hs", hs);
        if (hs % 2 != 0) throw new IllegalArgumentException("hs: RoPE rotates pairs, the head size must be even but was " + hs);
        activation(name, x, (long) B * T * NH * hs);
        dev("cos", cos, DType.F32, (long) T * (hs / 2));
        dev("sin", sin, DType.F32, (long) T * (hs / 2));
        wrote(x);
        long pairs = (long) B * T * NH * (hs / 2);
        ctx.kernel(isBf16(x) ? Kernel.ROPE_ROTATE_BF16 : Kernel.ROPE_ROTATE, gridStride(pairs, 256), 256)
                .ptr(x).ptr(cos).ptr(sin).i32(B).i32(T).i32(NH).i32(hs).f32(sign).go();
    }

    @Override
    public void swigluForward(Tensor out, Tensor gate, Tensor up, int N) {
        positive("N", N);
        activation("out", out, N);
        activation("gate", gate, N);
        activation("up", up, N);
        sameType("swigluForward", "gate", gate, "out", out);
        sameType("swigluForward", "up", up, "out", out);
        wrote(out);
        ctx.kernel(isBf16(out) ? Kernel.SWIGLU_FORWARD_BF16 : Kernel.SWIGLU_FORWARD, gridStride(N, 256), 256)
                .ptr(out).ptr(gate).ptr(up).i64(N).go();
    }

    @Override
    public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N) {
        swigluBackward(dgate, dup, dout, gate, up, N, true);
    }

    /** dgate and dup written, not added to (no zeroing first, nor reading them back). */
    @Override
    public void swigluBackwardOverwrite(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N) {
        swigluBackward(dgate, dup, dout, gate, up, N, false);
    }

    private void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N, boolean accumulate) {
        positive("N", N);
        // the gradients: all F32, or all BF16 with bf16 gate and up (Llama's in bf16 mode)
        DType grad = gradientType("swigluBackward", "dgate", dgate, dout, "gate", gate);
        dev("dgate", dgate, grad, N);
        dev("dup", dup, grad, N);
        dev("dout", dout, grad, N);
        activation("gate", gate, N);
        activation("up", up, N);
        sameType("swigluBackward", "gate", gate, "up", up);
        wrote(dgate, dup);
        Kernel k = grad == DType.BF16 ? Kernel.SWIGLU_BACKWARD_BF16_GRADS
                : isBf16(gate) ? Kernel.SWIGLU_BACKWARD_BF16 : Kernel.SWIGLU_BACKWARD;
        ctx.kernel(k, gridStride(N, 256), 256)
                .ptr(dgate).ptr(dup).ptr(dout).ptr(gate).ptr(up).i64(N).i32(accumulate ? 1 : 0).go();
    }

    /**
     * In fused mode ({@link #setFusedAttention}, where T > head size and head size <= 256) the grouped-query attention
     * runs the flash-style CUDA-core kernels GPT-2's fused attention runs (kernels/attention.cu,
     * attention_backward_fused.cu, with Llama's separate q, k, v and a group size), or in bf16 mode, where the head
     * size is at most 64, the tensor-core ones (kernels/attention_flash_tc.cu, {@link #tensorCoreAttention}):
     * att then holds a log-sum-exp per row ({@link #gqaAttentionStateFloats}), not probabilities.
     * Otherwise the warp-per-row kernels of kernels/llama.cu, which write the (B,NH,T,T) probabilities.
     */
    @Override
    public void gqaAttentionForward(Tensor out, Tensor att, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV, int hs) {
        gqaDims(B, T, NH, NKV, hs);
        long bt = (long) B * T;
        activation("out", out, bt * NH * hs);
        attentionBuffer("att", att, attentionNeeded(B, T, NH, hs), T, hs, false);
        gqaActivations("gqaAttentionForward", q, k, v, bt, NH, NKV, hs);
        sameType("gqaAttentionForward", "q", q, "out", out);
        boolean bf16 = isBf16(q);
        wrote(out, att);
        if (useFusedAttention(T, hs)) {
            int kvw = NKV * hs;
            fusedForward(ptr(out), ptr(att), ptr(q), ptr(k), ptr(v), B, T, NH, NKV, hs, NH * hs, kvw, bf16); // backward is given out
            return;
        }
        int block = 256;
        ctx.kernel(bf16 ? Kernel.GQA_ATTENTION_FORWARD_BF16 : Kernel.GQA_ATTENTION_FORWARD, blocks((long) B * NH * T, block / 32), block)
                .ptr(out).ptr(att).ptr(q).ptr(k).ptr(v).i32(B).i32(T).i32(NH).i32(NKV).i32(hs).go();
    }

    @Override
    public void gqaAttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k, Tensor v,
                                     Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs) {
        gqaAttentionBackward(dq, dk, dv, datt, dout, q, k, v, att, out, B, T, NH, NKV, hs, true);
    }

    /** dq, dk and dv written, not added to: every row of them is stored once (by one warp, or one 64-row tile). */
    @Override
    public void gqaAttentionBackwardOverwrite(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k,
                                              Tensor v, Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs) {
        gqaAttentionBackward(dq, dk, dv, datt, dout, q, k, v, att, out, B, T, NH, NKV, hs, false);
    }

    private void gqaAttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k, Tensor v,
                                      Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs, boolean accumulate) {
        gqaDims(B, T, NH, NKV, hs);
        long bt = (long) B * T;
        // the gradients: all F32, or all BF16 with bf16 q, k, v (Llama's in bf16 mode)
        DType grad = gradientType("gqaAttentionBackward", "dq", dq, dout, "q", q);
        dev("dq", dq, grad, bt * NH * hs);
        dev("dk", dk, grad, bt * NKV * hs);
        dev("dv", dv, grad, bt * NKV * hs);
        attentionBuffer("datt", datt, attentionNeeded(B, T, NH, hs), T, hs, false);
        dev("dout", dout, grad, bt * NH * hs);
        gqaActivations("gqaAttentionBackward", q, k, v, bt, NH, NKV, hs);
        boolean bf16 = isBf16(q), bf16Grads = grad == DType.BF16;
        attentionBuffer("att", att, attentionNeeded(B, T, NH, hs), T, hs, false);
        activation("out", out, bt * NH * hs);
        sameType("gqaAttentionBackward", "q", q, "out", out);
        wrote(dq, dk, dv, datt);
        if (useFusedAttention(T, hs)) {
            fusedBackward(ptr(dq), ptr(dk), ptr(dv), ptr(datt), ptr(dout), ptr(q), ptr(k), ptr(v), ptr(out), ptr(att),
                    B, T, NH, NKV, hs, NH * hs, NKV * hs, bf16, bf16Grads, accumulate);
            return;
        }
        int block = 256, add = accumulate ? 1 : 0;
        Kernel qKernel = bf16Grads ? Kernel.GQA_ATTENTION_BACKWARD_Q_BF16_GRADS
                : bf16 ? Kernel.GQA_ATTENTION_BACKWARD_Q_BF16 : Kernel.GQA_ATTENTION_BACKWARD_Q;
        Kernel kvKernel = bf16Grads ? Kernel.GQA_ATTENTION_BACKWARD_KV_BF16_GRADS
                : bf16 ? Kernel.GQA_ATTENTION_BACKWARD_KV_BF16 : Kernel.GQA_ATTENTION_BACKWARD_KV;
        // part 1 writes d(scores) into datt, which part 2 (queued after it on the same stream) reads
        ctx.kernel(qKernel, blocks((long) B * NH * T, block / 32), block)
                .ptr(dq).ptr(datt).ptr(dout).ptr(k).ptr(v).ptr(att).i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(add).go();
        ctx.kernel(kvKernel, blocks((long) B * NKV * T, block / 32), block)
                .ptr(dk).ptr(dv).ptr(datt).ptr(dout).ptr(q).ptr(att).i32(B).i32(T).i32(NH).i32(NKV).i32(hs).i32(add).go();
    }

    /** q (bt, NH*hs), k and v (bt, NKV*hs): device tensors of one activation type, F32 or BF16. */
    private static void gqaActivations(String op, Tensor q, Tensor k, Tensor v, long bt, int NH, int NKV, int hs) {
        activation("q", q, bt * NH * hs);
        activation("k", k, bt * NKV * hs);
        activation("v", v, bt * NKV * hs);
        sameType(op, "k", k, "q", q);
        sameType(op, "v", v, "q", q);
    }

    private static void gqaDims(int B, int T, int NH, int NKV, int hs) {
        positive("B", B, "T", T, "NH", NH);
        positive("NKV", NKV, "hs", hs);
        if (NH % NKV != 0) throw new IllegalArgumentException("NKV: " + NKV + " kv heads do not divide NH = " + NH);
    }

    @Override
    public void close() {
        try {
            ctx.synchronize();
            bf16.close();
            bf16Params.close();
            topKRows.close();
            scratch.close();
            if (lt != null) lt.close();
            ltBiasGrad.close();
            gradientPartials.close();
            sortKeys.close();
            CudaDriver.cuMemFreeHost(pinnedResult);
        } finally {
            ctx.close();
            hostArena.close();
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /** Sum (or sum of squares) of n floats on the device, in double, in a fixed order; waits for it. */
    private double deviceSum(Tensor x, long n, boolean square) {
        if (n == 0) return 0.0;
        int block = 256;
        int grid = (int) Math.min(PARTIALS, blocks(n, block));
        ctx.kernel(Kernel.SUM_PARTIALS, grid, block).ptr(partials).ptr(x).i64(n).i32(square ? 1 : 0).go();
        ctx.kernel(Kernel.SUM_FINISH, 1, block).ptr(sumResult).ptr(partials).i32(grid).go();
        CudaException.check(CudaDriver.cuMemcpyDtoHAsync_v2(pinnedResult, ptr(sumResult), 8, ctx.stream()), "cuMemcpyDtoH(sum)");
        ctx.synchronize();
        return pinnedResult.get(ValueLayout.JAVA_DOUBLE, 0);
    }

    /** Operands are the tensors' own segments where possible (no allocation), else {@link #seg} of an offset. */
    private void sgemm(int opA, int opB, int m, int n, int k, MemorySegment alpha, MemorySegment a, int lda,
                       MemorySegment b, int ldb, MemorySegment beta, MemorySegment c, int ldc, String what) {
        wroteProduct(c.address(), ldc, n, 0, 1, Float.BYTES);
        timeline.begin();
        if (math == GemmMath.FP32) {
            ctx.checkCublas(Cublas.cublasSgemm_v2(ctx.cublas(), opA, opB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), what);
        } else {
            int f32 = Cublas.CUDA_R_32F;
            ctx.checkCublas(Cublas.cublasGemmEx(ctx.cublas(), opA, opB, m, n, k, alpha, a, f32, lda, b, f32, ldb, beta, c, f32, ldc,
                    math.computeType(), Cublas.CUBLAS_GEMM_DEFAULT), what);
        }
        timeline.end(what, KernelTimeline.Kind.CUBLAS, gemmFlops(m, n, k, 1));
    }

    private void sgemmBatched(int opA, int opB, int m, int n, int k, MemorySegment alpha, long a, int lda, long strideA,
                              long b, int ldb, long strideB, MemorySegment beta, long c, int ldc, long strideC, int batch,
                              String what) {
        wroteProduct(c, ldc, n, strideC, batch, Float.BYTES);
        timeline.begin();
        if (math == GemmMath.FP32) {
            ctx.checkCublas(Cublas.cublasSgemmStridedBatched(ctx.cublas(), opA, opB, m, n, k, alpha, seg(a), lda, strideA,
                    seg(b), ldb, strideB, beta, seg(c), ldc, strideC, batch), what);
        } else {
            int f32 = Cublas.CUDA_R_32F;
            ctx.checkCublas(Cublas.cublasGemmStridedBatchedEx(ctx.cublas(), opA, opB, m, n, k, alpha, seg(a), f32, lda, strideA,
                    seg(b), f32, ldb, strideB, beta, seg(c), f32, ldc, strideC, batch, math.computeType(),
                    Cublas.CUBLAS_GEMM_DEFAULT), what);
        }
        timeline.end(what, KernelTimeline.Kind.CUBLAS, gemmFlops(m, n, k, batch));
    }

    // ---- products on operands that may be bf16 copies (GemmMath.BF16) ----------------------------------

    /**
     * The device address of a product's input: the tensor itself for an fp32 product ({@code bf} false, an F32
     * tensor) or a tensor stored as bf16; for a bf16 product on an F32 tensor, its first {@code n} elements rounded
     * to bf16: a weight's place in the bf16 parameter copy, else a fresh copy in operand slot {@code slot} (never
     * stale). Operands of one product must use different slots.
     */
    private MemorySegment operand(Tensor t, long n, int slot, boolean bf) {
        if (!bf || t.dtype() == DType.BF16) return t.data();
        long p = ptr(t);
        // a weight inside the registered parameter buffer: its place in the bf16 copy AdamW keeps current
        if (keepBf16Parameters && bf16Params.holds(p, n)) return bf16Params.operand(p);
        return bf16.convert(slot, p, n);
    }

    /** Whether a product on this activation multiplies bf16 operands: in bf16 mode, or when it is stored as bf16. */
    private boolean bf16Product(Tensor activation) {
        return math == GemmMath.BF16 || isBf16(activation);
    }

    private boolean bf16Product(Tensor a, Tensor b) {
        return bf16Product(a) || isBf16(b);
    }

    private static boolean isBf16(Tensor t) {
        return t.dtype() == DType.BF16;
    }

    private static int cudaType(Tensor t) {
        return isBf16(t) ? Cublas.CUDA_R_16BF : Cublas.CUDA_R_32F;
    }

    /** Outputs of an op: a bf16 parameter copy over any of them is stale from now on ({@link Bf16Parameters}). */
    private void wrote(Tensor t) {
        if (t != null && !t.isHost()) bf16Params.written(ptr(t), t.byteSize());
    }

    private void wrote(Tensor a, Tensor b) {
        wrote(a);
        wrote(b);
    }

    private void wrote(Tensor a, Tensor b, Tensor c) {
        wrote(a, b);
        wrote(c);
    }

    private void wrote(Tensor a, Tensor b, Tensor c, Tensor d) {
        wrote(a, b);
        wrote(c, d);
    }

    /** A product's output C (column-major, ldc x n, batch of them strideC apart, in elements of {@code bytes}). */
    private void wroteProduct(long c, int ldc, int n, long strideC, int batch, int bytes) {
        bf16Params.written(c, (long) bytes * ((long) strideC * (batch - 1) + (long) ldc * n));
    }

    /** {@link #gemm(int, int, int, int, int, MemorySegment, MemorySegment, int, MemorySegment, int, MemorySegment, MemorySegment, int, int, boolean, String)} into a tensor. */
    private void gemm(int opA, int opB, int m, int n, int k, MemorySegment alpha, MemorySegment a, int lda, MemorySegment b,
                      int ldb, MemorySegment beta, Tensor c, int ldc, boolean bf, String what) {
        gemm(opA, opB, m, n, k, alpha, a, lda, b, ldb, beta, c.data(), cudaType(c), ldc, bf, what);
    }

    /**
     * A product on operands from {@link #operand}: {@link #sgemm} where {@code bf} is false (C then fp32), else bf16 A
     * and B with fp32 accumulation into C of {@code cType} (fp32, or bf16: an activation stored so). Allocates nothing.
     */
    private void gemm(int opA, int opB, int m, int n, int k, MemorySegment alpha, MemorySegment a, int lda, MemorySegment b,
                      int ldb, MemorySegment beta, MemorySegment c, int cType, int ldc, boolean bf, String what) {
        if (!bf) {
            sgemm(opA, opB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, what);
            return;
        }
        wroteProduct(c.address(), ldc, n, 0, 1, cType == Cublas.CUDA_R_16BF ? 2 : Float.BYTES);
        int bf16 = Cublas.CUDA_R_16BF;
        timeline.begin();
        ctx.checkCublas(Cublas.cublasGemmEx(ctx.cublas(), opA, opB, m, n, k, alpha, a, bf16, lda, b, bf16, ldb, beta,
                c, cType, ldc, Cublas.CUBLAS_COMPUTE_32F, Cublas.CUBLAS_GEMM_DEFAULT), what);
        timeline.end(what, KernelTimeline.Kind.CUBLAS, gemmFlops(m, n, k, 1));
    }

    /** The tensor an attention product's operand lies in, which fixes its (b, h) layout ({@link #gemmPerHead}). */
    private static final int QKV = 0, SCORES = 1, HEADS = 2;

    /**
     * One attention product for every (sequence b, head h): B*NH GEMMs as strided-batched calls. An operand's (b, h)
     * matrix starts at its base + (b * batchStride + h * headStride) elements of {@code e} (a and b) or {@code ce} (c)
     * bytes, by its kind: QKV (packed q, k or v, or their gradients: ld 3C, head stride hs, batch stride T*3C), SCORES
     * (probabilities or their gradients: ld T, T*T, NH*T*T) or HEADS (out or dout: ld C, hs, T*C). No one stride spans
     * all B*NH, so the calls loop over the smaller of B and NH and batch the other: B calls of NH products, or, where
     * B > NH, NH calls of B (GPT-2 124M at B 64: 12 calls per product instead of 64). The same products either way.
     */
    private void gemmPerHead(int opA, int opB, int m, int n, int k, MemorySegment alpha, long a, int aKind, long b, int bKind,
                             long e, MemorySegment beta, long c, int cKind, long ce, int cType, int B, int T, int C, int NH,
                             boolean bf, String what) {
        boolean byHead = B > NH;
        int calls = byHead ? NH : B, batch = byHead ? B : NH;
        for (int i = 0; i < calls; i++) {
            gemmBatched(opA, opB, m, n, k, alpha,
                    a + i * outerStride(aKind, byHead, T, C, NH) * e, leadingDim(aKind, T, C), innerStride(aKind, byHead, T, C, NH),
                    b + i * outerStride(bKind, byHead, T, C, NH) * e, leadingDim(bKind, T, C), innerStride(bKind, byHead, T, C, NH),
                    beta, c + i * outerStride(cKind, byHead, T, C, NH) * ce, cType, leadingDim(cKind, T, C),
                    innerStride(cKind, byHead, T, C, NH), batch, bf, what);
        }
    }

    private static int leadingDim(int kind, int T, int C) {
        return kind == QKV ? 3 * C : kind == SCORES ? T : C;
    }

    /** Elements between two heads' matrices of one sequence. */
    private static long headStride(int kind, int T, int C, int NH) {
        return kind == SCORES ? (long) T * T : C / NH;
    }

    /** Elements between two sequences' matrices of one head. */
    private static long batchStride(int kind, int T, int C, int NH) {
        return kind == QKV ? 3L * T * C : kind == SCORES ? (long) NH * T * T : (long) T * C;
    }

    /** The stride between {@link #gemmPerHead}'s calls: per head where it loops over heads, else per sequence. */
    private static long outerStride(int kind, boolean byHead, int T, int C, int NH) {
        return byHead ? headStride(kind, T, C, NH) : batchStride(kind, T, C, NH);
    }

    /** The stride inside one call (the batch the call multiplies): per sequence where it loops over heads, else per head. */
    private static long innerStride(int kind, boolean byHead, int T, int C, int NH) {
        return byHead ? batchStride(kind, T, C, NH) : headStride(kind, T, C, NH);
    }

    /** {@link #gemm} as {@link #sgemmBatched} (strides in elements). */
    private void gemmBatched(int opA, int opB, int m, int n, int k, MemorySegment alpha, long a, int lda, long strideA,
                             long b, int ldb, long strideB, MemorySegment beta, long c, int cType, int ldc, long strideC, int batch,
                             boolean bf, String what) {
        if (!bf) {
            sgemmBatched(opA, opB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch, what);
            return;
        }
        wroteProduct(c, ldc, n, strideC, batch, cType == Cublas.CUDA_R_16BF ? 2 : Float.BYTES);
        int bf16 = Cublas.CUDA_R_16BF;
        timeline.begin();
        ctx.checkCublas(Cublas.cublasGemmStridedBatchedEx(ctx.cublas(), opA, opB, m, n, k, alpha, seg(a), bf16, lda, strideA,
                seg(b), bf16, ldb, strideB, beta, seg(c), cType, ldc, strideC, batch, Cublas.CUBLAS_COMPUTE_32F,
                Cublas.CUBLAS_GEMM_DEFAULT), what);
        timeline.end(what, KernelTimeline.Kind.CUBLAS, gemmFlops(m, n, k, batch));
    }

    /** Multiply-adds of a product times two (the FLOP count a profile's TFLOP/s is computed from). */
    private static double gemmFlops(int m, int n, int k, int batch) {
        return 2.0 * m * n * k * batch;
    }

    private static MemorySegment seg(long devicePtr) {
        return MemorySegment.ofAddress(devicePtr);
    }

    private static long ptr(Tensor t) {
        return t.data().address();
    }

    private static long blocks(long work, int perBlock) {
        return Math.max(1, (work + perBlock - 1) / perBlock);
    }

    /**
     * Row splits for a column-sum kernel (RMSNorm's dweight, the bias gradient) over N rows in {@code columnBlocks} blocks
     * of 32 columns: enough that columnBlocks x splits give about two blocks per SM, at most one split per 8 rows.
     */
    private int rowSplits(int N, int columnBlocks) {
        return (int) Math.min(blocks(N, 8), Math.min(65535, blocks(2L * ctx.multiprocessors(), columnBlocks)));
    }

    /** Grid for grid-stride kernels ({@link CudaContext#gridStride}). */
    private long gridStride(long n, int block) {
        return ctx.gridStride(n, block);
    }

    private static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException(name + ": must be >= 1 but was " + value);
    }

    private static void positive(String n1, int v1, String n2, int v2) {
        positive(n1, v1);
        positive(n2, v2);
    }

    private static void positive(String n1, int v1, String n2, int v2, String n3, int v3) {
        positive(n1, v1, n2, v2);
        positive(n3, v3);
    }

    /**
     * Refuses ids outside the vocabulary before a kernel indexes with them: a device-side count and one
     * 4-byte read (so one host synchronisation per encoder/classifier call, at the edges of a step).
     */
    private void checkIds(String name, Tensor ids, long n, int V, boolean allowNegative) {
        long bad = sumResult.data().address();
        CudaException.check(CudaDriver.cuMemsetD32Async(bad, 0, 1, ctx.stream()), "cuMemsetD32Async");
        ctx.kernel(Kernel.COUNT_BAD_IDS, gridStride(n, 256), 256).ptr(bad).ptr(ids).i64(n).i32(V).i32(allowNegative ? 1 : 0).go();
        CudaException.check(CudaDriver.cuMemcpyDtoHAsync_v2(pinnedResult, bad, 4, ctx.stream()), "cuMemcpyDtoH(count)");
        ctx.synchronize();
        int count = pinnedResult.get(ValueLayout.JAVA_INT, 0);
        if (count > 0) {
            throw new IllegalArgumentException(name + ": " + count + " of " + n + " ids outside the vocabulary [0, " + V + ")"
                    + (allowNegative ? " (negative targets are allowed: they mark ignored rows)" : ""));
        }
    }

    private static int headSize(int C, int NH) {
        if (NH <= 0 || C % NH != 0) throw new IllegalArgumentException("NH: C = " + C + " is not a multiple of NH = " + NH);
        return C / NH;
    }

    /** Rows of a (rows, C) device tensor. */
    private static int rows(String name, Tensor t, int C) {
        dev(name, t, DType.F32, C);
        return (int) (t.numel() / C);
    }

    /** {@link #dev} of F32 element {@code i} of an array argument; builds its name only to report a failure (hot paths). */
    private static void devAt(String array, int i, Tensor t, long n) {
        devAt(array, i, t, DType.F32, n);
    }

    private static void devAt(String array, int i, Tensor t, DType type, long n) {
        if (t == null || t.isHost() || t.dtype() != type || t.numel() < n) dev(array + "[" + i + "]", t, type, n);
    }

    /**
     * The element type of a decode attention's q, new rows or caches, output: F32, or BF16 (bf16 decode activations
     * and KV cache, the _bf16 kernels); all one type, checked by the callers' size checks against what this returns.
     */
    private static DType decodeType(String op, Tensor q, Tensor kv) {
        if (q == null || kv == null) return DType.F32; // the size checks name the null
        if (q.dtype() != kv.dtype() || (q.dtype() != DType.F32 && q.dtype() != DType.BF16)) {
            throw new IllegalArgumentException(op + ": q is " + q.dtype() + " but the keys are " + kv.dtype()
                    + " (q, the keys and values, the caches and out: all F32 or all BF16)");
        }
        return q.dtype();
    }

    /**
     * The checks every batched decode attention makes on its n rows: q and out (n, NH*hs), the new keys and values
     * (n, NKV*hs), all of {@link #decodeType}'s one type, which it returns.
     */
    private static DType decodeRowsOperands(String op, Tensor out, Tensor q, Tensor kNew, Tensor vNew, int n, int NH, int NKV,
                                            int hs) {
        DType e = decodeType(op, q, kNew);
        long qw = (long) n * NH * hs, kv = (long) n * NKV * hs;
        dev("out", out, e, qw);
        dev("q", q, e, qw);
        dev("kNew", kNew, e, kv);
        dev("vNew", vNew, e, kv);
        return e;
    }

    /** gqa_attention_decode_rows for F32 operands and caches, its _bf16 twin for BF16 ones. */
    private static Kernel decodeRowsKernel(DType e) {
        return e == DType.BF16 ? Kernel.GQA_ATTENTION_DECODE_ROWS_BF16 : Kernel.GQA_ATTENTION_DECODE_ROWS;
    }

    /** {@link #dev} for a tensor {@link #activationDType} lets be F32 or BF16. */
    private static void activation(String name, Tensor t, long n) {
        dev(name, t, t != null && isBf16(t) ? DType.BF16 : DType.F32, n);
    }

    /**
     * The element type of a backward op's gradients (attention's {@code dqkv} or Llama's dq, dk, dv; SwiGLU's dgate, dup)
     * and {@code dout}: all F32, or all BF16 with BF16 activations (the models' activation gradients in bf16 mode);
     * anything else is one clear error (the checks of the other gradients that follow hold them to the type returned).
     */
    private static DType gradientType(String op, String gradName, Tensor grad, Tensor dout, String inName, Tensor in) {
        if (grad == null || dout == null || in == null) return DType.F32; // dev() names the null
        sameType(op, gradName, grad, "dout", dout);
        if (isBf16(grad)) sameType(op, gradName, grad, inName, in);
        return grad.dtype();
    }

    private static void sameType(String op, String n1, Tensor t1, String n2, Tensor t2) {
        if (t1.dtype() != t2.dtype()) {
            throw new IllegalArgumentException(op + ": " + n1 + " is " + t1.dtype() + " but " + n2 + " is " + t2.dtype()
                    + " (both F32 or both BF16)");
        }
    }

    private static void dev(String name, Tensor t, DType type, long n) {
        if (t == null) throw new IllegalArgumentException(name + ": null");
        if (t.isHost()) throw new IllegalArgumentException(name + ": " + t + " is host memory; the cuda backend computes on device tensors from its newArena()");
        t.requireAtLeast(name, type, n);
    }
}
