package dev.jgpt.memory;

import java.util.Map;

/**
 * Something that owns off-heap memory and knows how much, by purpose: the breakdown that
 * {@link MemoryUsage} reports beside the process's RSS. Each owner names only what it allocated itself
 * (borrowed weights belong to whoever lent them), so the breakdowns of several owners add up without
 * counting anything twice.
 */
public interface MemoryAccounted {

    /**
     * Bytes by purpose, in a stable order, names in camelCase (for example {@code params}, {@code grads},
     * {@code optimizer}, {@code activations}, {@code weightsMapped}, {@code weightsConverted}, {@code kvCache},
     * {@code scratch}). Device memory (the cuda backend) is counted here too, though it is not in the RSS.
     */
    Map<String, Long> offHeapBytes();
}
