package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.reference.ReferenceBackend;

/** {@link LlamaTrainModel} on the plain-Java oracle. */
class ReferenceLlamaTrainTest extends LlamaTrainContractTest {
    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
