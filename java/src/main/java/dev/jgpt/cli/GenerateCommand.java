package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatFormat;
import dev.jgpt.chat.ChatMessage;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import dev.jgpt.generate.TextMetrics;
import dev.jgpt.generate.TokenListener;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code jgpt generate}: continue a prompt, streaming to stdout, or with {@code --grid} run it over
 * a grid of sampling settings and print a table with diversity / repetition figures.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text from a prompt with a trained model, streaming to stdout.",
                "With --grid: run the prompt over temperatures x top-k x top-p and compare the outputs."})
public final class GenerateCommand implements Runnable {
    static final long GRID_SEED = 1234;

    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "RUN", description = "Run directory, a llama2.c checkpoint (.bin) with --tokenizer, a Hugging Face Llama directory or a llama.cpp GGUF file.")
    Path model;

    @Option(names = "--prompt", defaultValue = "", paramLabel = "TEXT",
            description = "The prompt (special tokens such as <|endoftext|> are recognised). Empty: start from <|endoftext|>.")
    String prompt;

    @Option(names = "--chat", description = "Wrap the prompt as a user message in the chat template; the model answers as the assistant.")
    boolean chat;

    @Mixin GenerationOptions options = new GenerationOptions();

    @Mixin LlamaModelOptions llama = new LlamaModelOptions();

    @Option(names = "--json", description = "Print one JSON object (text and figures) instead of streaming.")
    boolean json;

    @Option(names = "--grid", description = "Run the prompt over a grid of sampling settings and print a table.")
    boolean grid;

    @Option(names = "--temperatures", split = ",", paramLabel = "T", defaultValue = "0,0.7,1.0",
            description = "Grid temperatures (default ${DEFAULT-VALUE}).")
    List<Double> temperatures;

    @Option(names = "--top-ks", split = ",", paramLabel = "K", defaultValue = "0,40",
            description = "Grid top-k values (default ${DEFAULT-VALUE}).")
    List<Integer> topKs;

    @Option(names = "--top-ps", split = ",", paramLabel = "P", defaultValue = "1.0,0.9",
            description = "Grid top-p values (default ${DEFAULT-VALUE}).")
    List<Double> topPs;

    private final ModelLoader loader;

    public GenerateCommand() {
        this(ModelLoader.standard());
    }

    GenerateCommand(ModelLoader loader) {
        this.loader = loader;
    }

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (LoadedModel m = llama.loaderFor(model, loader).load(model)) {
            ChatFormat format = null;
            try {
                if (chat) format = m.chatFormat(llama.chatFormat);
            } catch (JgptException e) {
                throw new JgptException("--chat: model " + model + ": " + e.getMessage(), e);
            }
            int[] ids = chat ? format.prompt(List.of(ChatMessage.user(prompt))) : m.tokenizer().encode(prompt);
            GenerationConfig base = GenerationConfig.DEFAULTS;
            if (!options.maxTokensGiven()) {
                // fit the default to the context so small models work without flags
                int room = m.model().contextLength() - Math.max(1, ids.length);
                base = base.withMaxNewTokens(Math.max(1, Math.min(base.maxNewTokens(), room)));
            }
            GenerationConfig config = options.apply(base);
            if (format != null) config = format.withTurnStops(config);
            Generator generator = new Generator();
            if (grid) runGrid(m, ids, config, generator, out, err);
            else runOnce(m, ids, config, generator, out, err);
        }
    }

    private void runOnce(LoadedModel m, int[] ids, GenerationConfig config, Generator generator, PrintWriter out,
            PrintWriter err) {
        TokenListener stream = json ? TokenListener.NONE : text -> {
            out.print(text);
            out.flush();
        };
        GenerationResult r = generator.generate(m.model(), m.tokenizer(), ids, config, stream);
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("model", m.name());
            doc.put("text", r.text());
            doc.put("finish_reason", r.finishReason().toString());
            doc.put("prompt_tokens", r.promptTokens());
            doc.put("truncated_prompt_tokens", r.truncatedTokens());
            doc.put("generated_tokens", r.generatedTokens());
            doc.put("time_to_first_token_ms", r.timeToFirstTokenMillis());
            doc.put("tokens_per_second", r.tokensPerSecond());
            doc.put("total_ms", r.totalMillis());
            doc.put("settings", config);
            // "device top-K": each token drawn from K candidates picked where the logits live; "host": from all logits
            int k = generator.lastDeviceCandidates();
            doc.put("sampling", k > 0 ? "device top-" + k : "host");
            doc.putAll(dev.jgpt.memory.MemoryUsage.now(m.model()).snakeJsonFields());
            out.println(JsonMapper.builder().build().writeValueAsString(doc));
        } else {
            out.println();
            err.printf(Locale.ROOT, "[%d tokens, finish %s, first token %.1f ms, %.1f tokens/s%s]%n",
                    r.generatedTokens(), r.finishReason(), r.timeToFirstTokenMillis(), r.tokensPerSecond(),
                    r.truncatedTokens() > 0 ? ", prompt truncated by " + r.truncatedTokens() + " tokens" : "");
        }
        out.flush();
        err.flush();
    }

    /** One row of the inference grid. */
    public record GridRow(double temperature, int topK, double topP, int tokens, Double distinct2, Double distinct3,
            Double repetitionRate, String finishReason, String text) {}

    private void runGrid(LoadedModel m, int[] ids, GenerationConfig config, Generator generator, PrintWriter out,
            PrintWriter err) {
        if (config.seed() == null) config = config.withSeed(GRID_SEED); // every cell draws from the same random stream
        List<GridRow> rows = new ArrayList<>();
        int cells = temperatures.size() * topKs.size() * topPs.size(), done = 0;
        for (double t : temperatures) {
            for (int k : topKs) {
                for (double p : topPs) {
                    GenerationConfig c = config.withTemperature(t).withTopK(k).withTopP(p);
                    GenerationResult r = generator.generate(m.model(), m.tokenizer(), ids, c, TokenListener.NONE);
                    int[] toks = r.tokenIds();
                    rows.add(new GridRow(t, k, p, toks.length, orNull(TextMetrics.distinctN(toks, 2)),
                            orNull(TextMetrics.distinctN(toks, 3)), orNull(TextMetrics.repetitionRate(toks)),
                            r.finishReason().toString(), r.text()));
                    err.printf(Locale.ROOT, "\rgrid %d/%d", ++done, cells);
                    err.flush();
                }
            }
        }
        err.println();
        err.flush();
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("model", m.name());
            doc.put("prompt", prompt);
            doc.put("seed", config.seed());
            doc.put("max_new_tokens", config.maxNewTokens());
            doc.put("metrics", Map.of(
                    "distinct2", "unique 2-grams / 2-grams of the generated tokens",
                    "distinct3", "unique 3-grams / 3-grams of the generated tokens",
                    "repetition_rate", "share of generated tokens equal to one of the "
                            + TextMetrics.REPETITION_WINDOW + " tokens before them"));
            doc.put("rows", rows);
            out.println(JsonMapper.builder().build().writeValueAsString(doc));
        } else {
            out.print(table(rows, config));
        }
        out.flush();
    }

    static String table(List<GridRow> rows, GenerationConfig config) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "# seed %d, max %d new tokens. dist-n = unique n-grams / n-grams of the "
                + "generated tokens (1 = no repeats); rep = share of generated tokens equal to one of the %d before "
                + "them (0 = none)%n", config.seed(), config.maxNewTokens(), TextMetrics.REPETITION_WINDOW));
        b.append(String.format(Locale.ROOT, "%5s %5s %5s %6s %6s %6s %5s %-6s  %s%n",
                "temp", "top_k", "top_p", "tokens", "dist-2", "dist-3", "rep", "finish", "output"));
        for (GridRow r : rows) {
            b.append(String.format(Locale.ROOT, "%5.2f %5d %5.2f %6d %6s %6s %5s %-6s  %s%n",
                    r.temperature(), r.topK(), r.topP(), r.tokens(), fmt(r.distinct2()), fmt(r.distinct3()),
                    fmt(r.repetitionRate()), r.finishReason(), oneLine(r.text(), 80)));
        }
        return b.toString();
    }

    private static Double orNull(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static String fmt(Double v) {
        return v == null ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    /** The text on one line: newlines and tabs shown as \n and \t, cut to {@code max} characters. */
    static String oneLine(String s, int max) {
        String t = s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        return t.codePointCount(0, t.length()) <= max ? t : t.substring(0, t.offsetByCodePoints(0, max - 1)) + "…";
    }
}
