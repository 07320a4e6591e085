package dev.jgpt.generate;

import dev.jgpt.JgptException;
import dev.jgpt.memory.Tensor;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * Runs a {@link CausalLm}: the prompt in one batched prefill, then one {@code step} per token,
 * sampling with a {@link Sampler}, cutting at stop sequences with a {@link StopMatcher} and
 * streaming final text to a {@link TokenListener}.
 *
 * <p>Holds the sampler's scratch arrays, so reuse one generator for many generations (it resizes
 * itself if a tokenizer with another vocabulary comes along). Not thread-safe, like the model.
 *
 * <p>Device sampling: when the model's logits live on a device ({@link CausalLm#deviceLogits()}) and
 * the settings let the sampler decide from the k largest logits alone ({@link Sampler#candidatesNeeded}:
 * greedy, or top-k with k up to the device's limit, without repetition penalty), each token is drawn from
 * k (id, logit) pairs picked on the device and the V logits are never copied to the host (except for a
 * token whose largest logit is not finite). The tokens are the same as on the full-logit path.
 *
 * <p>End tokens: {@code <|endoftext|>} and {@code <|end|>}, when the tokenizer has them, end the
 * generation (finish reason {@code eos}) and are not part of the output.
 */
public final class Generator {
    private Sampler sampler;
    private int[] generated = new int[0];
    /** The device's candidates for one token (device sampling). */
    private int[] candIds = new int[0];
    private float[] candLogits = new float[0];
    /** k of the last generation's device sampling, 0 when it read the full logits. */
    private int lastDeviceCandidates;

    /**
     * Generates a continuation of {@code prompt}. The model's cache is reset first. Prompt + max new
     * tokens must fit the model's context: otherwise the config's {@link BudgetPolicy} decides
     * (drop the oldest prompt tokens, or a {@link JgptException} naming the lengths). An empty
     * prompt starts from {@code <|endoftext|>} when the tokenizer has it.
     */
    public GenerationResult generate(CausalLm lm, Tokenizer tokenizer, int[] prompt, GenerationConfig config,
            TokenListener listener) {
        long start = System.nanoTime();
        int vocab = tokenizer.vocabSize();
        if (vocab > lm.vocabSize()) {
            throw new JgptException("the tokenizer has " + vocab + " tokens but the model only " + lm.vocabSize()
                    + ": they do not belong together");
        }
        int[] ids = fitToContext(startTokens(prompt, tokenizer), config, lm.contextLength());
        int truncated = Math.max(0, prompt.length - ids.length);
        if (sampler == null || sampler.vocabSize() != vocab) sampler = new Sampler(vocab);
        if (generated.length < config.maxNewTokens()) generated = new int[config.maxNewTokens()];
        int eos = tokenizer.specialTokenId("<|endoftext|>").orElse(-1);
        int end = tokenizer.specialTokenId("<|end|>").orElse(-1);

        sampler.reset(config);
        for (int t : ids) sampler.observe(t);
        StopMatcher stops = new StopMatcher(config.stopSequences());
        StringBuilder text = new StringBuilder();

        DeviceLogits device = lm.deviceLogits();
        int k = device == null ? 0 : sampler.candidatesNeeded(device.maxCandidates());
        if (k == 0) device = null;
        if (candIds.length < k) {
            candIds = new int[k];
            candLogits = new float[k];
        }
        lastDeviceCandidates = k;

        lm.reset();
        Tensor logits = null;
        if (device != null) device.prefillOnDevice(ids);
        else logits = lm.prefill(ids);
        long firstToken = 0;
        int n = 0;
        int stepped = -1; // device path: the token whose step runs with the next candidates (-1: after the prefill)
        FinishReason reason = FinishReason.LENGTH;
        while (n < config.maxNewTokens()) {
            int token = device != null ? sampleOnDevice(device, k, stepped) : sampler.sample(logits);
            if (n == 0) firstToken = System.nanoTime();
            if (token == eos || token == end) {
                reason = FinishReason.EOS;
                break;
            }
            generated[n++] = token;
            sampler.observe(token);
            listener.onToken(token);
            emit(stops.accept(tokenizer.tokenBytes(token)), text, listener);
            if (stops.stopped()) {
                reason = FinishReason.STOP;
                break;
            }
            if (n < config.maxNewTokens()) { // no forward pass after the last token
                if (device != null) stepped = token; // stepped together with its candidates (one graph on cuda)
                else logits = lm.step(token);
            }
        }
        emit(stops.flush(), text, listener);
        long finish = System.nanoTime();
        double decodeSeconds = (finish - firstToken) / 1e9;
        double tokensPerSecond = n > 1 && decodeSeconds > 0 ? (n - 1) / decodeSeconds : 0;
        return new GenerationResult(text.toString(), Arrays.copyOf(generated, n), reason, ids.length, truncated,
                firstToken == 0 ? 0 : (firstToken - start) / 1e6, tokensPerSecond, (finish - start) / 1e6);
    }

    /** From the device's k largest logits; the full logits only when those cannot decide (a non-finite maximum). */
    private int sampleOnDevice(DeviceLogits device, int k, int stepped) {
        if (stepped < 0) device.topCandidates(sampler.vocabSize(), k, candIds, candLogits);
        else device.stepTopCandidates(stepped, sampler.vocabSize(), k, candIds, candLogits);
        int token = sampler.sampleCandidates(candIds, candLogits, k);
        return token >= 0 ? token : sampler.sample(device.hostLogits());
    }

    /**
     * How many candidates per token the last {@link #generate} read from the model's device (1 greedy, k for
     * top-k), or 0 when it sampled from the full host logits.
     */
    public int lastDeviceCandidates() {
        return lastDeviceCandidates;
    }

    /**
     * The prompt cut to fit {@code context} with room for {@code maxNewTokens} under the config's
     * policy (the same array when it fits).
     */
    public static int[] fitToContext(int[] prompt, GenerationConfig config, int context) {
        int max = config.maxNewTokens();
        if (prompt.length + max <= context) return prompt;
        if (config.budgetPolicy() == BudgetPolicy.TRUNCATE_LEFT && max < context) {
            return Arrays.copyOfRange(prompt, prompt.length - (context - max), prompt.length);
        }
        String fix = max >= context
                ? "lower max new tokens below the context"
                : "shorten the prompt, lower max new tokens to at most " + Math.max(0, context - prompt.length)
                        + ", or let the prompt be truncated from the left";
        throw new JgptException("prompt of " + prompt.length + " tokens + " + max + " new tokens exceeds the model's context of "
                + context + " tokens; " + fix);
    }

    private static int[] startTokens(int[] prompt, Tokenizer tokenizer) {
        if (prompt.length > 0) return prompt;
        var bos = tokenizer.specialTokenId("<|endoftext|>");
        if (bos.isEmpty()) throw new JgptException("the prompt is empty and the tokenizer has no <|endoftext|> to start from");
        return new int[] {bos.getAsInt()};
    }

    private static void emit(String s, StringBuilder text, TokenListener listener) {
        if (!s.isEmpty()) {
            text.append(s);
            listener.onText(s);
        }
    }
}
