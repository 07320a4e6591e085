package dev.jgpt.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cpu.CpuBackend;

/** The whole model on the {@code cpu} backend: gradients, learning, inference (the model helper's contract). */
class CpuGpt2Test extends Gpt2ContractTest {
    @Override
    protected Backend newBackend() {
        String why = CpuBackend.unavailableReason();
        assumeTrue(why == null || !why.contains("not on the class path"), () -> "skipped: " + why);
        return new CpuBackend(2);
    }
}
