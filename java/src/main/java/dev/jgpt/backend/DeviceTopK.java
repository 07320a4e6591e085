package dev.jgpt.backend;

import dev.jgpt.memory.Tensor;

/**
 * An optional capability of a {@link Backend} whose tensors live in an accelerator's memory: the k
 * largest values of a logits row, found where the row lives, so that decoding copies k (id, logit)
 * pairs to the host instead of V logits. Not part of the kernel contract: host backends do not need it
 * (their logits are host memory already), and code that finds a backend without it reads the whole row.
 *
 * <p>Implemented by {@code CudaBackend} ({@code kernels/topk.cu}).
 */
public interface DeviceTopK {

    /** Most candidates {@link #topK} returns in one call. */
    int maxTopK();

    /**
     * The {@code k} largest of the first {@code V} values of {@code logits} (a tensor of this backend),
     * largest first, into {@code idx[0..k)} and {@code val[0..k)}. Order: by value, equal values (-0 equals
     * +0) in ascending index; NaN is never chosen while another value is left. When fewer than k
     * non-NaN values exist, the remaining slots are unspecified but hold the value -inf.
     *
     * @throws IllegalArgumentException when k is not in [1, min({@link #maxTopK()}, V)]
     */
    void topK(Tensor logits, int V, int k, int[] idx, float[] val);

    /**
     * {@link #topK} of each of {@code rows} rows that start {@code ld} values apart (a batch of logits, one
     * row per sequence), in one call: row r's k candidates go to {@code idx/val[r*k .. r*k+k)}.
     *
     * @throws IllegalArgumentException when k is not in [1, min({@link #maxTopK()}, V)], {@code ld < V}, or
     *         idx/val hold fewer than rows*k values
     */
    void topKRows(Tensor logits, int rows, int V, long ld, int k, int[] idx, float[] val);

    /**
     * {@link #topKRows} in two halves, so that the first may be captured into a graph with the step that computes the
     * logits: this one queues the kernels and the copy of the rows*k pairs into a host buffer of the backend's and does
     * not wait (it allocates nothing once {@link #topKRows} or this has run for as many rows); {@link #readQueuedTopK}
     * waits for the stream and reads them. The candidates are exactly {@link #topKRows}'.
     */
    void queueTopKRows(Tensor logits, int rows, int V, long ld, int k);

    /** Waits for the work queued on the backend's stream and reads the last {@link #queueTopKRows}' rows*k pairs. */
    void readQueuedTopK(int rows, int k, int[] idx, float[] val);
}
