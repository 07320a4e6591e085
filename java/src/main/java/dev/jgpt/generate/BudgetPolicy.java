package dev.jgpt.generate;

/**
 * What to do when prompt + max new tokens would not fit in the model's context. The budget is
 * enforced before anything runs, so generation never reaches the end of the KV cache.
 */
public enum BudgetPolicy {
    /** Drop the oldest prompt tokens until prompt + max new tokens fits the context. */
    TRUNCATE_LEFT,
    /** Refuse with a {@link dev.jgpt.JgptException} that names the lengths. */
    ERROR
}
