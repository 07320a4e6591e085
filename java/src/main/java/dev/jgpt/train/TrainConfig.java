package dev.jgpt.train;

import dev.jgpt.JgptException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a training run needs, read from YAML ({@code snake_case} keys) with every key also a
 * command-line flag ({@code max_steps} is {@code --max-steps}). Unknown keys and impossible values
 * are rejected with a message naming the key. The resolved config is saved in the run directory so
 * {@code --resume} continues with exactly the same settings.
 *
 * <p>Two phases in one config: pretraining on {@link #data}, then, when {@link #sft} is set,
 * supervised chat fine-tuning on that JSONL file with the {@code sft_*} settings. With {@link #init}
 * and no {@code data}, only the fine-tuning phase runs, starting from that run's weights.
 */
public final class TrainConfig {
    /** One line of {@code jgpt train --help} for a key (its flag's description). */
    @java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME)
    @java.lang.annotation.Target(java.lang.annotation.ElementType.FIELD)
    public @interface Help {
        String value();
    }

    /** The help line of each key, in declaration order. */
    public static Map<String, String> help() {
        Map<String, String> m = new LinkedHashMap<>();
        for (Field f : TrainConfig.class.getFields()) {
            Help h = f.getAnnotation(Help.class);
            if (h != null && !Modifier.isStatic(f.getModifiers())) m.put(f.getName(), h.value());
        }
        return m;
    }

    // ---- what to train on ------------------------------------------------------------------
    /** Directory of packed token shards (from {@code jgpt data pack}); null for an SFT-only run. */
    @Help("packed token shards (jgpt data pack) to pretrain on")
    public String data;
    /**
     * tokenizer.json; default: the one the shards were packed with. With an imported 'init': its llama2.c
     * tokenizer.bin or Hugging Face tokenizer.json (default: the model's own, or tokenizer.bin beside a .bin).
     */
    @Help("tokenizer file; default: the one the shards were packed with, or an imported model's own")
    public String tokenizer;
    /** Run directory: checkpoints, metrics.jsonl, config. */
    @Help("run directory: checkpoints, metrics.jsonl, config.yaml")
    public String out = "runs/train";
    /**
     * A run directory (or checkpoint) whose weights start this run; its architecture and shape are the model's. Also
     * a Llama model of another program to fine-tune ('sft') or train further on text ('data', packed with its
     * vocabulary): a llama2.c checkpoint, a GGUF file, a Hugging Face LlamaForCausalLM directory.
     */
    @Help("start from a run or checkpoint, or an imported Llama (llama2.c .bin, GGUF, Hugging Face directory)")
    public String init;

    // ---- model -------------------------------------------------------------------------------
    /** Architecture: gpt2 (Gpt2) or llama (LlamaTrainModel: RMSNorm, RoPE, SwiGLU, grouped-query attention). */
    @Help("gpt2 or llama (RMSNorm, RoPE, SwiGLU, grouped-query attention)")
    public String arch = "gpt2";
    /** llama: key/value heads (grouped-query attention; must divide the heads); default: the heads. */
    @Help("llama: key/value heads, must divide n_head (default n_head)")
    public Integer kv_heads;
    /** llama: SwiGLU hidden width; default llama2.c's: 2/3 of 4 x channels, rounded up to a multiple of 32. */
    @Help("llama: SwiGLU width (default 2/3 x 4 x n_embd, rounded up to 32)")
    public Integer hidden_dim;
    /** llama: the classifier is the token embedding (llama2.c's default, true) or a separate matrix. */
    @Help("llama: classifier = token embedding")
    public Boolean shared_classifier;
    /** Model size: tiny, small, base or gpt2. */
    @Help("model size: tiny, small, base or gpt2")
    public String preset = "small";
    @Help("transformer layers (overrides the preset)")
    public Integer n_layer;
    @Help("attention heads (overrides the preset)")
    public Integer n_head;
    @Help("channels (overrides the preset)")
    public Integer n_embd;
    /** Context length of the model (positions); default: the preset's. */
    @Help("context length in positions (overrides the preset)")
    public Integer context;

    // ---- batch ------------------------------------------------------------------------------
    /** Sequences per micro-batch. */
    @Help("sequences per micro-batch")
    public int batch_size = 8;
    /** Tokens per sequence; default: the model's context. */
    @Help("tokens per sequence (default: the model's context)")
    public Integer seq_len;
    /** Tokens per optimizer step (gradient accumulation over micro-batches); 0 = one micro-batch. */
    @Help("tokens per optimizer step, by gradient accumulation; 0: one micro-batch")
    public long batch_tokens = 0;

    // ---- schedule and optimizer -------------------------------------------------------------
    @Help("pretraining steps (a cap when max_minutes is set)")
    public int max_steps = 1000;
    /**
     * Wall-clock budget for the pretraining phase in minutes; 0 = none. The schedule's length is then
     * fitted (and refitted) to the measured speed, max_steps only caps it ({@link TimeBudget}).
     */
    @Help("pretraining time budget; the schedule fits the measured speed; 0: none")
    public double max_minutes = 0;
    @Help("peak learning rate of pretraining")
    public double lr = 1e-3;
    /** The cosine decay ends at lr * min_lr_ratio. */
    @Help("the cosine decay ends at lr x this")
    public double min_lr_ratio = 0.1;
    @Help("linear warm-up steps of pretraining")
    public int warmup_steps = 100;
    @Help("AdamW's decoupled weight decay (matrices and embeddings only)")
    public double weight_decay = 0.1;
    @Help("AdamW beta1")
    public double beta1 = 0.9;
    @Help("AdamW beta2")
    public double beta2 = 0.95;
    @Help("AdamW epsilon")
    public double eps = 1e-8;
    /** Global gradient-norm clip; 0 = off. */
    @Help("global gradient-norm clip; 0: off")
    public double grad_clip = 1.0;
    @Help("seed of the weights, the batches and the samples")
    public long seed = 1337;

    // ---- evaluation, logging, checkpoints ------------------------------------------------------
    /** Evaluate every N steps (and at the end); 0 = only at the end. */
    @Help("evaluate every N steps (and at the end); 0: only at the end")
    public int eval_every = 250;
    /** Validation batches per evaluation; 0 = the full validation split. */
    @Help("validation batches per evaluation; 0: the whole split")
    public int eval_batches = 0;
    /** Fixed-seed samples printed at each evaluation. */
    @Help("fixed-seed samples printed at each evaluation")
    public int samples = 2;
    @Help("tokens per sample")
    public int sample_tokens = 48;
    @Help("the samples' prompt (pretraining)")
    public String sample_prompt = "";
    @Help("a progress line every N steps")
    public int log_every = 10;
    @Help("save a checkpoint every N steps (and at the end); 0: only at the end")
    public int checkpoint_every = 500;
    @Help("the newest N checkpoints are kept")
    public int keep_checkpoints = 3;

    // ---- machine ------------------------------------------------------------------------------
    /** Where to compute: auto, cpu, reference (or cuda). */
    @Help("auto, cpu, reference or cuda")
    public String device = "auto";
    /** Threads; 0 = the machine's cores. */
    @Help("threads; 0: all cores")
    public int threads = 0;
    /** How the cuda backend multiplies: fp32, tf32 or bf16 (bf16 operands, fp32 master weights); default fp32. */
    @Help("cuda: fp32, tf32 or bf16 products (fp32 master weights)")
    public String precision;

    // ---- supervised chat fine-tuning (second phase) ---------------------------------------------
    /** Chat JSONL ({"messages":[{"role","content"}]}) to fine-tune on after pretraining. */
    @Help("chat JSONL to fine-tune on (after pretraining, or from init)")
    public String sft;
    /** Optional held-out chat JSONL evaluated (masked loss) during fine-tuning. */
    @Help("held-out chat JSONL, evaluated during fine-tuning")
    public String sft_val;
    @Help("fine-tuning steps")
    public int sft_max_steps = 300;
    @Help("fine-tuning time budget; 0: none")
    public double sft_max_minutes = 0;
    @Help("peak learning rate of fine-tuning")
    public double sft_lr = 3e-4;
    @Help("warm-up steps of fine-tuning")
    public int sft_warmup_steps = 20;
    @Help("conversations per fine-tuning batch")
    public int sft_batch_size = 8;
    /**
     * The chat format fine-tuning teaches ({@code jgpt}, {@code chatml}, {@code zephyr}, ...: {@code --chat-format}'s
     * names); default: jgpt's own for jgpt runs, the one an imported init's chat template writes.
     */
    @Help("the chat format fine-tuning teaches: jgpt, chatml, zephyr, llama2, llama3, ... (default: the model's)")
    public String chat_format;
    /**
     * LoRA for training a Llama model further ('init', on 'data' or 'sft' or both): 0 trains every weight; r > 0 freezes
     * the weights and trains rank-r adapters beside them (checkpoints hold the merged model and the adapters in PEFT's
     * format; chats after pretraining go on with the same adapters).
     */
    @Help("LoRA: freeze the weights and train rank-R adapters (Llama fine-tuning); 0: every weight trains")
    public int lora_rank = 0;
    /** The adapters' products are scaled by lora_alpha / lora_rank; default 2 x lora_rank (a scale of 2). */
    @Help("LoRA: adapters' products scaled by alpha / rank (default 2 x rank)")
    public Double lora_alpha;
    /** The adapted matrices: all, or a list of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj. */
    @Help("LoRA: all, or q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    public String lora_targets = "all";
    /**
     * LoRA's frozen weights: {@code auto} keeps a quantized GGUF init's matrices in the file's blocks on the cpu backend
     * (QLoRA's idea: 4.5 bits a weight for Q4_K instead of 32), else float32; {@code f32} always float32.
     */
    @Help("LoRA: auto (a quantized GGUF init's matrices stay in its blocks on the cpu) or f32")
    public String lora_base = "auto";

    private static final ObjectMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    /** All keys, in declaration order, with their Java types (for flags and messages). */
    public static Map<String, Class<?>> keys() {
        Map<String, Class<?>> m = new LinkedHashMap<>();
        for (Field f : TrainConfig.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers())) m.put(f.getName(), f.getType());
        }
        return m;
    }

    /** Reads a YAML file (null for none) and applies overrides (key to YAML scalar text), then validates. */
    public static TrainConfig load(Path file, Map<String, String> overrides) {
        ObjectNode tree = YAML.createObjectNode();
        String source = file == null ? "flags" : file.toString();
        if (file != null) {
            try {
                JsonNode n = YAML.readTree(Files.readString(file));
                if (n != null && !n.isMissingNode() && !n.isNull()) {
                    if (!n.isObject()) throw new JgptException(file + ": expected a mapping of key: value");
                    tree.setAll((ObjectNode) n);
                }
            } catch (NoSuchFileException e) {
                throw new JgptException(file + ": no such file");
            } catch (IOException e) {
                throw new JgptException("cannot read " + file + ": " + e.getMessage());
            } catch (JacksonException e) {
                throw new JgptException(file + ": not valid YAML (" + e.getOriginalMessage() + lineOf(e) + ")");
            }
        }
        for (var e : overrides.entrySet()) {
            JsonNode v;
            try {
                v = YAML.readTree(e.getValue());
            } catch (JacksonException ex) {
                v = null;
            }
            if (v == null || v.isMissingNode() || v.isContainer()) v = YAML.getNodeFactory().stringNode(e.getValue());
            // strings that look like numbers stay strings where a string is wanted (paths named "1")
            Class<?> type = keys().get(e.getKey());
            if (type == String.class) v = YAML.getNodeFactory().stringNode(e.getValue());
            tree.set(e.getKey(), v);
        }
        TrainConfig c = fromTree(tree, source);
        c.validate(source);
        return c;
    }

    static TrainConfig fromTree(ObjectNode tree, String source) {
        try {
            return YAML.treeToValue(tree, TrainConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new JgptException(source + ": unknown key '" + e.getPropertyName() + "'" + suggestion(e.getPropertyName())
                    + " (known keys: " + String.join(", ", keys().keySet()) + ")");
        } catch (JacksonException e) {
            String path = e.getPath().isEmpty() ? "" : " '" + e.getPath().getFirst().getPropertyName() + "'";
            throw new JgptException(source + ": bad value for key" + path + ": " + e.getOriginalMessage());
        }
    }

    private static String lineOf(JacksonException e) {
        return e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
    }

    private static String suggestion(String key) {
        String best = null;
        int bestD = 3;
        for (String k : keys().keySet()) {
            int d = editDistance(k, key);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best == null ? "" : "; did you mean '" + best + "'?";
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** The LoRA adapters this run trains, or null for full fine-tuning ('lora_rank' 0). */
    public dev.jgpt.llama.LoraSpec loraSpec() {
        if (lora_rank <= 0) return null;
        return new dev.jgpt.llama.LoraSpec(lora_rank, lora_alpha != null ? lora_alpha : 2.0 * lora_rank,
                dev.jgpt.llama.LoraSpec.parseTargets(lora_targets));
    }

    /** Value checks that do not need the model or the data; each error names the key. */
    public void validate(String source) {
        List<String> errors = new ArrayList<>();
        if (data == null && sft == null) errors.add("set 'data' (packed shards) or 'sft' (chat JSONL) or both");
        if (sft != null && data == null && init == null) errors.add("'sft' without 'data' needs 'init' (a pretrained run)");
        if (chat_format != null && !chat_format.isBlank() && !dev.jgpt.chat.ChatFormats.isName(chat_format)) {
            errors.add("'chat_format' " + chat_format.strip() + " is not one of " + dev.jgpt.chat.ChatFormats.names());
        }
        if (lora_rank < 0) errors.add("'lora_rank' must be >= 0 (0: no LoRA), got " + lora_rank);
        if (!List.of("auto", "f32").contains(lora_base)) errors.add("'lora_base' must be auto or f32, got '" + lora_base + "'");
        if (lora_alpha != null && !(lora_alpha > 0 && Double.isFinite(lora_alpha))) {
            errors.add("'lora_alpha' must be > 0, got " + lora_alpha);
        }
        if (lora_rank > 0) {
            if (init == null) errors.add("'lora_rank' trains adapters of an existing model: it needs 'init'");
            try {
                dev.jgpt.llama.LoraSpec.parseTargets(lora_targets);
            } catch (JgptException e) {
                errors.add("'lora_targets': " + e.getMessage());
            }
        }
        if (batch_size < 1) errors.add("'batch_size' must be >= 1, got " + batch_size);
        if (sft_batch_size < 1) errors.add("'sft_batch_size' must be >= 1, got " + sft_batch_size);
        if (seq_len != null && seq_len < 1) errors.add("'seq_len' must be >= 1, got " + seq_len);
        if (batch_tokens < 0) errors.add("'batch_tokens' must be >= 0, got " + batch_tokens);
        if (max_steps < 1) errors.add("'max_steps' must be >= 1, got " + max_steps);
        if (sft_max_steps < 1) errors.add("'sft_max_steps' must be >= 1, got " + sft_max_steps);
        if (max_minutes < 0 || sft_max_minutes < 0) errors.add("'max_minutes' must be >= 0");
        if (!(lr > 0) || !(sft_lr > 0)) errors.add("'lr' and 'sft_lr' must be > 0");
        if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1)) errors.add("'min_lr_ratio' must be in [0, 1], got " + min_lr_ratio);
        if (warmup_steps < 0 || sft_warmup_steps < 0) errors.add("'warmup_steps' must be >= 0");
        if (weight_decay < 0) errors.add("'weight_decay' must be >= 0, got " + weight_decay);
        if (!(beta1 >= 0 && beta1 < 1)) errors.add("'beta1' must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) errors.add("'beta2' must be in [0, 1), got " + beta2);
        if (!(eps > 0)) errors.add("'eps' must be > 0, got " + eps);
        if (grad_clip < 0) errors.add("'grad_clip' must be >= 0, got " + grad_clip);
        if (eval_every < 0 || eval_batches < 0) errors.add("'eval_every' and 'eval_batches' must be >= 0");
        if (samples < 0 || sample_tokens < 0) errors.add("'samples' and 'sample_tokens' must be >= 0");
        if (log_every < 1) errors.add("'log_every' must be >= 1, got " + log_every);
        if (checkpoint_every < 0) errors.add("'checkpoint_every' must be >= 0, got " + checkpoint_every);
        if (keep_checkpoints < 1) errors.add("'keep_checkpoints' must be >= 1, got " + keep_checkpoints);
        if (threads < 0) errors.add("'threads' must be >= 0, got " + threads);
        if (!List.of("auto", "cpu", "reference", "cuda").contains(device)) {
            errors.add("'device' must be auto, cpu, reference or cuda, got '" + device + "'");
        }
        if (precision != null && !List.of("fp32", "tf32", "bf16").contains(precision)) {
            errors.add("'precision' must be fp32, tf32 or bf16, got '" + precision + "'");
        }
        if (precision != null && !"fp32".equals(precision) && List.of("cpu", "reference").contains(device)) {
            errors.add("'precision: " + precision + "' needs 'device: cuda' (cpu and reference compute in fp32)");
        }
        if (!List.of("gpt2", "llama").contains(arch)) errors.add("'arch' must be gpt2 or llama, got '" + arch + "'");
        if ("llama".equals(arch)) {
            if (kv_heads != null && kv_heads < 1) errors.add("'kv_heads' must be >= 1, got " + kv_heads);
            if (kv_heads != null && n_head != null && kv_heads >= 1 && n_head % kv_heads != 0) {
                errors.add("'kv_heads' (" + kv_heads + ") must divide 'n_head' (" + n_head + ")");
            }
            if (hidden_dim != null && hidden_dim < 1) errors.add("'hidden_dim' must be >= 1, got " + hidden_dim);
        } else {
            if (kv_heads != null) errors.add("'kv_heads' applies to 'arch: llama' only");
            if (hidden_dim != null) errors.add("'hidden_dim' applies to 'arch: llama' only");
            if (shared_classifier != null) errors.add("'shared_classifier' applies to 'arch: llama' only");
        }
        if (n_head != null && n_head < 1) errors.add("'n_head' must be >= 1");
        if (n_layer != null && n_layer < 1) errors.add("'n_layer' must be >= 1");
        if (n_embd != null && n_embd < 1) errors.add("'n_embd' must be >= 1");
        if (context != null && context < 1) errors.add("'context' must be >= 1");
        if (n_head != null && n_embd != null && n_embd % n_head != 0) {
            errors.add("'n_head' (" + n_head + ") must divide 'n_embd' (" + n_embd + ")");
        }
        if (seq_len != null && context != null && seq_len > context) {
            errors.add("'seq_len' (" + seq_len + ") is larger than the model's 'context' (" + context + ")");
        }
        if (!errors.isEmpty()) throw new JgptException(source + ": " + String.join("; ", errors));
    }

    /** The config as a YAML/JSON tree (for saving beside the run). */
    public ObjectNode toTree() {
        return YAML.valueToTree(this);
    }

    public String toYaml() {
        return YAML.writeValueAsString(this);
    }

    /** A copy (through the tree, so every field is copied). */
    public TrainConfig copy() {
        return fromTree(toTree(), "config");
    }
}
