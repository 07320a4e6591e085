package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backends;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.serve.ModelSource;
import dev.jgpt.serve.JgptServer;
import dev.jgpt.serve.ModelRegistry;
import dev.jgpt.serve.RandomModel;
import dev.jgpt.serve.ServeOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code jgpt serve}: an OpenAI-compatible HTTP API, a web chat, a live training dashboard and
 * views into the model, on one port (loopback by default).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve models over an OpenAI-compatible HTTP API, with a web chat at /, a training dashboard"
                + " at /runs and tokenizer / attention views at /tokens and /attention.")
public final class ServeCommand implements Runnable {

    @Spec CommandSpec spec;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address to listen on (default ${DEFAULT-VALUE}; anything but loopback needs --api-key).")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "N", description = "Port (default ${DEFAULT-VALUE}; 0 = any free one).")
    int port;

    @Option(names = "--model", paramLabel = "RUN",
            description = "A model to serve: a training run, the demo's output directory, a model directory, a llama2.c checkpoint or a GGUF file (repeatable).")
    List<Path> models = List.of();

    @Option(names = "--models", paramLabel = "DIR", description = "Serve every model found directly under DIR.")
    Path modelsDir;

    @Option(names = "--runs", paramLabel = "DIR", description = "Training runs to show on the dashboard at /runs (default: runs, when it exists).")
    Path runsDir;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:JGPT_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' on every API request (default: $JGPT_API_KEY).")
    String apiKey;

    @Option(names = "--cors-origin", paramLabel = "ORIGIN", description = "Allow browser calls from this origin (CORS is off by default).")
    String corsOrigin;

    @Option(names = "--max-body", defaultValue = "1048576", paramLabel = "BYTES", description = "Largest request body (default ${DEFAULT-VALUE}).")
    int maxBody;

    @Option(names = "--max-tokens", defaultValue = "512", paramLabel = "N", description = "Cap on max_tokens per request (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--timeout", defaultValue = "120", paramLabel = "SECONDS", description = "Per-request time limit, queueing included (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--instances", paramLabel = "N",
            description = "Sequences in flight per model, decoded together in one batched step; each has its own KV cache over shared weights (default 8).")
    Integer instances;

    @Option(names = "--queue", defaultValue = "256", paramLabel = "N", description = "Requests that may wait per model (default ${DEFAULT-VALUE}); more get 503.")
    int queue;

    @Option(names = "--device", defaultValue = "${env:JGPT_DEVICE:-auto}", paramLabel = "DEVICE",
            description = "auto, cuda, cpu or reference (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--threads", paramLabel = "N",
            description = "Kernel threads of each model's decode thread (default 1: a decode step is small, and extra kernel threads cost more than they gain on a busy machine; try more for large models).")
    Integer threads;

    @Option(names = "--dtype", paramLabel = "D",
            description = "Weights for decoding: f32, bf16, q8, gguf (default f32; for a GGUF file of quantized matrices its own blocks in place, gguf, or q8 where a type is not read in place; gguf: GGUF files on the cpu). q8: the cpu decoders, and for Llama models any backend (int8 matrices on the device on cuda); bf16: the cpu decoders, and on cuda its bf16 mode (products read bf16 weights: a Llama model's stored so on the device, a GPT-2 model's a copy beside the f32 ones); the reference backend decodes in f32 (Llama models also q8).")
    String dtype;

    @Option(names = "--group-size", defaultValue = "32", paramLabel = "G", description = "q8 group size, 32 or 64 (default ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--lora", paramLabel = "DIR",
            description = "LoRA adapters merged into the served Llama model as it loads: a LoRA run's checkpoint or a PEFT "
                    + "directory for the same base (the cpu decoder; a quantized GGUF file then decodes as q8).")
    java.nio.file.Path lora;

    @Option(names = "--chat-format", paramLabel = "NAME",
            description = "The chat format of /v1/chat/completions for every model: jgpt, chatml, llama2, llama2-sys, "
                    + "llama2-sys-bos, llama2-sys-strip, mistral-v1, mistral-v3, phi3, zephyr, llama3, vicuna, vicuna-orca, "
                    + "openchat (default: each model's own, from its chat template; jgpt's for jgpt runs).")
    String chatFormat;

    @Option(names = "--random-model", paramLabel = "PRESET", hidden = true,
            description = "Also serve a random-weight model of a preset (tiny, small, ...) named random-PRESET: for load tests.")
    List<String> randomModels = List.of();

    @Option(names = "--json", description = "Print one JSON object (url, port, models) on stdout once listening.")
    boolean json;

    private final ModelSource source;

    public ServeCommand() {
        this(null);
    }

    /** With {@code source} null, models are opened from disk on {@code --device}. */
    ServeCommand(ModelSource source) {
        this.source = source;
    }

    @Override
    public void run() {
        Path runs = runsDir != null ? runsDir : (java.nio.file.Files.isDirectory(Path.of("runs")) ? Path.of("runs") : null);
        if (runsDir != null && !java.nio.file.Files.isDirectory(runsDir)) throw new JgptException("--runs " + runsDir + ": not a directory");
        ServeOptions d = ServeOptions.defaults();
        ServeOptions opts = new ServeOptions(host, port, apiKey, corsOrigin, maxBody, maxTokens, Duration.ofSeconds(timeoutSeconds),
                instances != null ? instances : d.instancesPerModel(), queue, runs, d.maxViewTokens());
        opts.checkExposure(); // before loading anything
        var err = spec.commandLine().getErr();
        int kernelThreads = threads != null ? threads : 1; // see docs/PERFORMANCE.md: 2 threads were 30x slower under load
        if (kernelThreads < 1) throw new JgptException("--threads must be at least 1 (got " + kernelThreads + ")");
        ModelSource src = source != null ? source : ModelSource.standard(device, kernelThreads,
                dtype == null ? null : DecodeDType.parse(dtype), groupSize, lora);
        if (chatFormat != null) dev.jgpt.chat.ChatFormats.check(chatFormat); // a typo fails before any model loads
        ModelRegistry registry = new ModelRegistry(src, opts.instancesPerModel(), opts.maxQueue(), chatFormat);
        JgptServer server;
        try {
            for (Path m : models) registry.load(m);
            if (modelsDir != null) registry.loadAll(modelsDir, new java.io.PrintStream(System.err, true));
            for (String p : randomModels) {
                var backend = Backends.select(device).backend();
                backend.setThreads(kernelThreads);
                RandomModel.preset("random-" + p, p, backend, 1234).serveIn(registry);
            }
            if (registry.names().isEmpty() && runs == null) {
                throw new JgptException("nothing to serve: give --model RUN, --models DIR or --runs DIR");
            }
            server = JgptServer.start(opts, registry);
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        running = server;
        Thread hook = new Thread(this::stop, "jgpt-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        err.println("jgpt serve: listening on " + server.uri() + " (models: "
                + (registry.names().isEmpty() ? "none" : String.join(", ", registry.names())) + ")"
                + (runs != null ? "; runs: " + runs : "") + (opts.apiKey() != null ? "; API key required" : ""));
        err.flush();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("url", server.uri().toString());
            o.put("port", server.port());
            o.put("models", registry.names());
            PrintWriter out = spec.commandLine().getOut();
            out.println(JsonMapper.builder().build().writeValueAsString(o));
            out.flush();
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // already shutting down
        }
    }

    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile JgptServer running;

    /** Closes the server and lets {@link #run} return (Ctrl-C, or a test). */
    void stop() {
        JgptServer s = running;
        if (s != null) s.close();
        stopped.countDown();
    }
}
