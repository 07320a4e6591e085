package dev.jgpt.model;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;

/**
 * The whole model on the cuda backend over the stand-in driver (no GPU): the model only ever touches
 * device tensors through the backend, and the backend's Java side gives the reference's gradients.
 */
class FakeDriverCudaGpt2Test extends Gpt2ContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected Backend newBackend() {
        return FakeCuda.backend();
    }
}
