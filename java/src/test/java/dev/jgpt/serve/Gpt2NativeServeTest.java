package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.model.Gpt2Decoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A GPT-2 run served on the cpu backend: decoded by libjgpt's {@link Gpt2Decoder} in the chosen dtype
 * and batched by {@code Gpt2NativeBatchDecoder}; concurrent clients each get the greedy text the same
 * prompt gets alone, and the attention view still works over the native model's weights.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class Gpt2NativeServeTest {
    @TempDir Path dir;

    @Test
    void concurrentClientsGetTheGreedyTextOfOneClientAloneQ8() throws Exception {
        servesBatched(DecodeDType.Q8);
    }

    @Test
    void concurrentClientsGetTheGreedyTextOfOneClientAloneF32() throws Exception {
        servesBatched(DecodeDType.F32);
    }

    private void servesBatched(DecodeDType dtype) throws Exception {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
        Path run = dev.jgpt.testing.TinyRuns.gpt2(dir.resolve("g"), new dev.jgpt.model.GptConfig(280, 64, 2, 2, 32),
                "hello there, how are you? the quick brown fox", false);
        int clients = 8, maxTokens = 40;
        List<int[]> prompts = new ArrayList<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int i = 0; i < clients; i++) {
            int[] p = new int[1 + i * 3];
            for (int j = 0; j < p.length; j++) p[j] = 40 + r.nextInt(200);
            prompts.add(p);
        }
        // 3 sequences in flight for 8 clients: the others wait and take freed slots mid-run
        ModelRegistry reg = new ModelRegistry(ModelSource.standard("cpu", 1, dtype, 32), 3, 64);
        ServedModel served = reg.load(run);
        assertThat(served.primary()).isInstanceOf(Gpt2Decoder.class);
        assertThat(((Gpt2Decoder) served.primary()).dtype()).isEqualTo(dtype);
        assertThat(served.batched()).isTrue();
        assertThat(served.sessions()).isEqualTo(3);
        try (JgptServer server = JgptServer.start(ServeOptions.defaults().withPort(0).withInstancesPerModel(3), reg)) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            List<String> alone = new ArrayList<>();
            for (int i = 0; i < clients; i++) alone.add(stream(http, server, served.name(), prompts.get(i), maxTokens));
            assertThat(served.meanBatch()).isEqualTo(1.0);

            ConcurrentClients.untilBatched(served, clients, i -> stream(http, server, served.name(), prompts.get(i), maxTokens),
                    (i, text) -> assertThat(text).as("client %d, concurrent vs alone", i).isEqualTo(alone.get(i)));
            assertThat(String.join("", alone).length()).as("the texts are not all empty").isGreaterThan(clients * 3);

            var att = http.send(HttpRequest.newBuilder(server.uri().resolve("/api/attention"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + served.name() + "\",\"text\":\"hello there\",\"top_k\":3}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(att.statusCode()).as(att.body()).isEqualTo(200);
            assertThat(TestServer.json(att.body()).path("attention").size()).isEqualTo(2);
            http.close();
        }
    }

    /** One streamed greedy completion of the token ids {@code prompt}: the concatenated deltas. */
    private static String stream(HttpClient http, JgptServer server, String model, int[] prompt, int maxTokens) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"prompt\":" + java.util.Arrays.toString(prompt) + ",\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"stream\":true}";
        var r = http.send(HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> data = ServeApiTest.sseData(r.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        StringBuilder b = new StringBuilder();
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode j = TestServer.json(d);
            assertThat(j.has("error")).as(d).isFalse();
            b.append(j.path("choices").get(0).path("text").asString(""));
        }
        return b.toString();
    }
}
