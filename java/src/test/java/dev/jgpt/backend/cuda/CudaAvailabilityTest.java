package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Runs everywhere: without a GPU the backend must say why, in one line, and never crash. */
class CudaAvailabilityTest {

    @Test
    void probeAnswersWithAReasonOrDevices() {
        CudaProbe p = CudaProbe.get();
        if (p.usable()) {
            assertThat(p.devices()).isNotEmpty();
            assertThat(p.driverVersion()).isGreaterThanOrEqualTo(CudaProbe.MIN_DRIVER_VERSION);
        } else {
            assertThat(p.reason()).isNotBlank().doesNotContain("\n");
            assertThatThrownBy(CudaBackend::open).isInstanceOf(IllegalStateException.class).hasMessageContaining(p.reason());
        }
        assertThat(p.describe()).first().asString().startsWith("cuda: ");
    }

    @Test
    void withoutADriverTheReasonNamesLibcuda() {
        var drv = CudaLibraries.driver();
        if (!drv.ok()) {
            assertThat(drv.reason()).startsWith("no libcuda.so.1: no NVIDIA driver");
            assertThat(CudaProbe.get().reason()).isEqualTo(drv.reason());
        }
    }

    @Test
    void cublasSearchIncludesTheUsualPlaces() {
        assertThat(CudaLibraries.cublasDirectories()).extracting(java.nio.file.Path::toString)
                .contains("/usr/local/cuda/lib64");
    }
}
