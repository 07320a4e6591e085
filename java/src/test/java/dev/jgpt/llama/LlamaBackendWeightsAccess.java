package dev.jgpt.llama;

/** Tests outside this package set {@link LlamaBackendWeights}' upload chunk (several chunks per matrix in a small model). */
public final class LlamaBackendWeightsAccess {
    private LlamaBackendWeightsAccess() {}

    public static void uploadChunk(long floats) {
        LlamaBackendWeights.uploadChunk = floats;
    }
}
