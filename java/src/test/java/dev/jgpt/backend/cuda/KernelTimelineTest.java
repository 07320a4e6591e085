package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link KernelTimeline}: the read-out in the middle of a long step, misuse, FLOPs. On a GPU where one is
 * usable, else on the stand-in driver.
 */
class KernelTimelineTest {
    private static final boolean GPU = CudaProbe.get().usable();

    @BeforeAll
    static void gpuOrStandIn() {
        if (!GPU) FakeCuda.require();
    }

    private static CudaBackend backend() {
        return GPU ? CudaBackend.open() : FakeCuda.backend();
    }

    @Test
    void aLongStepIsReadOutInTheMiddleWithoutLosingCallsOrGrowingThePool() {
        try (CudaBackend cuda = backend(); TensorArena arena = cuda.newArena()) {
            Tensor a = arena.allocate(DType.F32, 1000), b = arena.allocate(DType.F32, 1000);
            KernelTimeline t = cuda.timeline();
            t.maxPendingForTests(4);
            long created = GPU ? t.eventsCreated() : FakeCuda.eventsCreated();
            t.beginStep();
            for (int i = 0; i < 11; i++) {
                cuda.zero(a);
                cuda.geluForward(b, a, 1000);
            }
            t.endStep();
            assertThat((GPU ? t.eventsCreated() : FakeCuda.eventsCreated()) - created).as("the pool holds at most 4 pairs").isEqualTo(8);
            KernelTimeline.Profile p = t.profile();
            assertThat(p.rows()).extracting(KernelTimeline.Row::name).containsExactlyInAnyOrder("memset (zero)", "gelu_forward");
            assertThat(p.rows()).allSatisfy(r -> assertThat(r.calls()).isEqualTo(11));
            assertThat(p.gpuMs()).isLessThanOrEqualTo(p.wallMs() * (1 + 1e-6));
        }
    }

    @Test
    void productsCountTheirFlopsAndMisuseIsRefused() {
        int N = 12, C = 8, OC = 5; // more rows than the row kernels take (CudaBackend.ROW_PRODUCT_ROWS): cuBLAS products
        try (CudaBackend cuda = backend(); TensorArena arena = cuda.newArena()) {
            Tensor out = arena.allocate(DType.F32, N * OC), inp = arena.allocate(DType.F32, N * C), w = arena.allocate(DType.F32, OC * C);
            KernelTimeline t = cuda.timeline();
            assertThatThrownBy(t::endStep).isInstanceOf(IllegalStateException.class).hasMessageContaining("beginStep first");
            t.beginStep();
            assertThatThrownBy(t::beginStep).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(t::reset).isInstanceOf(IllegalStateException.class);
            cuda.matmulForward(out, inp, w, null, N, C, OC);
            cuda.matmulForward(out, inp, w, null, N, C, OC);
            double wallMs = t.endStep();
            assertThat(wallMs).isPositive();
            KernelTimeline.Row r = t.profile().rows().getFirst();
            assertThat(r.name()).isEqualTo("matmulForward");
            assertThat(r.kind()).isEqualTo(KernelTimeline.Kind.CUBLAS);
            assertThat(r.calls()).isEqualTo(2);
            assertThat(r.flops()).isEqualTo(2 * 2.0 * N * C * OC);
            assertThat(t.profile().rows()).hasSize(1); // no bias: no add_bias launch
            t.reset();
            assertThat(t.profile().rows()).isEmpty();
            assertThat(t.profile().steps()).isZero();
        }
    }
}
