package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.generate.DeviceLogits;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.AllocationProbe;
import dev.jgpt.model.Gpt2Inference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link DecodeGraphContract} on the stand-in driver ({@link FakeCuda}: stream capture records kernel launches,
 * copies and cuBLAS calls with their argument values, refuses synchronising and allocating calls, and replays the
 * recording at {@code cuGraphLaunch}), plus what only the stand-in can count: the driver calls the host makes per token.
 * GPU twin: {@link CudaDecodeGraphTest}.
 */
class FakeDriverCudaDecodeGraphTest extends DecodeGraphContract {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend();
    }

    @Override
    protected long liveGraphs() {
        return FakeCuda.count(FakeCuda.Counter.GRAPHS_LIVE);
    }

    @Override
    protected long invalidatedCaptures() {
        return FakeCuda.count(FakeCuda.Counter.INVALIDATED);
    }

    /** Host driver calls over k device-sampled greedy tokens: [kernels, cuBLAS, copies, graph launches]. */
    private long[] hostCalls(boolean graphs, int k) {
        cuda.setGraphs(graphs);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            DeviceLogits d = lm.deviceLogits();
            int[] id = new int[1];
            float[] val = new float[1];
            d.prefillOnDevice(PROMPT_A);
            for (int s = 0; s < 2; s++) {
                d.topCandidates(CFG.vocabSize(), 1, id, val);
                d.stepOnDevice(id[0]);
            }
            FakeCuda.Counter[] which = {FakeCuda.Counter.KERNELS, FakeCuda.Counter.CUBLAS, FakeCuda.Counter.COPIES,
                    FakeCuda.Counter.GRAPH_LAUNCHES};
            long[] before = new long[which.length];
            for (int i = 0; i < which.length; i++) before[i] = FakeCuda.count(which[i]);
            for (int s = 0; s < k; s++) {
                d.topCandidates(CFG.vocabSize(), 1, id, val);
                d.stepOnDevice(id[0]);
            }
            long[] delta = new long[which.length];
            for (int i = 0; i < which.length; i++) delta[i] = FakeCuda.count(which[i]) - before[i];
            return delta;
        }
    }

    @Test
    void aReplayedTokenIsOneGraphLaunchTwoTopKKernelsAndTwoCopies() {
        weights(13);
        int k = 5;
        long[] g = hostCalls(true, k), e = hostCalls(false, k);
        System.out.printf("stand-in host calls per token (L=%d): graphs: %d kernels, %d cuBLAS, %d copies, %d graph launches;"
                + " eager: %d kernels, %d cuBLAS, %d copies, %d graph launches%n", CFG.layers(), g[0] / k, g[1] / k, g[2] / k,
                g[3] / k, e[0] / k, e[1] / k, e[2] / k, e[3] / k);
        assertThat(g[3]).as("graph launches").isEqualTo(k);
        assertThat(g[1]).as("cuBLAS calls from the host").isZero();
        assertThat(g[0]).as("kernels from the host: the top-k's two").isEqualTo(2L * k);
        assertThat(g[2]).as("copies: the step upload and the candidates back").isLessThanOrEqualTo(2L * k);
        assertThat(e[3]).isZero();
        assertThat(e[0] + e[1]).as("eager launches and products per token").isGreaterThan(10L * CFG.layers() * k);
    }

    /** Stepped with its top-k (the sampler's k known): one upload, one graph launch and nothing else from the host. */
    @Test
    void aTokenSteppedWithItsTopKIsOneUploadOneGraphLaunchAndNoKernel() {
        weights(13);
        int k = 5;
        cuda.setGraphs(true);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            int[] id = new int[1];
            float[] val = new float[1];
            DeviceLogits d = primedTopKGraph(lm, id, val);
            FakeCuda.Counter[] which = {FakeCuda.Counter.KERNELS, FakeCuda.Counter.CUBLAS, FakeCuda.Counter.COPIES,
                    FakeCuda.Counter.GRAPH_LAUNCHES, FakeCuda.Counter.SYNCS};
            long[] before = new long[which.length];
            for (int i = 0; i < which.length; i++) before[i] = FakeCuda.count(which[i]);
            long heap = AllocationProbe.threadAllocatedBytes();
            for (int s = 0; s < k; s++) d.stepTopCandidates(id[0], CFG.vocabSize(), 1, id, val);
            long bytes = AllocationProbe.threadAllocatedBytes() - heap;
            long[] g = new long[which.length];
            for (int i = 0; i < which.length; i++) g[i] = FakeCuda.count(which[i]) - before[i];
            System.out.printf("stand-in host calls per token with the top-k in the graph (L=%d): %d kernels, %d cuBLAS,"
                    + " %d copies, %d graph launches, %d waits; heap bytes per token %d%n", CFG.layers(), g[0] / k, g[1] / k,
                    g[2] / k, g[3] / k, g[4] / k, bytes / k);
            assertThat(g[3]).as("graph launches").isEqualTo(k);
            assertThat(g[0]).as("kernels from the host").isZero();
            assertThat(g[1]).as("cuBLAS calls from the host").isZero();
            assertThat(g[2]).as("copies from the host: the step upload (the candidates come back inside the graph)").isEqualTo(k);
            assertThat(g[4]).as("one wait per token, for the candidates").isEqualTo(k);
            assertThat(bytes / k).as("heap bytes per token").isLessThan(64);
            assertThat(lm.graphSteps()).isEqualTo(k + 1);
        }
    }

    @Test
    void aReplayedTokenAllocatesNoHeapAndNoDeviceMemory() {
        weights(17);
        cuda.setGraphs(true);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            DeviceLogits d = lm.deviceLogits();
            int[] id = new int[1];
            float[] val = new float[1];
            for (int round = 0; round < 6; round++) { // class loading, capture, JIT
                lm.reset();
                d.prefillOnDevice(PROMPT_A);
                for (int s = 0; s < 6; s++) {
                    d.topCandidates(CFG.vocabSize(), 1, id, val);
                    d.stepOnDevice(id[0]);
                }
            }
            lm.reset();
            d.prefillOnDevice(PROMPT_A);
            long replays = lm.graphSteps(), allocations = FakeCuda.deviceAllocations();
            long heap = AllocationProbe.threadAllocatedBytes();
            for (int s = 0; s < 20; s++) {
                d.topCandidates(CFG.vocabSize(), 1, id, val);
                d.stepOnDevice(id[0]);
            }
            long bytes = AllocationProbe.threadAllocatedBytes() - heap;
            assertThat(lm.graphSteps() - replays).isEqualTo(20);
            assertThat(FakeCuda.deviceAllocations() - allocations).as("cuMemAlloc calls in 20 replayed steps").isZero();
            System.out.println("heap bytes per replayed decode step (stand-in): " + bytes / 20);
            // a replay makes no Java object: the upload, the launch and the top-k reuse their buffers and arguments
            assertThat(bytes / 20).as("heap bytes per replayed step").isLessThan(64);
        }
    }

    @Test
    void anAllocationDuringCaptureIsRefused() {
        long before = FakeCuda.count(FakeCuda.Counter.INVALIDATED);
        var g = cuda.capture(() -> cuda.context().allocate(64, "a buffer made during capture", "none"), "allocation");
        assertThat(g).as("capture with a cuMemAlloc inside").isNull();
        assertThat(FakeCuda.count(FakeCuda.Counter.INVALIDATED) - before).isEqualTo(1);
        Tensor t = dev.allocate(DType.F32, 4); // the context still works
        cuda.zero(t);
        cuda.synchronize();
    }
}
