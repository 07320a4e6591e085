package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.BackendContractTest;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The backend contract against {@link CudaBackend} over the stand-in driver ({@link FakeCuda}) without a
 * GPU: the Java side (cuBLAS transposes, leading dimensions and strides, pointer offsets, launch arguments,
 * device arenas, copies, id checks, chunked classifier, sums) and the real kernels/ source, run on the CPU
 * by the host emulation (src/test/c/cuda_host). Not cuBLAS itself, not GPU concurrency, not speed.
 */
class FakeDriverCudaBackendTest extends BackendContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected Backend backendUnderTest() {
        return FakeCuda.backend();
    }

    /**
     * {@code encoderForwardCheckedIds} trusts the caller's ids (no device check, no synchronisation): an id outside
     * the vocabulary gives a NaN row, never a read outside wte, where {@code encoderForward} refuses it.
     */
    @Test
    void encoderOfCheckedIdsGivesNaNRowsForAnIdOutsideTheVocabulary() {
        int V = 5, C = 3;
        try (CudaBackend cuda = FakeCuda.backend(); TensorArena host = TensorArena.host();
             TensorArena device = cuda.newArena()) {
            Tensor ids = host.allocate(DType.I32, 2), wte = host.allocate(DType.F32, V, C);
            ids.setInt(0, 2);
            ids.setInt(1, V);
            for (int i = 0; i < V * C; i++) wte.setFloat(i, i);
            Tensor dIds = device.allocate(DType.I32, 2), dWte = device.allocate(DType.F32, V, C),
                    dWpe = device.allocate(DType.F32, 2, C), out = device.allocate(DType.F32, 2, C),
                    hOut = host.allocate(DType.F32, 2, C);
            cuda.copy(dIds, ids);
            cuda.copy(dWte, wte);
            assertThatThrownBy(() -> cuda.encoderForward(out, dIds, dWte, dWpe, 1, 2, C))
                    .hasMessageContaining("outside the vocabulary");
            cuda.encoderForwardCheckedIds(out, dIds, dWte, dWpe, 1, 2, C);
            cuda.copy(hOut, out);
            float[] got = hOut.toFloatArray();
            assertThat(java.util.Arrays.copyOf(got, C)).containsExactly(6f, 7f, 8f);
            for (int c = 0; c < C; c++) assertThat(got[C + c]).isNaN();
        }
    }

    /**
     * A struct argument points a parameter slot at the struct staging area for one launch; a launch that fails
     * (here its argument check) must not leave it so for the next launch, whose own argument in that slot (the
     * encoder's C at slot 6) would otherwise be read from the struct.
     */
    @Test
    void aFailedLaunchWithAStructArgumentLeavesTheNextLaunchsArgumentsAlone() {
        int V = 4, C = 2, T = 3;
        try (CudaBackend cuda = FakeCuda.backend(); TensorArena host = TensorArena.host(); TensorArena device = cuda.newArena();
             java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment struct = a.allocate(160);
            struct.fill((byte) 0x7f);
            assertThatThrownBy(() -> cuda.context().kernel(Kernel.GQA_ATTENTION_DECODE_ROWS, 1, 32).ptr(0L).ptr(0L).ptr(0L)
                    .ptr(0L).ptr(0L).ptr(0L).struct(struct).go()).isInstanceOf(IllegalStateException.class).hasMessageContaining("arguments");
            Tensor ids = host.allocate(DType.I32, T), wte = host.allocate(DType.F32, V, C), wpe = host.allocate(DType.F32, T, C);
            for (int t = 0; t < T; t++) ids.setInt(t, t + 1);
            for (int i = 0; i < V * C; i++) wte.setFloat(i, i);
            for (int i = 0; i < T * C; i++) wpe.setFloat(i, 100 * i);
            Tensor dIds = device.allocate(DType.I32, T), dWte = device.allocate(DType.F32, V, C), dWpe = device.allocate(DType.F32, T, C);
            Tensor out = device.allocate(DType.F32, T, C), hOut = host.allocate(DType.F32, T, C);
            cuda.copy(dIds, ids);
            cuda.copy(dWte, wte);
            cuda.copy(dWpe, wpe);
            cuda.encoderForwardCheckedIds(out, dIds, dWte, dWpe, 1, T, C);
            cuda.copy(hOut, out);
            assertThat(hOut.toFloatArray()).containsExactly(2f, 103f, 204f, 305f, 406f, 507f);
        }
    }

    /**
     * As on a GPU, a launch may take at most 48 KiB of dynamic shared memory unless its kernel opted in
     * (CudaContext does for the few that need more): the stand-in refuses more, naming the kernel, so a kernel
     * that grows past it fails in CI rather than on the first GPU.
     */
    @Test
    void moreThan48KiBOfDynamicSharedMemoryNeedsTheKernelToOptIn() {
        try (CudaBackend cuda = FakeCuda.backend()) {
            assertThatThrownBy(() -> cuda.context().kernel(Kernel.TOPK_PARTIAL, 1, 1, 256, 1, 48 * 1024 + 4).ptr(0L).ptr(0L).ptr(0L)
                    .i32(1).i32(1).i32(1).i32(1).go()).isInstanceOf(CudaException.class).hasMessageContaining("topk_partial")
                    .hasMessageContaining("opt in");
        }
    }
}
