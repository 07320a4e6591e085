package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/** The OpenAI-compatible API driven by the JDK HttpClient over loopback. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServeApiTest {
    static TestServer s;

    @BeforeAll
    static void start() {
        s = new TestServer();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static String chat(String extra) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"hello there\"}]" + extra + "}";
    }

    @Test
    void listsModels() throws Exception {
        var r = s.get("/v1/models");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode j = TestServer.json(r.body());
        assertThat(j.path("object").asString()).isEqualTo("list");
        assertThat(j.path("data").findValuesAsString("id")).containsExactly("slow", "slowgpt", "tiny");
        assertThat(j.path("data").get(2).path("context_length").asInt()).isEqualTo(96);
        assertThat(s.get("/v1/models/tiny").statusCode()).isEqualTo(200);
        assertThat(s.get("/v1/models/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void chatCompletionHasOpenAiShape() throws Exception {
        var r = s.post("/v1/chat/completions", chat(",\"max_tokens\":12,\"seed\":5"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode j = TestServer.json(r.body());
        assertThat(j.path("object").asString()).isEqualTo("chat.completion");
        assertThat(j.path("id").asString()).startsWith("chatcmpl-");
        assertThat(j.path("model").asString()).isEqualTo("tiny");
        JsonNode c = j.path("choices").get(0);
        assertThat(c.path("message").path("role").asString()).isEqualTo("assistant");
        assertThat(c.path("message").path("content").isString()).isTrue();
        assertThat(c.path("finish_reason").asString()).isIn("stop", "length");
        JsonNode u = j.path("usage");
        assertThat(u.path("completion_tokens").asInt()).isBetween(0, 12);
        assertThat(u.path("prompt_tokens").asInt()).isGreaterThan(5);
        assertThat(u.path("total_tokens").asInt()).isEqualTo(u.path("prompt_tokens").asInt() + u.path("completion_tokens").asInt());
        // the same seed gives the same text
        var again = TestServer.json(s.post("/v1/chat/completions", chat(",\"max_tokens\":12,\"seed\":5")).body());
        assertThat(again.path("choices").get(0).path("message").path("content").asString())
                .isEqualTo(c.path("message").path("content").asString());
    }

    @Test
    void streamingChatMatchesTheWholeAnswer() throws Exception {
        String body = chat(",\"max_tokens\":20,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}");
        var r = s.post("/v1/chat/completions", body);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<String> data = sseData(r.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        JsonNode first = TestServer.json(data.getFirst());
        assertThat(first.path("object").asString()).isEqualTo("chat.completion.chunk");
        assertThat(first.path("choices").get(0).path("delta").path("role").asString()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode j = TestServer.json(d);
            assertThat(j.path("object").asString()).isEqualTo("chat.completion.chunk");
            if (j.has("usage")) {
                usage = j.path("usage");
                assertThat(j.path("choices")).isEmpty();
                continue;
            }
            JsonNode c = j.path("choices").get(0);
            text.append(c.path("delta").path("content").asString(""));
            if (!c.path("finish_reason").isNull()) finish = c.path("finish_reason").asString();
        }
        assertThat(finish).isIn("stop", "length");
        assertThat(usage).isNotNull();
        var whole = TestServer.json(s.post("/v1/chat/completions", chat(",\"max_tokens\":20,\"temperature\":0")).body());
        assertThat(text.toString()).isEqualTo(whole.path("choices").get(0).path("message").path("content").asString());
        assertThat(usage.path("completion_tokens").asInt()).isEqualTo(whole.path("usage").path("completion_tokens").asInt());
    }

    @Test
    void completionsPlainAndStreamed() throws Exception {
        var r = s.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"the quick\",\"max_tokens\":8,\"temperature\":0}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = TestServer.json(r.body());
        assertThat(j.path("object").asString()).isEqualTo("text_completion");
        String text = j.path("choices").get(0).path("text").asString();
        var st = s.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":[\"the quick\"],\"max_tokens\":8,\"temperature\":0,\"stream\":true}");
        StringBuilder b = new StringBuilder();
        List<String> data = sseData(st.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        for (String d : data.subList(0, data.size() - 1)) b.append(TestServer.json(d).path("choices").get(0).path("text").asString());
        assertThat(b.toString()).isEqualTo(text);
    }

    @Test
    void stopSequenceCutsTheText() throws Exception {
        // the slow model always says "a": a stop of "aaa" matches its first three tokens, so nothing is left
        String piece = "a";
        String stop = TestServer.JSON.writeValueAsString(piece.repeat(3));
        var r = s.post("/v1/completions", "{\"model\":\"slow\",\"prompt\":\"x\",\"max_tokens\":50,\"stop\":[" + stop + "]}");
        JsonNode j = TestServer.json(r.body());
        assertThat(j.path("choices").get(0).path("finish_reason").asString()).isEqualTo("stop");
        assertThat(j.path("choices").get(0).path("text").asString()).isEmpty();
        assertThat(j.path("usage").path("completion_tokens").asInt()).isEqualTo(3);
    }

    @Test
    void badRequestsGetOpenAiErrors() throws Exception {
        expectError(s.post("/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": ["), 400, "invalid_request_error", null);
        expectError(s.post("/v1/chat/completions", "[1,2]"), 400, "invalid_request_error", null);
        expectError(s.post("/v1/chat/completions", ""), 400, "invalid_request_error", null);
        expectError(s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), 400, "invalid_request_error", "model");
        expectError(s.post("/v1/chat/completions", chat(",\"n\":2")), 400, "invalid_request_error", "n");
        expectError(s.post("/v1/chat/completions", chat(",\"temperature\":\"hot\"")), 400, "invalid_request_error", "temperature");
        expectError(s.post("/v1/chat/completions", chat(",\"max_tokens\":100000")), 400, "invalid_request_error", "max_tokens");
        expectError(s.post("/v1/chat/completions", chat(",\"max_tokens\":95")), 400, "invalid_request_error", "messages");
        expectError(s.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}"),
                400, "invalid_request_error", "messages[0].role");
        expectError(s.post("/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"),
                404, "invalid_request_error", null);
        JsonNode nf = TestServer.json(s.post("/v1/completions", "{\"model\":\"../../etc/passwd\",\"prompt\":\"x\"}").body());
        assertThat(nf.path("error").path("code").asString()).isEqualTo("model_not_found");
        expectError(s.get("/v1/chat/completions"), 405, "invalid_request_error", null);
        expectError(s.get("/v1/nothing"), 404, "invalid_request_error", null);
    }

    @Test
    void oversizedBodyIs413() throws Exception {
        String big = "{\"model\":\"tiny\",\"prompt\":\"" + "x".repeat(2 << 20) + "\"}";
        expectError(s.post("/v1/completions", big), 413, "invalid_request_error", null);
        // a chunked body without Content-Length is cut off while reading too
        var r = s.http.send(HttpRequest.newBuilder(s.uri("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8))))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(413);
    }

    @Test
    void pathsFromRequestsNeverReachTheFilesystem() throws Exception {
        assertThat(s.get("/web/../../../../etc/passwd").statusCode()).isEqualTo(404);
        assertThat(s.get("/web/%2e%2e%2fpom.xml").statusCode()).isEqualTo(404);
        assertThat(s.get("/api/runs/..%2F..").statusCode()).isEqualTo(404);
        assertThat(s.get("/").statusCode()).isEqualTo(200);
        assertThat(s.get("/web/app.css").statusCode()).isEqualTo(200);
    }

    @Test
    void corsIsOffByDefault() throws Exception {
        var r = s.get("/v1/models", "Origin", "http://evil.example");
        assertThat(r.headers().firstValue("access-control-allow-origin")).isEmpty();
        try (TestServer c = new TestServer(ServeOptions.defaults().withCorsOrigin("http://localhost:3000"))) {
            var rc = c.get("/v1/models", "Origin", "http://localhost:3000");
            assertThat(rc.headers().firstValue("access-control-allow-origin")).hasValue("http://localhost:3000");
        }
    }

    @Test
    void apiKeyIsEnforced() throws Exception {
        try (TestServer k = new TestServer(ServeOptions.defaults().withApiKey("s3cret"))) {
            expectError(k.get("/v1/models"), 401, "invalid_request_error", null);
            expectError(k.get("/v1/models", "Authorization", "Bearer wrong"), 401, "invalid_request_error", null);
            expectError(k.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"x\",\"max_tokens\":2}", "Authorization", "Bearer s3cre"),
                    401, "invalid_request_error", null);
            assertThat(k.get("/v1/models", "Authorization", "Bearer s3cret").statusCode()).isEqualTo(200);
            assertThat(k.get("/").statusCode()).isEqualTo(200); // the page is public, it asks for the key
        }
    }

    @Test
    void nonLoopbackNeedsAKey() {
        assertThatThrownBy(() -> ServeOptions.defaults().withHost("0.0.0.0").checkExposure())
                .isInstanceOf(JgptException.class).hasMessageContaining("--api-key");
        ServeOptions.defaults().withHost("0.0.0.0").withApiKey("k").checkExposure();
        ServeOptions.defaults().withHost("localhost").checkExposure();
    }

    @Test
    void disconnectingClientStopsItsGeneration() throws Exception {
        disconnect("slow", 400);
    }

    @Test
    void disconnectingClientStopsItsBatchedGeneration() throws Exception {
        disconnect("slowgpt", 80); // 2 layers × 20 ms a token: over three seconds if never cancelled
    }

    private void disconnect(String model, int maxTokens) throws Exception {
        ServedModel slow = s.server.registry().get(model);
        long before = slow.cancelled();
        HttpRequest req = HttpRequest.newBuilder(s.uri("/v1/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"prompt\":\"x\",\"max_tokens\":" + maxTokens
                        + ",\"temperature\":0,\"stream\":true}")) // greedy: the same tokens every run
                .build();
        HttpResponse<InputStream> r = s.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            byte[] buf = new byte[256];
            int got = 0;
            while (got < 3) { // a few chunks arrived: it is generating
                int read = in.read(buf);
                assertThat(read).as("stream ended early").isNotNegative();
                if (read > 0) got++;
            }
            assertThat(slow.active()).isEqualTo(1);
        } // closing the stream drops the connection
        // the whole generation takes seconds; it must end long before that
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (slow.cancelled() == before && System.nanoTime() < until) Thread.sleep(20);
        assertThat(slow.cancelled()).isEqualTo(before + 1);
        while (slow.active() > 0 && System.nanoTime() < until) Thread.sleep(20);
        assertThat(slow.active()).isZero();
    }

    @Test
    void timeoutEndsALongGeneration() throws Exception {
        try (TestServer t = new TestServer(ServeOptions.defaults().withRequestTimeout(Duration.ofMillis(500)))) {
            var r = t.post("/v1/completions", "{\"model\":\"slow\",\"prompt\":\"x\",\"max_tokens\":400}");
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode j = TestServer.json(r.body());
            assertThat(j.path("choices").get(0).path("finish_reason").asString()).isEqualTo("length");
            assertThat(j.path("jgpt").path("timed_out").asBoolean()).isTrue();
            assertThat(j.path("usage").path("completion_tokens").asInt()).isLessThan(400);
        }
    }

    @Test
    void fiftyConcurrentStreamingClients() throws Exception {
        int clients = 50;
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<String>> answers = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            int seed = i;
            answers.add(pool.submit((Callable<String>) () -> {
                var r = s.post("/v1/chat/completions", chat(",\"max_tokens\":8,\"stream\":true,\"seed\":" + seed));
                assertThat(r.statusCode()).isEqualTo(200);
                List<String> data = sseData(r.body());
                assertThat(data.getLast()).isEqualTo("[DONE]");
                StringBuilder b = new StringBuilder();
                for (String d : data.subList(0, data.size() - 1)) {
                    JsonNode j = TestServer.json(d);
                    assertThat(j.has("error")).as(d).isFalse();
                    b.append(j.path("choices").get(0).path("delta").path("content").asString(""));
                }
                return b.toString();
            }));
        }
        for (int i = 0; i < clients; i++) {
            String streamed = answers.get(i).get(90, TimeUnit.SECONDS);
            if (i % 10 == 0) { // spot-check: each stream carries its own request's answer
                var whole = TestServer.json(s.post("/v1/chat/completions", chat(",\"max_tokens\":8,\"seed\":" + i)).body());
                assertThat(streamed).isEqualTo(whole.path("choices").get(0).path("message").path("content").asString());
            }
        }
        pool.shutdown();
        ServedModel tiny = s.server.registry().get("tiny");
        assertThat(tiny.batched()).isTrue();
        assertThat(tiny.meanBatch()).as("sequences per decode step").isGreaterThan(1.0);
    }

    static void expectError(HttpResponse<String> r, int status, String type, String param) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode e = TestServer.json(r.body()).path("error");
        assertThat(e.path("message").asString()).isNotBlank();
        assertThat(e.path("type").asString()).isEqualTo(type);
        assertThat(e.has("param") && e.has("code")).isTrue();
        if (param != null) assertThat(e.path("param").asString()).isEqualTo(param);
    }

    /** The {@code data:} payloads of an SSE body, in order. */
    static List<String> sseData(String body) {
        List<String> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            for (String line : event.split("\n")) if (line.startsWith("data: ")) out.add(line.substring(6));
        }
        return out;
    }
}
