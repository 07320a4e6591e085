package dev.jgpt.generate;

import dev.jgpt.JgptException;
import java.util.List;
import java.util.Locale;

/**
 * Every control of one generation, the same in the CLI, the chat REPL and (later) the HTTP API.
 * Immutable; change it with the {@code with...} methods, each of which validates.
 *
 * @param maxNewTokens most tokens to sample (>= 1)
 * @param temperature softmax temperature (>= 0); 0 means greedy (always the most likely token)
 * @param topK keep only the k most likely tokens (0 = off)
 * @param topP keep the smallest set of most likely tokens whose probability reaches p, in (0, 1] (1 = off)
 * @param repetitionPenalty divide positive / multiply negative logits of tokens already in the
 *     sequence (prompt included) by this (> 0; 1 = off; 1.1–1.3 discourages loops)
 * @param stopSequences texts that end generation; the output is cut just before the first one
 * @param seed seed of the sampler's random generator, or null for a fresh one per generation
 * @param budgetPolicy what happens when prompt + maxNewTokens exceeds the context
 */
public record GenerationConfig(
        int maxNewTokens,
        double temperature,
        int topK,
        double topP,
        double repetitionPenalty,
        List<String> stopSequences,
        Long seed,
        BudgetPolicy budgetPolicy) {

    public static final GenerationConfig DEFAULTS =
            new GenerationConfig(128, 0.8, 40, 0.95, 1.0, List.of(), null, BudgetPolicy.ERROR);

    /** The names {@link #with(String, String)} accepts (also with '-' for '_'). */
    public static final List<String> SETTINGS = List.of(
            "max_tokens", "temperature", "top_k", "top_p", "repetition_penalty", "seed", "stop", "overflow");

    public GenerationConfig {
        if (maxNewTokens < 1) throw bad("max new tokens must be at least 1 (got " + maxNewTokens + ")");
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw bad("temperature must be a finite number >= 0 (got " + temperature + "); 0 means greedy");
        }
        if (topK < 0) throw bad("top-k must be >= 0 (got " + topK + "); 0 turns it off");
        if (!(topP > 0 && topP <= 1)) throw bad("top-p must be in (0, 1] (got " + topP + "); 1 turns it off");
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw bad("repetition penalty must be a finite number > 0 (got " + repetitionPenalty + "); 1 turns it off");
        }
        if (stopSequences == null) stopSequences = List.of();
        for (String s : stopSequences) {
            if (s == null || s.isEmpty()) throw bad("stop sequences must not be empty");
        }
        stopSequences = List.copyOf(stopSequences);
        if (budgetPolicy == null) budgetPolicy = BudgetPolicy.ERROR;
    }

    public GenerationConfig withMaxNewTokens(int v) { return new GenerationConfig(v, temperature, topK, topP, repetitionPenalty, stopSequences, seed, budgetPolicy); }
    public GenerationConfig withTemperature(double v) { return new GenerationConfig(maxNewTokens, v, topK, topP, repetitionPenalty, stopSequences, seed, budgetPolicy); }
    public GenerationConfig withTopK(int v) { return new GenerationConfig(maxNewTokens, temperature, v, topP, repetitionPenalty, stopSequences, seed, budgetPolicy); }
    public GenerationConfig withTopP(double v) { return new GenerationConfig(maxNewTokens, temperature, topK, v, repetitionPenalty, stopSequences, seed, budgetPolicy); }
    public GenerationConfig withRepetitionPenalty(double v) { return new GenerationConfig(maxNewTokens, temperature, topK, topP, v, stopSequences, seed, budgetPolicy); }
    public GenerationConfig withStopSequences(List<String> v) { return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, v, seed, budgetPolicy); }
    public GenerationConfig withSeed(Long v) { return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, stopSequences, v, budgetPolicy); }
    public GenerationConfig withBudgetPolicy(BudgetPolicy v) { return new GenerationConfig(maxNewTokens, temperature, topK, topP, repetitionPenalty, stopSequences, seed, v); }

    /** True when sampling always picks the most likely token. */
    public boolean greedy() {
        return temperature == 0;
    }

    /**
     * One setting by name, from text (the chat REPL's {@code /set NAME VALUE}). Names are
     * {@link #SETTINGS}; {@code seed} takes {@code none} for random, {@code stop} takes {@code none}
     * to clear or a text to add, {@code overflow} takes {@code truncate-left} or {@code error}.
     */
    public GenerationConfig with(String name, String value) {
        String key = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        String v = value.trim();
        try {
            return switch (key) {
                case "max_tokens", "max_new_tokens" -> withMaxNewTokens(Integer.parseInt(v));
                case "temperature" -> withTemperature(Double.parseDouble(v));
                case "top_k" -> withTopK(Integer.parseInt(v));
                case "top_p" -> withTopP(Double.parseDouble(v));
                case "repetition_penalty" -> withRepetitionPenalty(Double.parseDouble(v));
                case "seed" -> withSeed(v.equalsIgnoreCase("none") ? null : Long.parseLong(v));
                case "stop" -> {
                    if (v.equalsIgnoreCase("none")) yield withStopSequences(List.of());
                    var all = new java.util.ArrayList<>(stopSequences);
                    all.add(unescape(value));
                    yield withStopSequences(all);
                }
                case "overflow" -> withBudgetPolicy(parsePolicy(v));
                default -> throw bad("unknown setting '" + name + "'; settings: " + String.join(", ", SETTINGS));
            };
        } catch (NumberFormatException e) {
            throw bad("setting " + key + ": '" + v + "' is not a number");
        }
    }

    /** {@code truncate-left} or {@code error} (any case, '-' or '_'). */
    public static BudgetPolicy parsePolicy(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT).replace('-', '_')) {
            case "truncate_left" -> BudgetPolicy.TRUNCATE_LEFT;
            case "error" -> BudgetPolicy.ERROR;
            default -> throw bad("overflow policy must be truncate-left or error (got '" + v + "')");
        };
    }

    /** {@code \n}, {@code \t} and {@code \\} in a stop sequence typed on a command line. */
    public static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                switch (n) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case '\\' -> b.append('\\');
                    default -> b.append('\\').append(n);
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static JgptException bad(String msg) {
        return new JgptException(msg);
    }
}
