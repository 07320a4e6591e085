package dev.jgpt.model;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.reference.ReferenceBackend;

/** The whole-model contract on the plain-Java oracle. */
class ReferenceGpt2Test extends Gpt2ContractTest {
    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
