package dev.jgpt.serve;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.GptConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A loopback server with tiny models for tests, and a JDK HttpClient to talk to it. */
final class TestServer implements AutoCloseable {
    static final JsonMapper JSON = JsonMapper.builder().build();
    /** Tiny GPT-2: fast on the reference backend. */
    static final GptConfig TINY = new GptConfig(300, 96, 2, 2, 32);

    final JgptServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    TestServer(ServeOptions opts) {
        ModelRegistry reg = new ModelRegistry(p -> {
            throw new dev.jgpt.JgptException("model " + p + ": the test loader loads nothing");
        }, opts.instancesPerModel(), opts.maxQueue());
        new RandomModel("tiny", new ReferenceBackend(), TINY, 280, 7).serveIn(reg);
        var tok = tokenizerOf(reg);
        reg.add("slow", new LoadedModel("slow", new SlowLm(300, 4096, 20, tok.encodeOrdinary("a")[0]), tok));
        new RandomModel("slowgpt", slowBackend(20), TINY, 280, 8).serveIn(reg);
        server = JgptServer.start(opts.withPort(0), reg);
    }

    TestServer() {
        this(ServeOptions.defaults().withInstancesPerModel(2).withMaxTokens(400));
    }

    /**
     * The reference backend, sleeping {@code millis} in every decode attention op (whichever of them the decoders
     * call: the match is on the name, so a new decode op cannot quietly make the model fast again): a slow GPT-2
     * for batched cancellation tests.
     */
    static dev.jgpt.backend.Backend slowBackend(int millis) {
        var real = new ReferenceBackend();
        return (dev.jgpt.backend.Backend) java.lang.reflect.Proxy.newProxyInstance(TestServer.class.getClassLoader(),
                new Class<?>[] {dev.jgpt.backend.Backend.class}, (proxy, method, args) -> {
                    if (method.getName().toLowerCase(java.util.Locale.ROOT).contains("attentiondecode")) Thread.sleep(millis);
                    try {
                        return method.invoke(real, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static dev.jgpt.tokenizer.Tokenizer tokenizerOf(ModelRegistry reg) {
        return reg.get("tiny").tokenizer();
    }

    URI uri(String path) {
        return server.uri().resolve(path);
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60)).GET();
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(String s) {
        return JSON.readTree(s);
    }

    @Override
    public void close() {
        server.close();
        http.close();
    }

    /**
     * A model that sleeps per token and strongly prefers one token ("a"): long, slow generations for the
     * cancellation and timeout tests (it never runs out of context).
     */
    static final class SlowLm implements CausalLm {
        private final int vocab, context, millis;
        private final TensorArena arena = TensorArena.host();
        private final Tensor logits;
        private int pos;

        SlowLm(int vocab, int context, int millis, int favourite) {
            this.vocab = vocab;
            this.context = context;
            this.millis = millis;
            logits = arena.allocate(DType.F32, vocab);
            for (int i = 0; i < vocab; i++) logits.setFloat(i, i == favourite ? 20f : 0f);
        }

        @Override public int vocabSize() { return vocab; }
        @Override public int contextLength() { return context; }
        @Override public void reset() { pos = 0; }
        @Override public int position() { return pos; }

        @Override
        public Tensor prefill(int[] tokens) {
            pos += tokens.length;
            return logits;
        }

        @Override
        public Tensor step(int token) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            pos++;
            return logits;
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
