package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** The tokenizer and attention views, and the dashboard's run listing and live metrics. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ViewsAndRunsTest {
    @TempDir static Path runs;
    static TestServer s;

    @BeforeAll
    static void start() throws Exception {
        Path r = runs.resolve("r1");
        Files.createDirectories(r.resolve("checkpoints/step-0000010"));
        Files.writeString(r.resolve("checkpoints/step-0000010/model.safetensors"), "");
        Files.writeString(r.resolve("config.yaml"), "model: tiny\nsteps: 100\n");
        Files.writeString(r.resolve("metrics.jsonl"), train(1, 5.5) + train(2, 5.0));
        Files.createDirectories(runs.resolve("not-a-run"));
        s = new TestServer(ServeOptions.defaults().withRunsDir(runs));
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static String train(int step, double loss) {
        return "{\"kind\":\"train\",\"phase\":\"pretrain\",\"step\":" + step + ",\"loss\":" + loss + ",\"lr\":0.001,\"tokens_per_s\":1000}\n";
    }

    @Test
    void tokenizerView() throws Exception {
        var r = s.post("/api/tokenize", "{\"model\":\"tiny\",\"text\":\"hello there <|endoftext|> é\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = TestServer.json(r.body());
        List<Integer> ids = j.path("tokens").findValues("id").stream().map(JsonNode::asInt).toList();
        assertThat(j.path("count").asInt()).isEqualTo(ids.size());
        var tok = s.server.registry().get("tiny").tokenizer();
        assertThat(tok.decode(ids.stream().mapToInt(Integer::intValue).toArray())).isEqualTo("hello there <|endoftext|> é");
        assertThat(j.path("tokens").findValues("special").stream().filter(JsonNode::asBoolean).count()).isEqualTo(1);
    }

    @Test
    void attentionView() throws Exception {
        var r = s.post("/api/attention", "{\"model\":\"tiny\",\"text\":\"the quick brown fox\",\"top_k\":3}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode j = TestServer.json(r.body());
        int T = j.path("tokens").size();
        assertThat(j.path("layers").asInt()).isEqualTo(2);
        assertThat(j.path("heads").asInt()).isEqualTo(2);
        assertThat(j.path("attention").size()).isEqualTo(2);
        for (JsonNode layer : j.path("attention")) {
            assertThat(layer.size()).isEqualTo(2);
            for (JsonNode head : layer) {
                assertThat(head.size()).isEqualTo(T);
                for (int q = 0; q < T; q++) {
                    JsonNode row = head.get(q);
                    assertThat(row.size()).isEqualTo(q + 1); // causal: only keys up to the query
                    double sum = 0;
                    for (JsonNode p : row) sum += p.asDouble();
                    assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(2e-3));
                }
            }
        }
        assertThat(j.path("top").size()).isEqualTo(T);
        for (JsonNode pos : j.path("top")) {
            assertThat(pos.size()).isEqualTo(3);
            assertThat(pos.get(0).path("p").asDouble()).isGreaterThanOrEqualTo(pos.get(1).path("p").asDouble());
        }
        var tooLong = s.post("/api/attention", "{\"model\":\"tiny\",\"text\":\"" + "x y ".repeat(100) + "\"}");
        assertThat(tooLong.statusCode()).isEqualTo(400);
        assertThat(s.post("/api/attention", "{\"model\":\"slow\",\"text\":\"x\"}").statusCode()).isEqualTo(400);
    }

    @Test
    void listsRunsAndTheirCheckpoints() throws Exception {
        JsonNode list = TestServer.json(s.get("/api/runs").body());
        assertThat(list.path("runs").findValuesAsString("name")).containsExactly("r1");
        assertThat(list.path("runs").get(0).path("last").path("step").asInt()).isIn(2, 3); // 3 once the follow test appended
        JsonNode d = TestServer.json(s.get("/api/runs/r1").body());
        assertThat(d.path("config").asString()).contains("steps: 100");
        assertThat(d.path("checkpoints").get(0).path("id").asString()).isEqualTo("step-0000010");
        assertThat(s.get("/api/runs/not-a-run").statusCode()).isEqualTo(404);
        assertThat(s.post("/api/runs/r1/chat", "{\"checkpoint\":\"../../etc\"}").statusCode()).isEqualTo(404);
        // a listed checkpoint goes to the model loader (the test's loads nothing: a clear 400)
        var r = s.post("/api/runs/r1/chat", "{\"checkpoint\":\"step-0000010\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(TestServer.json(r.body()).path("error").path("message").asString()).contains("step-0000010");
    }

    @Test
    void metricsStreamFollowsTheFile() throws Exception {
        Path metrics = runs.resolve("r1/metrics.jsonl");
        HttpRequest req = HttpRequest.newBuilder(s.uri("/api/runs/r1/events")).build();
        HttpResponse<java.io.InputStream> resp = s.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(resp.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        try (BufferedReader in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            List<Integer> steps = new ArrayList<>();
            boolean appended = false;
            String event = null;
            String line;
            while (steps.size() < 3 && (line = in.readLine()) != null) {
                if (line.startsWith("event: ")) event = line.substring(7);
                else if (line.startsWith("data: ") && "metric".equals(event)) {
                    steps.add(TestServer.json(line.substring(6)).path("step").asInt());
                    if (steps.size() == 2 && !appended) {
                        appended = true; // a trainer in another process appends a line, in two writes
                        Files.writeString(metrics, "{\"kind\":\"train\",\"phase\":\"pretrain\",\"st", StandardOpenOption.APPEND);
                        Thread.sleep(300);
                        Files.writeString(metrics, "ep\":3,\"loss\":4.5}\n", StandardOpenOption.APPEND);
                    }
                }
            }
            assertThat(steps).containsExactly(1, 2, 3);
        }
    }
}
