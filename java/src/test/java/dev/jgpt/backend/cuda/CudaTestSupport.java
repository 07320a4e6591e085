package dev.jgpt.backend.cuda;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Skips a GPU test class with the reason where CUDA is not usable; with {@code -Djgpt.cuda.require=true}
 * (set by bench/gpu-check.sh on a GPU machine) an unusable GPU fails instead, so a GPU run can never
 * pass by skipping everything.
 */
public final class CudaTestSupport {
    private CudaTestSupport() {}

    public static void requireGpu() {
        CudaProbe probe = CudaProbe.get();
        if (Boolean.getBoolean("jgpt.cuda.require") && !probe.usable()) {
            fail("jgpt.cuda.require is set but CUDA is not usable: " + probe.reason());
        }
        assumeTrue(probe.usable(), () -> "skipped, no usable GPU: " + probe.reason());
    }
}
