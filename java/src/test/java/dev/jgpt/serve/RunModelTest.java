package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import dev.jgpt.train.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** Serving what {@code jgpt train} writes: a run directory and, from the dashboard, one of its checkpoints. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RunModelTest {
    @TempDir Path runs;

    @Test
    void servesARunAndChatsWithACheckpoint() throws Exception {
        Path run = runs.resolve("r");
        Files.createDirectories(run);
        BpeTokenizer tok = new BpeTrainer(280).threads(1).trainOnTexts(List.of("hello there, how are you? the quick brown fox."));
        Path tokFile = run.resolve("tokenizer.json");
        tok.saveTokenizerJson(tokFile);
        try (var backend = new ReferenceBackend(); Gpt2 model = new Gpt2(backend, new GptConfig(280, 64, 2, 2, 32), 1, 8)) {
            model.initWeights(3);
            var state = TestServer.JSON.createObjectNode().put("step", 10);
            Checkpoints.save(run, model, 10, state, java.util.List.of(tokFile), tok.specialTokenId("<|endoftext|>").getAsInt(), 3);
        }
        Files.writeString(run.resolve("metrics.jsonl"), "{\"kind\":\"train\",\"phase\":\"pretrain\",\"step\":10,\"loss\":5.0}\n");

        // --models DIR: what loads is served, what does not is reported and skipped
        Files.createDirectories(runs.resolve("junk"));
        try (ModelRegistry all = new ModelRegistry(ModelSource.gpt2("reference", 1), 1, 4)) {
            var log = new java.io.ByteArrayOutputStream();
            assertThat(all.loadAll(runs, new java.io.PrintStream(log, true))).isEqualTo(1);
            assertThat(all.names()).containsExactly("r");
            assertThat(log.toString()).contains("skipping").contains("junk");
        }

        ServeOptions opts = ServeOptions.defaults().withRunsDir(runs).withInstancesPerModel(2).withPort(0);
        ModelRegistry reg = new ModelRegistry(ModelSource.gpt2("reference", 1), 2, 16);
        ServedModel served = reg.load(run);
        assertThat(served.name()).isEqualTo("r");
        assertThat(served.sessions()).isEqualTo(2); // two caches over one set of weights
        try (JgptServer server = JgptServer.start(opts, reg)) {
            var http = java.net.http.HttpClient.newHttpClient();
            var chat = post(http, server, "/v1/chat/completions",
                    "{\"model\":\"r\",\"max_tokens\":6,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            assertThat(post(http, server, "/api/attention", "{\"model\":\"r\",\"text\":\"hello there\"}").statusCode()).isEqualTo(200);

            var load = post(http, server, "/api/runs/r/chat", "{\"checkpoint\":\"step-0000010\"}");
            assertThat(load.statusCode()).as(load.body()).isEqualTo(200);
            String name = TestServer.json(load.body()).path("model").asString();
            assertThat(name).isEqualTo("r@step-0000010");
            var c = post(http, server, "/v1/completions", "{\"model\":\"" + name + "\",\"prompt\":\"the\",\"max_tokens\":4}");
            assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
            JsonNode models = TestServer.json(http.send(java.net.http.HttpRequest.newBuilder(server.uri().resolve("/v1/models")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body());
            assertThat(models.path("data").findValuesAsString("id")).containsExactly("r", "r@step-0000010");
            http.close();
        }
    }

    private static java.net.http.HttpResponse<String> post(java.net.http.HttpClient http, JgptServer s, String path, String body)
            throws Exception {
        return http.send(java.net.http.HttpRequest.newBuilder(s.uri().resolve(path)).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    }
}
