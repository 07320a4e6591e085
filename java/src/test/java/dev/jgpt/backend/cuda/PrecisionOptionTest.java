package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backends;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.train.TrainConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --precision} ({@code jgpt bench train-step}) and the {@code precision} key of {@code jgpt train}. */
class PrecisionOptionTest {

    @Test
    void onlyTheCudaBackendTakesTf32AndBf16() {
        try (ReferenceBackend ref = new ReferenceBackend()) {
            Backends.applyPrecision(ref, null, "--precision");
            Backends.applyPrecision(ref, "fp32", "--precision");
            assertThatThrownBy(() -> Backends.applyPrecision(ref, "bf16", "--precision"))
                    .isInstanceOf(JgptException.class)
                    .hasMessage("--precision bf16 needs the cuda backend; reference computes in fp32 only (use --precision fp32 or leave it out)");
            assertThatThrownBy(() -> Backends.applyPrecision(ref, "fp16", "--precision"))
                    .isInstanceOf(JgptException.class)
                    .hasMessage("--precision: unknown precision 'fp16', expected fp32, tf32 or bf16");
        }
    }

    @Test
    void setsTheCudaBackendsMath() {
        FakeCuda.require();
        try (CudaBackend cuda = FakeCuda.backend()) {
            assertThat(cuda.math()).isEqualTo(GemmMath.FP32);
            Backends.applyPrecision(cuda, "BF16", "--precision");
            assertThat(cuda.math()).isEqualTo(GemmMath.BF16);
            Backends.applyPrecision(cuda, "tf32", "--precision");
            assertThat(cuda.math()).isEqualTo(GemmMath.TF32);
            Backends.applyPrecision(cuda, null, "--precision"); // left out: unchanged
            assertThat(cuda.math()).isEqualTo(GemmMath.TF32);
        }
    }

    @Test
    void trainConfigValidatesPrecision() {
        assertThat(TrainConfig.load(null, Map.of("data", "d", "precision", "bf16", "device", "cuda")).precision).isEqualTo("bf16");
        assertThat(TrainConfig.load(null, Map.of("data", "d")).precision).isNull();
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("data", "d", "precision", "half")))
                .isInstanceOf(JgptException.class).hasMessageContaining("'precision' must be fp32, tf32 or bf16, got 'half'");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("data", "d", "precision", "bf16", "device", "cpu")))
                .isInstanceOf(JgptException.class).hasMessageContaining("'precision: bf16' needs 'device: cuda'");
    }

    @Test
    void gpuPeaksByNameAndPrecision() {
        assertThat(GpuPeak.gflops("NVIDIA H100 80GB HBM3", GemmMath.BF16)).hasValue(989_400);
        assertThat(GpuPeak.gflops("NVIDIA H100 PCIe", GemmMath.FP32)).hasValue(51_200);
        assertThat(GpuPeak.gflops("NVIDIA H200", GemmMath.TF32)).hasValue(494_700);
        assertThat(GpuPeak.gflops("jgpt fake GPU (host memory)", GemmMath.FP32)).isEmpty();
        assertThat(GpuPeak.gflops("NVIDIA H100 NVL", GemmMath.FP32)).isEmpty();
    }
}
