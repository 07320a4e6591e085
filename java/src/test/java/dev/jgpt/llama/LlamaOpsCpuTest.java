package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.cpu.NativeLibraries;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link LlamaOpsInference} on the cpu backend (OpenBLAS + libjgpt ops) against {@link ReferenceLlama}, and
 * against libjgpt's native decoder {@link LlamaInference} in f32 (what {@code --device cpu} runs).
 */
class LlamaOpsCpuTest extends LlamaOpsContract {
    @BeforeAll
    static void needsNative() {
        assumeThat(NativeLibraries.status().available()).as(NativeLibraries.status().reason()).isTrue();
    }

    @Override
    protected Backend newBackend() {
        return new CpuBackend();
    }

    @Test
    void matchesTheNativeDecoder() {
        for (LlamaConfig cfg : new LlamaConfig[] {GQA, MHA}) {
            try (Arena a = Arena.ofShared()) {
                LlamaWeights w = RandomLlama.create(cfg, 11, a);
                Trace expected;
                try (LlamaInference nat = new LlamaInference(w, DecodeDType.F32, 32, 1, null)) {
                    expected = run(nat);
                }
                Backend b = newBackend();
            try (LlamaOpsInference m = new LlamaOpsInference(b, w, b)) {
                    assertSameTrace("cpu ops vs native decoder, NKV=" + cfg.kvHeads(), expected, run(m));
                    assertThat(m.deviceLogits()).as("host logits need no device path").isNull();
                }
            }
        }
    }
}
