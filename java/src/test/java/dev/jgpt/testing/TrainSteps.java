package dev.jgpt.testing;

import dev.jgpt.train.TrainableModel;

/** The optimizer half of the tests' training loops, written once. */
public final class TrainSteps {
    private TrainSteps() {}

    /**
     * Clips the gradient to norm 1 and takes one AdamW step (beta1 0.9, beta2 0.95, eps 1e-8) at {@code lr}
     * with {@code weightDecay}, as the trainer does; returns the gradient norm before clipping.
     */
    public static double clipAndAdamw(TrainableModel model, float lr, float weightDecay) {
        double norm = model.gradNorm();
        model.adamwStep(lr, 0.9f, 0.95f, 1e-8f, weightDecay, norm > 1 ? (float) (1 / norm) : 1f);
        return norm;
    }
}
