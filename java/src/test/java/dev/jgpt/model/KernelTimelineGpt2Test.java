package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.TimingBackend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.CudaProbe;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.cuda.GemmMath;
import dev.jgpt.backend.cuda.KernelTimeline;
import dev.jgpt.memory.TensorArena;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cuda backend's per-kernel timeline over GPT-2 training steps: on a GPU where one is usable
 * ({@code bench/gpu-check.sh} runs it there), else on the stand-in driver (real kernels under the host
 * emulation; its events stamp the host clock and are counted). The calls it counts per kernel and product
 * must be exactly what the model launches: the model runs on a {@link TimingBackend} over the cuda backend,
 * which counts the Backend ops, and each op's kernels and products are derived from those counts and the
 * model's shape (layers, batch). Only the times' consistency is checked (no timing asserts).
 */
class KernelTimelineGpt2Test {
    private static final GptConfig CFG = new GptConfig(17, 8, 2, 2, 8);
    private static final int B = 2, T = 4, STEPS = 3;

    private static final boolean GPU = CudaProbe.get().usable();

    @BeforeAll
    static void gpuOrStandIn() {
        if (!GPU) FakeCuda.require();
    }

    /** The training step's cuBLAS products at this class's B * T = 8 rows, which the row kernels would otherwise take. */
    private static CudaBackend backend(GemmMath math) {
        CudaBackend b = GPU ? CudaBackend.open() : FakeCuda.backend(math);
        b.setMath(math);
        b.setRowProducts(false);
        return b;
    }

    /** Events the stand-in driver has created so far; on a GPU the timeline's own count. */
    private static long eventsCreated(CudaBackend cuda) {
        return GPU ? cuda.timeline().eventsCreated() : FakeCuda.eventsCreated();
    }

    /** cuBLAS products with separate bias, GELU and bias-gradient kernels ({@code JGPT_CUDA_LT=0}). */
    @Test
    void profileNamesEveryKernelWithTheCallsTheModelMakes() {
        profileMatchesTheModel(false);
    }

    /**
     * cuBLASLt epilogues: no {@code add_bias}, {@code gelu_forward}, {@code gelu_backward} or {@code matmul_backward_bias}
     * launch; each bias gradient is one small {@code residual_forward} (BGRADB writes, the contract accumulates).
     */
    @Test
    void ltProfileHasNoBiasOrGeluKernels() {
        profileMatchesTheModel(true);
    }

    private void profileMatchesTheModel(boolean lt) {
        CudaBackend cuda = backend(GemmMath.FP32); // closed by the TimingBackend over it
        cuda.setLt(lt);
        assertThat(cuda.lt()).as("cuBLASLt in use").isEqualTo(lt);
        try (TimingBackend ops = new TimingBackend(cuda);
             Gpt2 model = new Gpt2(ops, CFG, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            KernelTimeline timeline = cuda.timeline();
            timeline.beginStep(); // warm-up: grows the event pool
            step.run();
            timeline.endStep();
            timeline.reset();
            ops.reset();
            long eventsBefore = eventsCreated(cuda);

            for (int i = 0; i < STEPS; i++) {
                timeline.beginStep();
                step.run();
                timeline.endStep();
            }
            assertThat(eventsCreated(cuda) - eventsBefore).as("cuEventCreate calls in profiled steps after warm-up").isZero();

            KernelTimeline.Profile p = timeline.profile();
            Map<String, Long> calls = new HashMap<>();
            p.rows().forEach(r -> calls.put(r.name(), r.calls() / STEPS));
            p.rows().forEach(r -> assertThat(r.calls() % STEPS).as(r.name() + ": the same calls every step").isZero());
            Map<String, Long> op = new HashMap<>();
            ops.totals().forEach((name, t) -> op.put(name, t[1] / STEPS));
            for (String name : new String[] {"matmulGeluForward", "matmulBackward", "matmulBackwardGelu", "zero"}) op.putIfAbsent(name, 0L);

            // the Backend ops per step, from the model's shape
            int L = CFG.layers();
            assertThat(op.get("matmulForward")).isEqualTo(3L * L);
            assertThat(op.get("matmulGeluForward")).isEqualTo(L);
            assertThat(op.get("matmulBackwardOverwrite")).as("every product input gradient is written, not accumulated").isEqualTo(3L * L);
            assertThat(op.get("matmulBackward")).isZero();
            assertThat(op.get("matmulBackwardGelu")).isEqualTo(L);
            assertThat(op.get("attentionForward")).isEqualTo(L);
            assertThat(op.get("residualLayernormForward")).isEqualTo(2L * L);
            assertThat(op.get("layernormBackward")).isEqualTo(2L * L + 1);

            long rows = ops.classifierRows(B * T, CFG.vocabSize()), chunks = (B * T + rows - 1) / rows;
            long classifierCalls = op.get("classifier(fwd+bwd)");
            long fwd = op.get("matmulForward"), fwdGelu = op.get("matmulGeluForward");
            long bwd = op.get("matmulBackwardOverwrite"), bwdGelu = op.get("matmulBackwardGelu");
            Map<String, Long> expected = new HashMap<>();
            expected.put("encoder_forward", op.get("encoderForward"));
            expected.put("encoder_backward_wte", op.get("encoderBackward"));
            expected.put("encoder_backward_wpe", op.get("encoderBackward"));
            // dwte's positions sorted by token: B*T keys within one shared-memory chunk (2048) take one launch
            assertThat(B * T).isLessThanOrEqualTo(2048);
            expected.put("encoder_sort_keys", op.get("encoderBackward"));
            expected.put("layernorm_forward", op.get("layernormForward"));
            expected.put("fused_residual_layernorm_forward", op.get("residualLayernormForward"));
            expected.put("layernorm_backward", op.get("layernormBackward"));
            // the layernorm blocks' partial sums added in order; without cuBLASLt each bias gradient's row splits too
            expected.put("add_partial_sums", op.get("layernormBackward") + (lt ? 0 : bwd + bwdGelu));
            if (lt) {
                expected.put("matmulForward (lt bias)", fwd); // every training matmul has a bias
                expected.put("matmulGeluForward (lt gelu+bias)", fwdGelu);
                expected.put("matmulBackward dinp", bwd);
                expected.put("matmulBackward dinp (lt dgelu)", bwdGelu);
                expected.put("matmulBackward dweight (lt bgrad)", bwd + bwdGelu);
                expected.put("residual_forward", bwd + bwdGelu); // dbias += the BGRADB scratch
                expected.put("memset (zero)", op.get("zero"));
            } else {
                expected.put("matmulForward", fwd + fwdGelu);
                expected.put("add_bias", fwd + fwdGelu); // every training matmul has a bias
                expected.put("gelu_forward", fwdGelu);
                expected.put("matmulBackward dinp", bwd + bwdGelu);
                expected.put("matmulBackward dweight", bwd + bwdGelu);
                expected.put("matmul_backward_bias", bwd + bwdGelu);
                expected.put("gelu_backward", bwdGelu);
                expected.put("memset (zero)", op.get("zero") + bwdGelu); // the default zeroes dpre (dgelu is overwritten)
            }
            int perProduct = Math.min(B, CFG.heads()); // strided-batched calls: a loop over the fewer of sequences and heads
            expected.put("attention QK^T", perProduct * op.get("attentionForward"));
            expected.put("attention att.V", perProduct * op.get("attentionForward"));
            expected.put("attention_softmax_forward", op.get("attentionForward"));
            for (String g : new String[] {"attention datt", "attention dV", "attention dQ", "attention dK"}) {
                expected.put(g, perProduct * op.get("attentionBackwardOverwrite"));
            }
            expected.put("attention_softmax_backward", op.get("attentionBackwardOverwrite"));
            expected.put("classifier logits", chunks * classifierCalls);
            expected.put("classifier_softmax_xent", chunks * classifierCalls);
            expected.put("classifier dx", chunks * classifierCalls);
            expected.put("classifier dwte", chunks * classifierCalls);
            // the id checks (tokens at the encoder, targets at the classifier) and the device sums
            expected.put("count_bad_ids", op.get("encoderForward") + classifierCalls);
            expected.put("sum_partials", classifierCalls + op.get("sumSquares"));
            expected.put("sum_finish", classifierCalls + op.get("sumSquares"));
            expected.put("adamw_update", op.get("adamw"));
            expected.put("memcpy HtoD", op.get("copy")); // tokens and targets
            assertThat(calls).as("calls per step by name").isEqualTo(expected);
            assertThat(op.get("adamw")).as("one AdamW launch per parameter view").isEqualTo(model.layout().views().size());

            // kinds, FLOPs and times
            for (KernelTimeline.Row r : p.rows()) {
                assertThat(r.ms()).as(r.name() + " ms").isGreaterThanOrEqualTo(0);
                assertThat(r.kind()).as(r.name()).isEqualTo(r.name().contains("_") ? KernelTimeline.Kind.KERNEL
                        : r.name().startsWith("mem") ? KernelTimeline.Kind.COPY : KernelTimeline.Kind.CUBLAS);
                assertThat(r.flops() > 0).as(r.name() + " has FLOPs").isEqualTo(r.kind() == KernelTimeline.Kind.CUBLAS);
            }
            long C = CFG.channels(), N = (long) B * T;
            double matmulFlops = 2.0 * N * C * (3 * C + C + 4 * C + 4 * C) * L; // qkv, attproj, fc, fcproj
            double productFlops = lt ? row(p, "matmulForward (lt bias)").flops() + row(p, "matmulGeluForward (lt gelu+bias)").flops()
                    : row(p, "matmulForward").flops();
            assertThat(productFlops / STEPS).isEqualTo(matmulFlops);
            assertThat(row(p, "attention QK^T").flops() / STEPS).isEqualTo(2.0 * B * CFG.heads() * T * T * (C / CFG.heads()) * L);
            assertThat(p.steps()).isEqualTo(STEPS);
            assertThat(p.gpuMs()).as("events measure real time (the stand-in's: the host clock)").isPositive();
            assertThat(p.gpuMs()).as("GPU busy time within the wall time").isLessThanOrEqualTo(p.wallMs() * (1 + 1e-6));
            assertThat(p.rows()).isSortedAccordingTo((a, b) -> Double.compare(b.ms(), a.ms()));
        }
    }

    @Test
    void offRecordsNothingAndClosingDestroysTheEvents() {
        long liveBefore = GPU ? 0 : FakeCuda.eventsLive();
        try (CudaBackend cuda = backend(GemmMath.FP32); Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            long created = eventsCreated(cuda);
            step.run();
            KernelTimeline timeline = cuda.timeline();
            assertThat(timeline.recording()).isFalse();
            assertThat(eventsCreated(cuda)).as("no events without a recorded step").isEqualTo(created);
            assertThat(timeline.profile().rows()).isEmpty();

            timeline.beginStep();
            step.run();
            timeline.endStep();
            KernelTimeline.Profile one = timeline.profile();
            assertThat(one.rows()).isNotEmpty();
            assertThat(eventsCreated(cuda) - created).as("two events per timed call, made once")
                    .isEqualTo(2 * one.rows().stream().mapToLong(KernelTimeline.Row::calls).sum());
            step.run(); // not recorded
            assertThat(timeline.profile()).as("a step outside beginStep/endStep adds nothing").isEqualTo(one);
            if (!GPU) assertThat(FakeCuda.eventsLive() - liveBefore).isPositive();
        }
        if (!GPU) assertThat(FakeCuda.eventsLive()).as("events left after the backend closed").isEqualTo(liveBefore);
    }

    /** Recording allocates no Java heap per call: a profiled step allocates about what a plain step does. */
    @Test
    void profiledStepsAllocateNoMoreHeapThanPlainOnes() {
        try (CudaBackend cuda = backend(GemmMath.FP32); Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            KernelTimeline timeline = cuda.timeline();
            Runnable profiled = () -> {
                timeline.beginStep();
                step.run();
                timeline.endStep();
            };
            for (int i = 0; i < 60; i++) { // class loading, lazy state, JIT, the event pool
                step.run();
                profiled.run();
            }
            int n = 10;
            long t0 = AllocationProbe.threadAllocatedBytes();
            for (int i = 0; i < n; i++) step.run();
            long t1 = AllocationProbe.threadAllocatedBytes();
            for (int i = 0; i < n; i++) profiled.run();
            long t2 = AllocationProbe.threadAllocatedBytes();
            long plain = (t1 - t0) / n, withTimeline = (t2 - t1) / n;
            long callsPerStep = timeline.profile().rows().stream().mapToLong(KernelTimeline.Row::calls).sum() / timeline.profile().steps();
            System.out.println("heap bytes per training step (" + (GPU ? "GPU" : "stand-in driver") + "): plain " + plain + ", profiled " + withTimeline
                    + " (" + callsPerStep + " timed calls per step)");
            // 16 bytes per timed call would already exceed this margin
            assertThat(withTimeline - plain).as("extra heap bytes per profiled step").isLessThan(Math.min(1024, 16 * callsPerStep));
        }
    }

    /**
     * bf16 mode: the operand conversions show up as their own kernel, the products keep their names; weights are
     * read from the bf16 copy of the parameters, which the first step converts once and AdamW keeps current.
     */
    @Test
    void bf16ProfileShowsTheConversions() {
        try (CudaBackend cuda = backend(GemmMath.BF16); Gpt2 model = new Gpt2(cuda, CFG, B, T);
             TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            cuda.timeline().beginStep();
            step.run();
            cuda.timeline().endStep();
            KernelTimeline.Profile p = cuda.timeline().profile();
            int L = CFG.layers();
            assertThat(row(p, cuda.lt() ? "matmulForward (lt bias)" : "matmulForward").calls()).isEqualTo(3L * L);
            // the activations products read are stored as bf16 (Backend.activationDType), so what is converted is fp32:
            // only the one conversion of the whole parameter buffer (initWeights uploaded it). Not the classifier's
            // dlogits (its softmax kernel writes them in place, in bf16, over the bf16 logits), attention's probabilities
            // and d(scores) (Backend.attentionStateDType), nor any activation gradient: d(fch) (the fcproj backward's
            // epilogue), the layernorm and attention output gradients and dqkv (the products and the attention backward)
            // and the residual stream's (its bf16 copy, written by the layernorm backwards) are made in bf16
            assertThat(model.finalHidden().dtype()).isEqualTo(dev.jgpt.memory.DType.BF16);
            long gradients = 0;
            assertThat(row(p, "f32_to_bf16").calls()).isEqualTo(gradients + 1);
            assertThat(row(p, "attention_softmax_forward_bf16").calls()).isEqualTo(L);
            assertThat(row(p, "attention_softmax_backward_bf16").calls()).isEqualTo(L);
            assertThat(row(p, "adamw_update_bf16").calls()).isEqualTo(ParameterLayout.of(CFG).views().size());
        }
    }

    private static KernelTimeline.Row row(KernelTimeline.Profile p, String name) {
        return p.rows().stream().filter(r -> r.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + name + " in " + p.rows()));
    }
}
