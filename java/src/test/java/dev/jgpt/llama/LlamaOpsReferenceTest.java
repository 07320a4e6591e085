package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.reference.ReferenceBackend;

/** {@link LlamaOpsInference} on the reference backend (plain Java) against {@link ReferenceLlama}. */
class LlamaOpsReferenceTest extends LlamaOpsContract {
    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
