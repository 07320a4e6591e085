package dev.jgpt.backend.cpu;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.BackendContractTest;

/** {@code cpu} (OpenBLAS + libjgpt) against the reference, op by op. */
class CpuBackendContractTest extends BackendContractTest {
    @Override
    protected Backend backendUnderTest() {
        NativeLibraries.Status s = NativeLibraries.status();
        // built with -DskipNative: libjgpt is simply not there, skip; any other load failure fails the test
        assumeFalse(!s.available() && s.reason().contains("not on the class path"), () -> "skipped: " + s.reason());
        return new CpuBackend(2);
    }
}
