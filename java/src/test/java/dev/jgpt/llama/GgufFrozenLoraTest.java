package dev.jgpt.llama;

import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.io.GgufFile;
import dev.jgpt.memory.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * LoRA over matrices left in a GGUF file's blocks ({@link GgufFrozenMatrices}, QLoRA's idea on the CPU) against LoRA over
 * the same file decoded to float32: the same losses, gradients and steps (products of decoded tiles vs one sgemm: float
 * rounding apart), the same merged checkpoint byte for byte, and a flat buffer without the matrices. The file: random
 * Q4_K / Q6_K / Q5_K / Q4_0 / Q8_0 / F16 blocks ({@link GgufInPlaceTest#write}).
 */
class GgufFrozenLoraTest {
    @TempDir
    static Path dir;
    static Path file;
    static final LlamaConfig C = GgufInPlaceTest.C;

    @BeforeAll
    static void write() {
        assumeThat(NativeLibraries.status().available()).as(NativeLibraries.status().reason()).isTrue();
        file = dir.resolve("frozen.gguf");
        GgufInPlaceTest.write(file, C, 11, false);
    }

    private static void randomAdapters(LoraAdapters lora) {
        Random r = new Random(5);
        Tensor h = lora.host();
        for (long i = 0; i < h.numel(); i++) h.setFloat(i, (float) (r.nextGaussian() * 0.05));
        lora.upload(h);
    }

    /** max |a - b| over max |b| (b: the float32 path's values). */
    private static double maxRel(float[] a, float[] b) {
        return KvCacheHalfTest.relative(b, a);
    }

    @Test
    void blocksTrainAdaptersAsTheirFloat32ValuesDo() throws Exception {
        int B = 2, T = 16;
        Random r = new Random(2);
        int[] tokens = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = r.nextInt(C.vocabSize());
            targets[i] = i % 5 == 0 ? -1 : r.nextInt(C.vocabSize());
        }
        LoraSpec spec = new LoraSpec(4, 8, LoraSpec.ALL);
        try (CpuBackend cpu = new CpuBackend(); Arena a = Arena.ofShared(); Arena mapped = Arena.ofShared()) {
            cpu.setThreads(2);
            GgufFile g = GgufFile.open(file, mapped);
            assertThat(GgufFrozenMatrices.quantized(g, C)).isTrue();
            try (LlamaTrainModel blocks = new LlamaTrainModel(cpu, C, B, T, spec, GgufFrozenMatrices.open(file, C, 2));
                 LlamaTrainModel floats = new LlamaTrainModel(cpu, C, B, T, spec)) {
                LlamaGgufImport.stream(g, a, 0).copyInto(blocks.weights());
                floats.weights().copyFrom(LlamaGgufImport.load(g, a, 0));
                randomAdapters(blocks.lora());
                randomAdapters(floats.lora());
                assertThat(blocks.offHeapBytes().get("params")).as("no float32 matrices")
                        .isLessThan(floats.offHeapBytes().get("params") / 2);
                assertThat(blocks.offHeapBytes().get("weightsMapped")).isPositive();
                assertThat(blocks.frozenParameterCount()).isEqualTo(floats.frozenParameterCount()).isEqualTo(C.parameterCount());
                for (int step = 0; step < 3; step++) {
                    blocks.zeroGrad();
                    floats.zeroGrad();
                    float lb = blocks.forwardBackward(tokens, targets, B, T), lf = floats.forwardBackward(tokens, targets, B, T);
                    assertThat((double) lb).as("loss at step %d", step).isCloseTo(lf, org.assertj.core.data.Offset.offset(1e-4 * lf));
                    assertThat(maxRel(blocks.gradients().toFloatArray(), floats.gradients().toFloatArray()))
                            .as("adapter gradients at step %d", step).isLessThan(1e-3);
                    blocks.adamwStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0f, 1f);
                    floats.adamwStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0f, 1f);
                }
                // the samples' generator and the checkpoint: the training forward, and merged float32 matrices
                try (TrainModelLm lm = new TrainModelLm(blocks); TrainModelLm lf = new TrainModelLm(floats)) {
                    assertThat(maxRel(lm.prefill(new int[] {1, 5, 9}).toFloatArray(), lf.prefill(new int[] {1, 5, 9}).toFloatArray()))
                            .isLessThan(1e-4);
                }
                Path mb = dir.resolve("blocks.bin"), mf = dir.resolve("floats.bin");
                blocks.writeLlama2c(mb);
                floats.writeLlama2c(mf);
                float[] ab = blocks.lora().host().toFloatArray(), af = floats.lora().host().toFloatArray();
                if (java.util.Arrays.equals(ab, af)) {
                    assertThat(Files.readAllBytes(mb)).isEqualTo(Files.readAllBytes(mf));
                } else { // the adapters drifted apart by float rounding: the same file but for them
                    assertThat(Files.size(mb)).isEqualTo(Files.size(mf));
                }
                try (Arena m = Arena.ofConfined()) {
                    LlamaWeights wb = Llama2cCheckpoint.open(mb, m), wf = Llama2cCheckpoint.open(mf, m);
                    assertThat(wb.tokenEmbedding().mismatch(wf.tokenEmbedding())).isEqualTo(-1);
                    float[] qb = wb.wq().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), qf = wf.wq().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                    assertThat(maxRel(qb, qf)).as("merged wq").isLessThan(1e-4);
                }
            }
        }
    }
}
