package dev.jgpt.chat;

import dev.jgpt.JgptException;
import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.TokenListener;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Chat with any OpenAI-compatible server ({@code POST {base}/chat/completions} with
 * {@code stream: true}, answered as server-sent events ending in {@code data: [DONE]}), e.g. a
 * later {@code jgpt serve}, llama.cpp's server or vLLM.
 *
 * <p>Sends the standard fields only: {@code model, messages, stream, max_tokens, temperature,
 * top_p, stop, seed}; top-k and repetition penalty are not part of the API and are not sent.
 * Token counts for the memory budget are estimated (4 characters a token), since the remote
 * tokenizer is unknown.
 */
public final class OpenAiChatBackend implements ChatBackend {
    private final URI endpoint;
    private final String model;
    private final String apiKey;
    private final int contextLength;
    private final HttpClient http;
    private final JsonMapper json = JsonMapper.builder().build();

    /**
     * @param baseUrl the API root, e.g. {@code http://127.0.0.1:8080/v1}
     * @param apiKey sent as a bearer token when not null
     */
    public OpenAiChatBackend(URI baseUrl, String model, String apiKey, int contextLength) {
        String base = baseUrl.toString();
        this.endpoint = URI.create((base.endsWith("/") ? base : base + "/") + "chat/completions");
        this.model = model;
        this.apiKey = apiKey;
        this.contextLength = contextLength;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    @Override
    public String name() {
        return model + " at " + endpoint;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public int countTokens(ChatMessage message) {
        return message.content().length() / 4 + 4;
    }

    @Override
    public ChatReply reply(List<ChatMessage> conversation, GenerationConfig config, TokenListener listener) {
        HttpRequest.Builder req = HttpRequest.newBuilder(endpoint)
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(requestBody(conversation, config)));
        if (apiKey != null && !apiKey.isEmpty()) req.header("Authorization", "Bearer " + apiKey);
        HttpResponse<Stream<String>> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofLines());
        } catch (IOException e) {
            throw new JgptException("cannot reach " + endpoint + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JgptException("interrupted while waiting for " + endpoint, e);
        }
        try (Stream<String> lines = resp.body()) {
            if (resp.statusCode() != 200) {
                String body = String.join("\n", lines.limit(20).toList());
                throw new JgptException(endpoint + " answered HTTP " + resp.statusCode() + ": " + errorMessage(body));
            }
            return readEvents(lines.iterator(), listener);
        }
    }

    String requestBody(List<ChatMessage> conversation, GenerationConfig config) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", model);
        List<Map<String, String>> messages = new ArrayList<>();
        for (ChatMessage m : conversation) messages.add(Map.of("role", m.role(), "content", m.content()));
        body.put("messages", messages);
        body.put("stream", true);
        body.put("max_tokens", config.maxNewTokens());
        body.put("temperature", config.temperature());
        body.put("top_p", config.topP());
        if (!config.stopSequences().isEmpty()) body.put("stop", config.stopSequences());
        if (config.seed() != null) body.put("seed", config.seed());
        return json.writeValueAsString(body);
    }

    /** Reads {@code data:} events until {@code [DONE]} or the end of the stream. */
    private ChatReply readEvents(Iterator<String> lines, TokenListener listener) {
        StringBuilder text = new StringBuilder();
        FinishReason reason = FinishReason.EOS;
        int chunks = 0, promptTokens = 0, completionTokens = -1;
        long first = 0;
        while (lines.hasNext()) {
            String line = lines.next();
            if (!line.startsWith("data:")) continue; // comments, event names, blank separators
            String data = line.substring(5).strip();
            if (data.equals("[DONE]")) break;
            JsonNode event;
            try {
                event = json.readTree(data);
            } catch (JacksonException e) {
                throw new JgptException(endpoint + " sent an event that is not JSON: " + abbreviate(data));
            }
            if (event.has("error")) throw new JgptException(endpoint + " reported: " + errorMessage(data));
            JsonNode usage = event.path("usage");
            if (usage.isObject()) {
                promptTokens = usage.path("prompt_tokens").asInt(promptTokens);
                completionTokens = usage.path("completion_tokens").asInt(completionTokens);
            }
            JsonNode choice = event.path("choices").path(0);
            String delta = choice.path("delta").path("content").asString("");
            if (!delta.isEmpty()) {
                if (first == 0) first = System.nanoTime();
                chunks++;
                text.append(delta);
                listener.onToken(-1);
                listener.onText(delta);
            }
            String finish = choice.path("finish_reason").asString("");
            if (finish.equals("length")) reason = FinishReason.LENGTH;
            else if (finish.equals("stop")) reason = FinishReason.EOS;
        }
        double seconds = first == 0 ? 0 : (System.nanoTime() - first) / 1e9;
        int generated = completionTokens >= 0 ? completionTokens : chunks;
        return new ChatReply(text.toString(), reason, promptTokens, generated,
                seconds > 0 && generated > 1 ? (generated - 1) / seconds : 0);
    }

    /** The {@code error.message} of an OpenAI-style error body, else the body itself (shortened). */
    private String errorMessage(String body) {
        try {
            JsonNode n = json.readTree(body);
            String m = n.path("error").path("message").asString("");
            if (!m.isEmpty()) return m;
            if (n.path("error").isString()) return n.path("error").asString();
        } catch (JacksonException ignored) {
            // not JSON: show it as text
        }
        return abbreviate(body);
    }

    private static String abbreviate(String s) {
        s = s.replaceAll("\\s+", " ").strip();
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }
}
