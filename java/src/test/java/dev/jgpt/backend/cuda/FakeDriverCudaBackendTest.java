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
}
