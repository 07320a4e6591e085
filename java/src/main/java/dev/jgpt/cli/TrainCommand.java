package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.io.Json;
import dev.jgpt.train.TrainConfig;
import dev.jgpt.train.TrainRun;
import dev.jgpt.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import tools.jackson.databind.node.ObjectNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code jgpt train}: every key of {@link TrainConfig} is also a flag ({@code max_steps} as
 * {@code --max-steps}); flags override the YAML file. Ctrl-C saves a checkpoint and stops;
 * {@code --resume RUN} continues exactly where it stopped.
 */
@Command(name = "train", mixinStandardHelpOptions = true, modelTransformer = TrainCommand.ConfigFlags.class,
        description = {"Train a GPT-2 or Llama model: pretraining on packed shards, then optional chat",
                "fine-tuning. --init also takes a Llama of another program (llama2.c .bin, GGUF,",
                "Hugging Face directory) to fine-tune (LoRA with --lora-rank) or train further.",
                "Every config key is also a flag (max_steps as --max-steps); flags override --config."})
public final class TrainCommand implements Runnable {

    @Option(names = "--config", paramLabel = "FILE.yaml", description = "Training config (YAML).")
    Path config;

    @Option(names = "--resume", paramLabel = "RUN", description = "Continue the run in this directory from its newest checkpoint.")
    Path resume;

    @Option(names = "--json", description = "Print one JSON object with the outcome on stdout.")
    boolean json;

    @CommandLine.Spec
    CommandSpec spec;

    /** Adds one {@code --kebab-name} option per config key. */
    public static final class ConfigFlags implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            TrainConfig defaults = new TrainConfig();
            ObjectNode d = defaults.toTree();
            Map<String, String> help = TrainConfig.help();
            for (var e : TrainConfig.keys().entrySet()) {
                String flag = "--" + e.getKey().replace('_', '-');
                if (spec.findOption(flag) != null) continue;
                var def = d.get(e.getKey());
                String shown = def == null || def.isNull() || def.asString().isEmpty() ? "" : " (default " + def.asString() + ")";
                String what = help.getOrDefault(e.getKey(), "config key '" + e.getKey() + "'");
                spec.addOption(OptionSpec.builder(flag).type(String.class).paramLabel(label(e.getValue()))
                        .description(what + shown).build());
            }
            return spec;
        }

        private static String label(Class<?> type) {
            if (type == int.class || type == Integer.class || type == long.class) return "N";
            if (type == double.class || type == Double.class) return "X";
            if (type == boolean.class || type == Boolean.class) return "true|false";
            return "VALUE";
        }
    }

    /** The flags given on the command line, as config key to text. */
    Map<String, String> overrides() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String key : TrainConfig.keys().keySet()) {
            OptionSpec o = spec.findOption("--" + key.replace('_', '-'));
            if (o != null && o.getValue() != null) m.put(key, o.getValue().toString());
        }
        return m;
    }

    @Override
    public void run() {
        Map<String, String> flags = overrides();
        TrainConfig cfg;
        if (resume != null) {
            Path saved = TrainRun.configFile(resume);
            if (!Files.isRegularFile(saved)) {
                throw new JgptException("--resume " + resume + ": not a training run (no config.yaml)");
            }
            if (config != null) throw new JgptException("--resume uses the run's own config.yaml; leave out --config");
            flags.putIfAbsent("out", resume.toString());
            cfg = TrainConfig.load(saved, flags);
        } else {
            cfg = TrainConfig.load(config, flags);
        }
        TrainRun run = new TrainRun(cfg, dev.jgpt.train.ModelDirs::loadTokenizer, System.err);
        TrainRun.Result r = run.runStoppable(resume != null);
        if (json) System.out.println(Json.MAPPER.writeValueAsString(toJson(r)));
    }

    static ObjectNode toJson(TrainRun.Result r) {
        ObjectNode o = Json.object();
        o.put("run", r.run().toString());
        o.put("device", r.device());
        o.put("threads", r.threads());
        o.put("stopped", r.stopped());
        if (r.pretrain() != null) o.set("pretrain", outcome(r.pretrain()));
        if (r.sft() != null) o.set("sft", outcome(r.sft()));
        return o;
    }

    static ObjectNode outcome(Trainer.Outcome t) {
        ObjectNode o = Json.object();
        o.put("dir", t.dir().toString());
        o.put("steps", t.steps());
        o.put("total_steps", t.totalSteps());
        o.put("loss", t.lastLoss());
        o.put("tokens_per_s", Math.round(t.tokensPerSecond()));
        o.put("seconds", t.seconds());
        if (t.lastEval() != null) {
            o.put("val_loss", t.lastEval().loss());
            o.put("val_ppl", t.lastEval().perplexity());
            o.put("val_bpb", t.lastEval().bitsPerByte());
        }
        return o;
    }
}
