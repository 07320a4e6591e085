package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/** The API as curl sees it: a second client implementation, in another process. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CurlTest {
    static TestServer s;

    @BeforeAll
    static void start() {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "curl is not installed (/usr/bin/curl)");
        s = new TestServer(ServeOptions.defaults().withApiKey("k3y"));
    }

    @AfterAll
    static void stop() {
        if (s != null) s.close();
    }

    record Result(int status, String body) {}

    /** curl with the body on stdin; the status code is printed after a marker. */
    static Result curl(String path, String body, String... extra) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/curl", "-sS", "-N", "--max-time", "30",
                "-w", "\n@@%{http_code}", "-H", "Content-Type: application/json"));
        cmd.addAll(List.of(extra));
        if (body != null) cmd.addAll(List.of("--data-binary", "@-"));
        cmd.add(s.uri(path).toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (body != null) p.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(40, TimeUnit.SECONDS)).isTrue();
        int at = out.lastIndexOf("\n@@");
        return new Result(Integer.parseInt(out.substring(at + 3).trim()), out.substring(0, at));
    }

    static final String AUTH = "Authorization: Bearer k3y";

    @Test
    void streamsChatCompletions() throws Exception {
        Result r = curl("/v1/chat/completions", "{\"model\":\"tiny\",\"stream\":true,\"max_tokens\":10,\"seed\":1,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "-H", AUTH);
        assertThat(r.status()).isEqualTo(200);
        List<String> data = ServeApiTest.sseData(r.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        JsonNode last = TestServer.json(data.get(data.size() - 2));
        assertThat(last.path("choices").get(0).path("finish_reason").asString()).isIn("stop", "length");
    }

    @Test
    void plainCompletionAndModels() throws Exception {
        Result r = curl("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"hello\",\"max_tokens\":5}", "-H", AUTH);
        assertThat(r.status()).isEqualTo(200);
        assertThat(TestServer.json(r.body()).path("choices").get(0).has("text")).isTrue();
        Result m = curl("/v1/models", null, "-H", AUTH);
        assertThat(TestServer.json(m.body()).path("data").findValuesAsString("id")).contains("tiny");
    }

    @Test
    void errors() throws Exception {
        assertThat(curl("/v1/models", null, "-H", "Authorization: Bearer nope").status()).isEqualTo(401);
        assertThat(curl("/v1/models", null).status()).isEqualTo(401);
        Result bad = curl("/v1/completions", "{not json", "-H", AUTH);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(TestServer.json(bad.body()).path("error").path("type").asString()).isEqualTo("invalid_request_error");
        assertThat(curl("/v1/completions", "{\"model\":\"gone\",\"prompt\":\"x\"}", "-H", AUTH).status()).isEqualTo(404);
        Path big = Files.createTempFile("big", ".json");
        try {
            Files.writeString(big, "{\"model\":\"tiny\",\"prompt\":\"" + "y".repeat(1 << 21) + "\"}");
            Result r = curl("/v1/completions", null, "-H", AUTH, "--data-binary", "@" + big);
            assertThat(r.status()).isEqualTo(413);
        } finally {
            Files.delete(big);
        }
    }

    @Test
    void cancelledCurlStopsTheGeneration() throws Exception {
        ServedModel slow = s.server.registry().get("slow");
        long before = slow.cancelled();
        // curl gives up after 1 s of a 400-token (8 s) stream
        Result r = curl("/v1/completions", "{\"model\":\"slow\",\"prompt\":\"x\",\"max_tokens\":400,\"stream\":true}",
                "-H", AUTH, "--max-time", "1");
        assertThat(r.body()).contains("data: ");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (slow.cancelled() == before && System.nanoTime() < until) Thread.sleep(20);
        assertThat(slow.cancelled()).isEqualTo(before + 1);
    }
}
