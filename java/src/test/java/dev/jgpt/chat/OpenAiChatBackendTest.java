package dev.jgpt.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.jgpt.JgptException;
import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.TokenListener;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Against a tiny OpenAI-style server on the loopback interface only. */
class OpenAiChatBackendTest {
    private HttpServer server;
    private final AtomicReference<String> requestBody = new AtomicReference<>();
    private final AtomicReference<String> authorization = new AtomicReference<>();

    private URI serve(int status, String contentType, String... chunks) throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/chat/completions", ex -> {
            requestBody.set(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            authorization.set(ex.getRequestHeaders().getFirst("Authorization"));
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.sendResponseHeaders(status, 0); // chunked
            try (OutputStream os = ex.getResponseBody()) {
                for (String c : chunks) {
                    os.write(c.getBytes(StandardCharsets.UTF_8));
                    os.flush();
                }
            }
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
    }

    @AfterEach
    void stop() {
        if (server != null) server.stop(0);
    }

    private static String delta(String content) {
        return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":" + JsonMapper.builder().build().writeValueAsString(content)
                + "},\"finish_reason\":null}]}\n\n";
    }

    @Test
    void streamsDeltasAndSendsTheStandardFields() throws Exception {
        URI base = serve(200, "text/event-stream",
                ": keep-alive comment\n\n",
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
                delta("Hel"), delta("lo, "), delta("wörld"),
                "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],"
                        + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n",
                "data: [DONE]\n\n");
        OpenAiChatBackend b = new OpenAiChatBackend(base, "tiny", "sk-test", 2048);
        List<String> pieces = new ArrayList<>();
        GenerationConfig c = GenerationConfig.DEFAULTS.withTemperature(0.5).withMaxNewTokens(3)
                .withStopSequences(List.of("\n\n")).withSeed(4L);
        ChatReply r = b.reply(List.of(ChatMessage.system("s"), ChatMessage.user("hi")), c, pieces::add);
        assertThat(pieces).containsExactly("Hel", "lo, ", "wörld");
        assertThat(r.text()).isEqualTo("Hello, wörld");
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.promptTokens()).isEqualTo(7);
        assertThat(r.completionTokens()).isEqualTo(3);
        assertThat(authorization.get()).isEqualTo("Bearer sk-test");

        JsonNode req = JsonMapper.builder().build().readTree(requestBody.get());
        assertThat(req.path("model").asString()).isEqualTo("tiny");
        assertThat(req.path("stream").asBoolean()).isTrue();
        assertThat(req.path("max_tokens").asInt()).isEqualTo(3);
        assertThat(req.path("temperature").asDouble()).isEqualTo(0.5);
        assertThat(req.path("seed").asLong()).isEqualTo(4L);
        assertThat(req.path("stop").get(0).asString()).isEqualTo("\n\n");
        assertThat(req.path("messages").get(1).path("role").asString()).isEqualTo("user");
        assertThat(req.path("messages").get(1).path("content").asString()).isEqualTo("hi");
        assertThat(req.has("top_k")).isFalse();
    }

    @Test
    void httpErrorsBecomeOneClearLine() throws Exception {
        URI base = serve(401, "application/json", "{\"error\":{\"message\":\"bad key\",\"type\":\"auth\"}}");
        OpenAiChatBackend b = new OpenAiChatBackend(base, "tiny", null, 2048);
        assertThatThrownBy(() -> b.reply(List.of(ChatMessage.user("hi")), GenerationConfig.DEFAULTS, TokenListener.NONE))
                .isInstanceOf(JgptException.class).hasMessageContaining("HTTP 401").hasMessageContaining("bad key");
        assertThat(authorization.get()).isNull();
    }

    @Test
    void unreachableEndpointIsNamed() {
        OpenAiChatBackend b = new OpenAiChatBackend(URI.create("http://127.0.0.1:1/v1"), "m", null, 2048);
        assertThatThrownBy(() -> b.reply(List.of(ChatMessage.user("hi")), GenerationConfig.DEFAULTS, TokenListener.NONE))
                .isInstanceOf(JgptException.class).hasMessageContaining("cannot reach http://127.0.0.1:1/v1/chat/completions");
    }

    @Test
    void garbageEventIsReported() throws Exception {
        URI base = serve(200, "text/event-stream", delta("a"), "data: {not json\n\n");
        OpenAiChatBackend b = new OpenAiChatBackend(base, "tiny", null, 2048);
        assertThatThrownBy(() -> b.reply(List.of(ChatMessage.user("hi")), GenerationConfig.DEFAULTS, TokenListener.NONE))
                .isInstanceOf(JgptException.class).hasMessageContaining("not JSON");
    }
}
