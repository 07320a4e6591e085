package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cpu.CpuBackend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link LlamaTrainModel} on the cpu backend (sgemm + libjgpt). */
class CpuLlamaTrainTest extends LlamaTrainContractTest {
    @Override
    protected Backend newBackend() {
        String why = CpuBackend.unavailableReason();
        assumeTrue(why == null || !why.contains("not on the class path"), () -> "skipped: " + why);
        return new CpuBackend(2);
    }
}
