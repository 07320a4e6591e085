package dev.jgpt.serve;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.TokenListener;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import tools.jackson.databind.JsonNode;

/**
 * A load client for {@code jgpt serve} (run it in its own process): N concurrent streaming clients,
 * each sending R chat requests; prints one JSON object with requests/s, tokens/s and time-to-first-
 * token percentiles.
 *
 * <pre>
 * java -cp java/target/jgpt.jar dev.jgpt.serve.LoadClient --url http://127.0.0.1:8080 --model random-small \
 *     --clients 8 --requests 4 --max-tokens 64
 * java -cp java/target/jgpt.jar dev.jgpt.serve.LoadClient --overhead small --max-tokens 64 --requests 10
 * </pre>
 *
 * {@code --overhead PRESET} measures instead what the server adds to one request: the same greedy
 * generation on a random model of the preset, in process through {@link Generator} and through the
 * server over loopback, one at a time.
 */
public final class LoadClient {
    private LoadClient() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        int maxTokens = Integer.parseInt(a.getOrDefault("max-tokens", "64"));
        int requests = Integer.parseInt(a.getOrDefault("requests", "4"));
        if (a.containsKey("overhead")) {
            System.out.println(Http.JSON.writeValueAsString(overhead(a.get("overhead"), a.getOrDefault("device", "auto"),
                    Integer.parseInt(a.getOrDefault("threads", "1")), maxTokens, requests)));
            return;
        }
        URI url = URI.create(a.getOrDefault("url", "http://127.0.0.1:8080"));
        int clients = Integer.parseInt(a.getOrDefault("clients", "1"));
        completions = "completions".equals(a.get("endpoint"));
        System.out.println(Http.JSON.writeValueAsString(load(url, a.getOrDefault("model", "random-small"), clients, requests,
                maxTokens, a.get("api-key"))));
    }

    record Sample(double ttftMillis, double totalMillis, int tokens) {}

    /** {@code --endpoint completions}: plain completions of a story opening instead of chat requests. */
    private static boolean completions;

    static Map<String, Object> load(URI url, String model, int clients, int requests, int maxTokens, String key) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        // one warm-up request so JIT and first-use costs stay out of the figures
        stream(http, url, model, maxTokens, key, 0);
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                fs.add(pool.submit(() -> {
                    for (int r = 0; r < requests; r++) samples.add(stream(http, url, model, maxTokens, key, client * 1000 + r));
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        }
        double wall = (System.nanoTime() - start) / 1e9;
        long tokens = samples.stream().mapToLong(Sample::tokens).sum();
        List<Double> ttft = samples.stream().map(Sample::ttftMillis).sorted().toList();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("clients", clients);
        o.put("requests", samples.size());
        o.put("max_tokens", maxTokens);
        o.put("wall_s", round(wall));
        o.put("requests_per_s", round(samples.size() / wall));
        o.put("tokens_per_s", round(tokens / wall));
        o.put("ttft_p50_ms", round(percentile(ttft, 0.50)));
        o.put("ttft_p99_ms", round(percentile(ttft, 0.99)));
        o.put("request_p50_ms", round(percentile(samples.stream().map(Sample::totalMillis).sorted().toList(), 0.5)));
        http.close();
        return o;
    }

    /** One streaming chat request: time to the first content chunk, whole time, completion tokens (from usage). */
    static Sample stream(HttpClient http, URI url, String model, int maxTokens, String key, int seed) throws Exception {
        String body = "{\"model\":" + Http.JSON.writeValueAsString(model) + ",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"max_tokens\":" + maxTokens + ",\"seed\":" + seed + (completions
                        ? ",\"prompt\":\"The whale rose from the sea, and the captain\"}"
                        : ",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story about a fox.\"}]}");
        HttpRequest.Builder b = HttpRequest.newBuilder(url.resolve(completions ? "/v1/completions" : "/v1/chat/completions"))
                .timeout(Duration.ofMinutes(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) b.header("Authorization", "Bearer " + key);
        long t0 = System.nanoTime();
        HttpResponse<java.io.InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) throw new IllegalStateException("HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes()));
        long first = 0;
        int tokens = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
                JsonNode j = Http.JSON.readTree(line.substring(6));
                if (j.has("error")) throw new IllegalStateException(j.toString());
                if (j.has("usage")) tokens = j.path("usage").path("completion_tokens").asInt();
                JsonNode c = j.path("choices").path(0);
                String piece = completions ? c.path("text").asString("") : c.path("delta").path("content").asString("");
                if (first == 0 && !piece.isEmpty()) first = System.nanoTime();
            }
        }
        long end = System.nanoTime();
        return new Sample(((first == 0 ? end : first) - t0) / 1e6, (end - t0) / 1e6, tokens);
    }

    /** Mean time of the same greedy completion in process and through the server (one at a time). */
    static Map<String, Object> overhead(String preset, String device, int threads, int maxTokens, int n) throws Exception {
        Backend backend = Backends.select(device).backend();
        backend.setThreads(threads);
        ModelRegistry reg = new ModelRegistry(p -> { throw new IllegalArgumentException(); }, 1, 4);
        ServedModel m = RandomModel.preset("bench", preset, backend, 1234).serveIn(reg);
        String prompt = "Tell me a story about a fox.";
        int[] ids = m.tokenizer().encode(prompt);
        GenerationConfig cfg = GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(maxTokens);
        Generator g = new Generator();
        try (JgptServer server = JgptServer.start(ServeOptions.defaults().withPort(0).withMaxTokens(Math.max(512, maxTokens)), reg)) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String body = "{\"model\":\"bench\",\"prompt\":" + Http.JSON.writeValueAsString(prompt) + ",\"max_tokens\":" + maxTokens
                    + ",\"temperature\":0,\"stream\":true}";
            double inTotal = 0, inTtft = 0, httpTotal = 0, httpTtft = 0;
            int tokens = 0;
            for (int i = -2; i < n; i++) { // two warm-up rounds
                long t0 = System.nanoTime();
                GenerationResult r = g.generate(m.primary(), m.tokenizer(), ids, cfg, TokenListener.NONE);
                double total = (System.nanoTime() - t0) / 1e6;
                long h0 = System.nanoTime();
                long first = 0;
                HttpResponse<java.io.InputStream> resp = http.send(HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
                try (BufferedReader in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) if (first == 0 && line.startsWith("data: {")) first = System.nanoTime();
                }
                double htotal = (System.nanoTime() - h0) / 1e6;
                if (i < 0) continue;
                inTotal += total;
                inTtft += r.timeToFirstTokenMillis();
                httpTotal += htotal;
                httpTtft += (first - h0) / 1e6;
                tokens = r.generatedTokens();
            }
            http.close();
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("preset", preset);
            o.put("device", backend.name());
            o.put("threads", threads);
            o.put("tokens", tokens);
            o.put("runs", n);
            o.put("inprocess_total_ms", round(inTotal / n));
            o.put("http_total_ms", round(httpTotal / n));
            o.put("added_total_ms", round((httpTotal - inTotal) / n));
            o.put("inprocess_ttft_ms", round(inTtft / n));
            o.put("http_ttft_ms", round(httpTtft / n));
            o.put("added_ttft_ms", round((httpTtft - inTtft) / n));
            return o;
        }
    }

    private static double percentile(List<Double> sorted, double q) {
        if (sorted.isEmpty()) return 0;
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
