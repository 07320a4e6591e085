package dev.jgpt.train;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.Tensor;

/**
 * What the training loop ({@link Trainer}) and {@link Evaluator} need from a model: llm.c's step
 * (zero gradients, forward + backward that accumulates, global gradient norm, AdamW) and the
 * optimizer counter that checkpoints keep. {@code dev.jgpt.model.Gpt2} and
 * {@code dev.jgpt.llama.LlamaTrainModel} implement it.
 */
public interface TrainableModel extends AutoCloseable {
    /** The backend every tensor of the model lives on. */
    Backend backend();

    /** Sets every gradient to zero (backward accumulates). */
    void zeroGrad();

    /** The mean cross-entropy over the targets (host I32 tensors of B*T ids, target &lt; 0 ignored). */
    float forward(Tensor tokens, Tensor targets, int B, int T);

    /** {@link #forward}, then backward: gradients accumulate. */
    float forwardBackward(Tensor tokens, Tensor targets, int B, int T);

    /** The L2 norm of the accumulated gradient. */
    double gradNorm();

    /** One AdamW step; the gradient is multiplied by {@code gradScale} in the same pass. */
    void adamwStep(float lr, float beta1, float beta2, float eps, float weightDecay, float gradScale);

    /** AdamW steps taken so far (bias correction). */
    int optimizerStep();

    void setOptimizerStep(int step);

    /** Allocates the AdamW moments now (zero), e.g. before loading them from a checkpoint. */
    void allocateOptimizerState();

    /** AdamW's first moment as one flat F32 tensor in parameter order; null before the first step. */
    Tensor optimizerM();

    /** AdamW's second moment, like {@link #optimizerM}. */
    Tensor optimizerV();

    /** Trainable parameters (for MFU and the log line). */
    long parameterCount();

    /**
     * Weights every token multiplies by that do not train (a LoRA run's frozen model): they cost the forward and the
     * input-gradient products, 4 FLOPs each per token, but no weight-gradient product.
     */
    default long frozenParameterCount() {
        return 0;
    }

    /** Transformer layers (for the FLOPs-per-token estimate). */
    int layers();

    /** Residual stream width (for the FLOPs-per-token estimate). */
    int channels();

    /** The shape, in one line for the log. */
    String describe();

    /** Frees the model's weights, gradients and buffers. */
    @Override
    void close();
}
