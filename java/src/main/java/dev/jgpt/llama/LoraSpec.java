package dev.jgpt.llama;

import dev.jgpt.JgptException;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which matrices of a Llama model get LoRA adapters, of what rank, and how strongly their product counts
 * ({@code alpha / rank}, as in Hu et al. 2021 and Hugging Face PEFT).
 *
 * @param rank    r, the adapters' inner dimension (A is (r, in), B is (out, r))
 * @param alpha   the product is scaled by alpha / r (PEFT's {@code lora_alpha})
 * @param targets the adapted matrices, in PEFT's module names
 */
public record LoraSpec(int rank, double alpha, Set<Target> targets) {

    /** An adaptable matrix of a layer, named as Hugging Face's LlamaForCausalLM names the module. */
    public enum Target {
        Q("q_proj", "self_attn", 2, 0), K("k_proj", "self_attn", 3, 1), V("v_proj", "self_attn", 4, 2),
        O("o_proj", "self_attn", 5, 3), GATE("gate_proj", "mlp", 7, 4), UP("up_proj", "mlp", 9, 6),
        DOWN("down_proj", "mlp", 8, 5);

        /** PEFT's {@code target_modules} name. */
        public final String module;
        /** The block the module sits in ({@code model.layers.N.<block>.<module>}). */
        public final String block;
        /** The matrix's place in llama2.c's file order (2 wq, 3 wk, 4 wv, 5 wo, 7 w1, 8 w2, 9 w3). */
        public final int fileIndex;
        /** Its place among a layer's seven matrices as {@link LlamaParts} and GGUF imports number them (0 wq .. 6 w3). */
        public final int part;

        Target(String module, String block, int fileIndex, int part) {
            this.module = module;
            this.block = block;
            this.fileIndex = fileIndex;
            this.part = part;
        }

        /** The matrix at llama2.c file-order index {@code i}, or null (embedding, norms, classifier). */
        public static Target ofFileIndex(int i) {
            for (Target t : values()) if (t.fileIndex == i) return t;
            return null;
        }

        /** The matrix at {@link LlamaParts} index {@code k}, or null (7: the classifier). */
        public static Target ofPart(int k) {
            for (Target t : values()) if (t.part == k) return t;
            return null;
        }

        /** Rows (outputs) of this matrix in a model of shape {@code c}. */
        public int out(LlamaConfig c) {
            return switch (this) {
                case Q, O, DOWN -> c.dim();
                case K, V -> c.kvDim();
                case GATE, UP -> c.hiddenDim();
            };
        }

        /** Columns (inputs) of this matrix in a model of shape {@code c}. */
        public int in(LlamaConfig c) {
            return this == DOWN ? c.hiddenDim() : c.dim();
        }
    }

    /** Every linear layer: what QLoRA found to match full fine-tuning, and what jgpt adapts unless told otherwise. */
    public static final Set<Target> ALL = EnumSet.allOf(Target.class);

    public LoraSpec {
        if (rank <= 0) throw new JgptException("LoRA rank must be positive, not " + rank);
        if (!(alpha > 0) || !Double.isFinite(alpha)) throw new JgptException("LoRA alpha must be positive, not " + alpha);
        if (targets == null || targets.isEmpty()) throw new JgptException("LoRA needs at least one target module");
        targets = Set.copyOf(EnumSet.copyOf(targets));
    }

    /** The factor on every adapter's product. */
    public float scale() {
        return (float) (alpha / rank);
    }

    /** The targets in a fixed order (the adapters' layout and the files' tensor order). */
    public List<Target> ordered() {
        return EnumSet.copyOf(targets).stream().toList();
    }

    /** {@code "all"} or a comma-separated list of module names ({@code q_proj,v_proj}; {@code q,v} also reads). */
    public static Set<Target> parseTargets(String s) {
        if (s == null || s.isBlank() || s.strip().equalsIgnoreCase("all")) return ALL;
        Set<Target> out = EnumSet.noneOf(Target.class);
        for (String part : s.split(",")) {
            String p = part.strip().toLowerCase(Locale.ROOT);
            if (p.isEmpty()) continue;
            Target found = null;
            for (Target t : Target.values()) {
                if (t.module.equals(p) || t.module.equals(p + "_proj")) found = t;
            }
            if (found == null) {
                throw new JgptException("LoRA target '" + part.strip() + "' is not one of " + names(ALL) + " (or 'all')");
            }
            out.add(found);
        }
        if (out.isEmpty()) throw new JgptException("LoRA targets '" + s + "' name no module");
        return out;
    }

    /** The targets as PEFT writes them in {@code target_modules}, comma-separated. */
    public static String names(Set<Target> targets) {
        return EnumSet.copyOf(targets).stream().map(t -> t.module).collect(Collectors.joining(","));
    }

    /** Trainable floats of the adapters on a model of shape {@code c}: r x (in + out) per target per layer. */
    public long parameterCount(LlamaConfig c) {
        long n = 0;
        for (Target t : targets) n += (long) rank * (t.in(c) + t.out(c));
        return n * c.layers();
    }

    @Override
    public String toString() {
        return "LoRA rank " + rank + ", alpha " + (alpha == Math.rint(alpha) ? Long.toString((long) alpha) : Double.toString(alpha))
                + " on " + names(targets);
    }
}
