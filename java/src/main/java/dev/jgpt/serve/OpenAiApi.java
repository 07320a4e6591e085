package dev.jgpt.serve;

import com.sun.net.httpserver.HttpExchange;
import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatMessage;
import dev.jgpt.generate.BudgetPolicy;
import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.GenerationConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The OpenAI-compatible endpoints: {@code POST /v1/chat/completions}, {@code POST /v1/completions},
 * {@code GET /v1/models[/ID]}. Request and response bodies follow OpenAI's; {@code top_k} and
 * {@code repetition_penalty} are accepted as extensions, fields jgpt has no use for (such as
 * {@code presence_penalty}, {@code user}) are ignored, and {@code n} must be 1.
 */
final class OpenAiApi {
    /** Between SSE comments while a request waits in the queue: finds clients that gave up. */
    private static final long PING_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final ModelRegistry registry;
    private final ServeOptions opts;

    OpenAiApi(ModelRegistry registry, ServeOptions opts) {
        this.registry = registry;
        this.opts = opts;
    }

    // ---- GET /v1/models -----------------------------------------------------------------------

    void models(HttpExchange ex) throws IOException {
        ObjectNode root = Http.JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (ServedModel m : registry.all()) data.add(modelJson(m));
        Http.sendJson(ex, 200, root);
    }

    void model(HttpExchange ex, String id) throws IOException {
        Http.sendJson(ex, 200, modelJson(registry.get(id)));
    }

    private static ObjectNode modelJson(ServedModel m) {
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("id", m.name());
        o.put("object", "model");
        o.put("created", m.created());
        o.put("owned_by", "jgpt");
        o.put("context_length", m.contextLength());
        o.put("chat", m.chat());
        if (m.chat()) o.put("chat_format", m.chatFormat().name());
        o.put("sessions", m.sessions());
        return o;
    }

    // ---- POST /v1/chat/completions and /v1/completions ----------------------------------------

    void chatCompletions(HttpExchange ex) throws IOException {
        long start = System.nanoTime();
        ObjectNode req = Http.jsonObject(ex, opts.maxBodyBytes());
        ServedModel m = registry.get(requiredString(req, "model"));
        if (!m.chat()) {
            throw ApiException.badRequest("model", m.noChatReason() + "; use /v1/completions");
        }
        List<ChatMessage> messages = messages(req);
        int[] prompt = m.chatFormat().prompt(messages);
        run(ex, req, m, prompt, true, start);
    }

    void completions(HttpExchange ex) throws IOException {
        long start = System.nanoTime();
        ObjectNode req = Http.jsonObject(ex, opts.maxBodyBytes());
        ServedModel m = registry.get(requiredString(req, "model"));
        run(ex, req, m, completionPrompt(req, m), false, start);
    }

    private void run(HttpExchange ex, ObjectNode req, ServedModel m, int[] prompt, boolean chat, long start)
            throws IOException {
        GenerationConfig cfg = config(req, m.contextLength(), prompt.length, opts.maxTokens());
        if (chat) cfg = m.chatFormat().withTurnStops(cfg);
        boolean stream = bool(req, "stream", false);
        boolean usage = stream && req.path("stream_options").path("include_usage").asBoolean(false);
        long deadline = start + opts.requestTimeout().toNanos();
        DecodeJob job = new DecodeJob(prompt, cfg, deadline);
        m.submit(job);
        Reply r = new Reply(chat, m.name(), (chat ? "chatcmpl-" : "cmpl-") + randomId(), System.currentTimeMillis() / 1000);
        if (stream) stream(ex, job, r, usage, start);
        else collect(ex, job, r, start);
    }

    private void collect(HttpExchange ex, DecodeJob job, Reply r, long start) throws IOException {
        StringBuilder text = new StringBuilder();
        try {
            while (true) {
                DecodeJob.Event e = job.next();
                switch (e) {
                    case null -> {
                        job.cancel();
                        throw new ApiException(504, "server_error", "timeout", null, "the request took longer than the server's timeout of "
                                + opts.requestTimeout().toSeconds() + " s");
                    }
                    case DecodeJob.Text t -> text.append(t.text());
                    case DecodeJob.Failed f -> throw f.error();
                    case DecodeJob.Done d -> {
                        Http.sendJson(ex, 200, r.full(text.toString(), d, start));
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private void stream(HttpExchange ex, DecodeJob job, Reply r, boolean usage, long start) throws IOException {
        SseStream sse;
        try {
            sse = new SseStream(ex);
            if (r.chat) sse.data(r.chunk(roleDelta(), null, null));
        } catch (IOException e) {
            job.cancel();
            throw e;
        }
        try (sse) {
            long lastWrite = System.nanoTime();
            while (true) {
                DecodeJob.Event e = job.nextWithin(PING_NANOS);
                switch (e) {
                    case null -> {
                        if (job.expired() && System.nanoTime() - job.deadlineNanos > TimeUnit.SECONDS.toNanos(1)) {
                            job.cancel();
                            sse.data(Http.errorBody(new ApiException(504, "server_error", "timeout", null,
                                    "the request took longer than the server's timeout")));
                            sse.data("[DONE]");
                            return;
                        }
                        if (System.nanoTime() - lastWrite >= PING_NANOS) {
                            sse.ping();
                            lastWrite = System.nanoTime();
                        }
                    }
                    case DecodeJob.Text t -> {
                        sse.data(r.chunk(r.chat ? contentDelta(t.text()) : null, t.text(), null));
                        lastWrite = System.nanoTime();
                    }
                    case DecodeJob.Failed f -> {
                        sse.data(Http.errorBody(asApi(f.error())));
                        sse.data("[DONE]");
                        return;
                    }
                    case DecodeJob.Done d -> {
                        ObjectNode last = r.chunk(r.chat ? Http.JSON.createObjectNode() : null, r.chat ? null : "",
                                finishReason(d));
                        last.set("jgpt", r.timings(d, start));
                        sse.data(last);
                        if (usage) {
                            ObjectNode u = r.chunkBase();
                            u.putArray("choices");
                            u.set("usage", usage(d));
                            sse.data(u);
                        }
                        sse.data("[DONE]");
                        return;
                    }
                }
            }
        } catch (IOException e) {
            job.cancel(); // the client went away: stop generating for it
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
        }
    }

    /** What the server answers for an error that reached a stream or a response. */
    static ApiException asApi(RuntimeException e) {
        if (e instanceof ApiException a) return a;
        if (e instanceof JgptException) return ApiException.badRequest(null, e.getMessage());
        System.getLogger("jgpt.serve").log(System.Logger.Level.ERROR, "generation failed", e);
        return new ApiException(500, "server_error", "internal_error", null, "internal error: " + e);
    }

    // ---- response bodies ----------------------------------------------------------------------

    private record Reply(boolean chat, String model, String id, long created) {
        ObjectNode chunkBase() {
            return base(chat ? "chat.completion.chunk" : "text_completion");
        }

        /** The fields every response body starts with. */
        private ObjectNode base(String object) {
            ObjectNode o = Http.JSON.createObjectNode();
            o.put("id", id);
            o.put("object", object);
            o.put("created", created);
            o.put("model", model);
            o.putNull("system_fingerprint");
            return o;
        }

        ObjectNode chunk(ObjectNode delta, String text, String finish) {
            ObjectNode o = chunkBase();
            ObjectNode c = o.putArray("choices").addObject();
            c.put("index", 0);
            if (chat) c.set("delta", delta);
            else c.put("text", text);
            c.putNull("logprobs");
            if (finish == null) c.putNull("finish_reason"); else c.put("finish_reason", finish);
            return o;
        }

        ObjectNode full(String text, DecodeJob.Done d, long start) {
            ObjectNode o = base(chat ? "chat.completion" : "text_completion");
            ObjectNode c = o.putArray("choices").addObject();
            c.put("index", 0);
            if (chat) {
                ObjectNode msg = c.putObject("message");
                msg.put("role", "assistant");
                msg.put("content", text);
            } else {
                c.put("text", text);
            }
            c.putNull("logprobs");
            c.put("finish_reason", finishReason(d));
            o.set("usage", usage(d));
            o.set("jgpt", timings(d, start));
            return o;
        }

        ObjectNode timings(DecodeJob.Done d, long start) {
            ObjectNode t = Http.JSON.createObjectNode();
            t.put("time_to_first_token_ms", d.timeToFirstTokenMillis());
            t.put("tokens_per_second", d.tokensPerSecond());
            t.put("total_ms", (System.nanoTime() - start) / 1e6);
            t.put("timed_out", d.timedOut());
            return t;
        }
    }

    private static ObjectNode usage(DecodeJob.Done d) {
        ObjectNode u = Http.JSON.createObjectNode();
        u.put("prompt_tokens", d.promptTokens());
        u.put("completion_tokens", d.completionTokens());
        u.put("total_tokens", d.promptTokens() + d.completionTokens());
        return u;
    }

    private static String finishReason(DecodeJob.Done d) {
        return d.finishReason() == FinishReason.LENGTH ? "length" : "stop"; // eos and stop sequences are both "stop"
    }

    private static ObjectNode roleDelta() {
        ObjectNode d = Http.JSON.createObjectNode();
        d.put("role", "assistant");
        d.put("content", "");
        return d;
    }

    private static ObjectNode contentDelta(String text) {
        ObjectNode d = Http.JSON.createObjectNode();
        d.put("content", text);
        return d;
    }

    private static String randomId() {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    // ---- request fields -----------------------------------------------------------------------

    static List<ChatMessage> messages(ObjectNode req) {
        JsonNode arr = req.get("messages");
        if (arr == null || arr.isNull()) throw ApiException.badRequest("messages", "'messages' is required");
        if (!arr.isArray() || arr.isEmpty()) throw ApiException.badRequest("messages", "'messages' must be a non-empty array");
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode m = arr.get(i);
            String p = "messages[" + i + "]";
            if (!m.isObject()) throw ApiException.badRequest(p, p + " must be an object with 'role' and 'content'");
            String role = m.path("role").isString() ? m.get("role").asString() : null;
            if (role == null) throw ApiException.badRequest(p + ".role", p + ".role must be a string");
            if (role.equals("developer")) role = ChatMessage.SYSTEM; // OpenAI's newer name for system
            String content = content(m.get("content"), p + ".content");
            try {
                out.add(new ChatMessage(role, content));
            } catch (JgptException e) {
                throw ApiException.badRequest(p + ".role", p + ": " + e.getMessage());
            }
        }
        return out;
    }

    /** A message's content: a string, or an array of {@code {"type": "text", "text": ...}} parts. */
    private static String content(JsonNode c, String param) {
        if (c == null || c.isNull()) return "";
        if (c.isString()) return c.asString();
        if (c.isArray()) {
            StringBuilder b = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asString("")) || !part.path("text").isString()) {
                    throw ApiException.badRequest(param, param + ": only text parts are supported");
                }
                b.append(part.get("text").asString());
            }
            return b.toString();
        }
        throw ApiException.badRequest(param, param + " must be a string or an array of text parts");
    }

    private static int[] completionPrompt(ObjectNode req, ServedModel m) {
        JsonNode p = req.get("prompt");
        if (p == null || p.isNull()) throw ApiException.badRequest("prompt", "'prompt' is required");
        if (p.isArray()) {
            if (p.size() == 1 && p.get(0).isString()) p = p.get(0);
            else if (!p.isEmpty() && allInts(p)) return tokenIds(p, m);
            else throw ApiException.badRequest("prompt", "'prompt' must be a string, one string in an array, or an array of token ids");
        }
        if (!p.isString()) throw ApiException.badRequest("prompt", "'prompt' must be a string");
        return m.tokenizer().encode(p.asString());
    }

    private static boolean allInts(JsonNode arr) {
        for (JsonNode n : arr) if (!n.isIntegralNumber()) return false;
        return true;
    }

    private static int[] tokenIds(JsonNode arr, ServedModel m) {
        int[] ids = new int[arr.size()];
        int v = m.tokenizer().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            long id = arr.get(i).asLong();
            if (id < 0 || id >= v) throw ApiException.badRequest("prompt", "prompt[" + i + "] = " + id + " is not a token id in [0, " + v + ")");
            ids[i] = (int) id;
        }
        return ids;
    }

    /** The generation settings of a request, checked against the model's context and the server's cap. */
    static GenerationConfig config(ObjectNode req, int context, int promptTokens, int cap) {
        JsonNode n = req.get("n");
        if (n != null && !n.isNull() && (!n.isIntegralNumber() || n.asInt() != 1)) {
            throw ApiException.badRequest("n", "only n = 1 is supported");
        }
        int prompt = Math.max(1, promptTokens);
        Integer max = integer(req, "max_completion_tokens");
        if (max == null) max = integer(req, "max_tokens");
        String maxParam = req.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (max != null && max < 1) throw ApiException.badRequest(maxParam, maxParam + " must be at least 1");
        if (max != null && max > cap) {
            throw ApiException.badRequest(maxParam, maxParam + " = " + max + " exceeds this server's limit of " + cap);
        }
        int tokens = max != null ? max : Math.min(cap, context - prompt);
        if (prompt + tokens > context) {
            throw new ApiException(400, "invalid_request_error", "context_length_exceeded", "messages",
                    "This model's maximum context length is " + context + " tokens. However, you requested "
                            + (prompt + tokens) + " tokens (" + prompt + " in the prompt, " + tokens
                            + " for the completion). Please reduce the prompt or the completion length.");
        }
        GenerationConfig c = GenerationConfig.DEFAULTS.withMaxNewTokens(tokens).withBudgetPolicy(BudgetPolicy.ERROR);
        Double t = number(req, "temperature");
        if (t != null) {
            if (t < 0 || t > 2) throw ApiException.badRequest("temperature", "temperature must be in [0, 2]");
            c = c.withTemperature(t);
        }
        Double p = number(req, "top_p");
        if (p != null) {
            if (!(p > 0 && p <= 1)) throw ApiException.badRequest("top_p", "top_p must be in (0, 1]");
            c = c.withTopP(p);
        }
        Integer k = integer(req, "top_k");
        if (k != null) {
            if (k < 0) throw ApiException.badRequest("top_k", "top_k must be >= 0 (0 turns it off)");
            c = c.withTopK(k);
        }
        Double rp = number(req, "repetition_penalty");
        if (rp != null) {
            if (!(rp > 0 && rp <= 10)) throw ApiException.badRequest("repetition_penalty", "repetition_penalty must be in (0, 10]");
            c = c.withRepetitionPenalty(rp);
        }
        JsonNode seed = req.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.isIntegralNumber() || !seed.canConvertToLong()) throw ApiException.badRequest("seed", "seed must be an integer");
            c = c.withSeed(seed.asLong());
        }
        return c.withStopSequences(stops(req));
    }

    private static List<String> stops(ObjectNode req) {
        JsonNode s = req.get("stop");
        if (s == null || s.isNull()) return List.of();
        List<String> out = new ArrayList<>();
        if (s.isString()) out.add(s.asString());
        else if (s.isArray() && s.size() <= 4) for (JsonNode e : s) out.add(e.isString() ? e.asString() : null);
        else throw ApiException.badRequest("stop", "stop must be a string or an array of at most 4 strings");
        for (String x : out) {
            if (x == null || x.isEmpty()) throw ApiException.badRequest("stop", "stop sequences must be non-empty strings");
        }
        return out;
    }

    static String requiredString(ObjectNode req, String field) {
        JsonNode n = req.get(field);
        if (n == null || n.isNull()) throw ApiException.badRequest(field, "'" + field + "' is required");
        if (!n.isString()) throw ApiException.badRequest(field, "'" + field + "' must be a string");
        return n.asString();
    }

    static Integer integer(ObjectNode req, String field) {
        JsonNode n = req.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw ApiException.badRequest(field, "'" + field + "' must be an integer");
        return n.asInt();
    }

    static Double number(ObjectNode req, String field) {
        JsonNode n = req.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isNumber()) throw ApiException.badRequest(field, "'" + field + "' must be a number");
        return n.asDouble();
    }

    static boolean bool(ObjectNode req, String field, boolean dflt) {
        JsonNode n = req.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isBoolean()) throw ApiException.badRequest(field, "'" + field + "' must be true or false");
        return n.asBoolean();
    }
}
