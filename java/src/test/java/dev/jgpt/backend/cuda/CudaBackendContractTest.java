package dev.jgpt.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.BackendContractTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@code cuda} against the reference, op by op, with the same tolerances as {@code cpu} (1e-4 relative,
 * fp32, TF32 off). Runs whenever a GPU is usable; elsewhere every test is reported as skipped with the
 * reason (for example "no libcuda.so.1: no NVIDIA driver ...").
 */
class CudaBackendContractTest extends BackendContractTest {
    /** Skips the whole class before any backend or arena is opened. */
    @BeforeAll
    static void requireGpu() {
        dev.jgpt.backend.cuda.CudaTestSupport.requireGpu();
    }

    @Override
    protected Backend backendUnderTest() {
        CudaProbe probe = CudaProbe.get();
        assumeTrue(probe.usable(), () -> "skipped, no usable GPU: " + probe.reason());
        return CudaBackend.open();
    }
}
