package dev.jgpt.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.jgpt.JgptException;
import dev.jgpt.chat.Style;
import dev.jgpt.chat.Styles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code jgpt serve}: the JDK's HTTP server with one virtual thread per request, routing to the
 * OpenAI-compatible API ({@code /v1/...}), the views and dashboard API ({@code /api/...}) and the
 * web pages ({@code /}, {@code /runs}, {@code /tokens}, {@code /attention}).
 *
 * <p>Security: API requests need {@code Authorization: Bearer KEY} when a key is set (the pages
 * themselves are public and ask for the key); CORS headers are sent only when an origin is
 * configured; request bodies are capped; no request names a file.
 */
public final class JgptServer implements AutoCloseable {
    static {
        // SSE events are small writes: without TCP_NODELAY each waits for the previous one's ACK
        if (System.getProperty("sun.net.httpserver.nodelay") == null) System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private final ServeOptions opts;
    private final ModelRegistry registry;
    private final HttpServer server;
    private final ExecutorService executor;
    private final OpenAiApi openai;
    private final RunsApi runs;
    private final ModelViews views;
    private final StaticFiles files = new StaticFiles();
    private final byte[] apiKey;
    private volatile boolean open = true;

    private JgptServer(ServeOptions opts, ModelRegistry registry) throws IOException {
        this.opts = opts;
        this.registry = registry;
        this.openai = new OpenAiApi(registry, opts);
        this.runs = new RunsApi(opts.runsDir(), registry);
        this.views = new ModelViews(opts.maxViewTokens());
        this.apiKey = opts.apiKey() == null ? null : opts.apiKey().getBytes(StandardCharsets.UTF_8);
        this.server = HttpServer.create(new InetSocketAddress(opts.host(), opts.port()), 512);
        this.executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/", this::handle);
    }

    /** Binds and starts serving; the registry is closed with the server. */
    public static JgptServer start(ServeOptions opts, ModelRegistry registry) {
        opts.checkExposure();
        try {
            JgptServer s = new JgptServer(opts, registry);
            s.server.start();
            return s;
        } catch (java.net.BindException e) {
            throw new JgptException("cannot listen on " + opts.host() + ":" + opts.port() + ": " + e.getMessage()
                    + " (is another server using the port? try --port 0 for any free one)");
        } catch (IOException e) {
            throw new JgptException("cannot listen on " + opts.host() + ":" + opts.port() + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public URI uri() {
        String h = opts.host().contains(":") ? "[" + opts.host() + "]" : opts.host();
        return URI.create("http://" + h + ":" + port() + "/");
    }

    public ModelRegistry registry() {
        return registry;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            String method = ex.getRequestMethod();
            try {
                if (opts.corsOrigin() != null) {
                    var h = ex.getResponseHeaders();
                    h.set("Access-Control-Allow-Origin", opts.corsOrigin());
                    h.set("Access-Control-Allow-Headers", "Authorization, Content-Type");
                    h.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
                    h.set("Vary", "Origin");
                    if (method.equals("OPTIONS")) {
                        ex.sendResponseHeaders(204, -1);
                        return;
                    }
                }
                boolean api = path.startsWith("/v1/") || path.startsWith("/api/") || path.equals("/v1") || path.equals("/api");
                if (api) {
                    authorize(ex);
                    route(ex, method, path);
                } else if (!method.equals("GET") || !files.serve(ex, path)) {
                    throw ApiException.notFound("not_found", "no page at " + path);
                }
            } catch (ApiException e) {
                Http.sendError(ex, e);
            } catch (JgptException e) {
                Http.sendError(ex, ApiException.badRequest(null, e.getMessage()));
            } catch (IOException e) {
                // the client went away
            } catch (RuntimeException e) {
                Http.sendError(ex, OpenAiApi.asApi(e));
            }
        } catch (IOException | RuntimeException e) {
            // could not even send the error: the response was already under way or the client is gone
        }
    }

    private void authorize(HttpExchange ex) {
        if (apiKey == null) return;
        String h = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = h != null && h.regionMatches(true, 0, "Bearer ", 0, 7)
                ? h.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, apiKey)) { // constant time: the comparison leaks no prefix
            throw new ApiException(401, "invalid_request_error", "invalid_api_key", null,
                    h == null ? "You didn't provide an API key: send 'Authorization: Bearer KEY'" : "Incorrect API key provided");
        }
    }

    private void route(HttpExchange ex, String method, String path) throws IOException {
        String[] seg = path.substring(1).split("/", -1);
        switch (path) {
            case "/v1/chat/completions" -> { post(method); openai.chatCompletions(ex); }
            case "/v1/completions" -> { post(method); openai.completions(ex); }
            case "/v1/models" -> { get(method); openai.models(ex); }
            case "/api/styles" -> { get(method); Http.sendJson(ex, 200, styles()); }
            case "/api/tokenize" -> {
                post(method);
                ObjectNode req = Http.jsonObject(ex, opts.maxBodyBytes());
                ServedModel m = registry.get(OpenAiApi.requiredString(req, "model"));
                Http.sendJson(ex, 200, views.tokenize(m, OpenAiApi.requiredString(req, "text")));
            }
            case "/api/attention" -> {
                post(method);
                ObjectNode req = Http.jsonObject(ex, opts.maxBodyBytes());
                ServedModel m = registry.get(OpenAiApi.requiredString(req, "model"));
                Integer k = OpenAiApi.integer(req, "top_k");
                Http.sendJson(ex, 200, views.attention(m, OpenAiApi.requiredString(req, "text"), k == null ? 5 : k));
            }
            case "/api/runs" -> { get(method); runs.list(ex); }
            default -> {
                if (seg.length == 3 && seg[0].equals("v1") && seg[1].equals("models")) {
                    get(method);
                    openai.model(ex, decode(seg[2]));
                } else if (seg.length == 3 && seg[0].equals("api") && seg[1].equals("runs")) {
                    get(method);
                    runs.detail(ex, decode(seg[2]));
                } else if (seg.length == 4 && seg[0].equals("api") && seg[1].equals("runs") && seg[3].equals("events")) {
                    get(method);
                    runs.events(ex, decode(seg[2]), () -> open);
                } else if (seg.length == 4 && seg[0].equals("api") && seg[1].equals("runs") && seg[3].equals("chat")) {
                    post(method);
                    runs.chat(ex, decode(seg[2]), opts.maxBodyBytes());
                } else {
                    throw ApiException.notFound("unknown_url", "Unknown request URL: " + method + " " + path);
                }
            }
        }
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static void post(String method) {
        if (!method.equals("POST")) throw new ApiException(405, "invalid_request_error", "method_not_allowed", null, "use POST");
    }

    private static void get(String method) {
        if (!method.equals("GET")) throw new ApiException(405, "invalid_request_error", "method_not_allowed", null, "use GET");
    }

    private ObjectNode styles() {
        ObjectNode o = Http.JSON.createObjectNode();
        ArrayNode arr = o.putArray("styles");
        for (Style s : Styles.all()) {
            ObjectNode j = arr.addObject();
            j.put("name", s.name());
            j.put("description", s.description());
            j.put("system_prompt", s.systemPrompt());
            j.put("temperature", s.temperature());
            j.put("top_k", s.topK());
            j.put("top_p", s.topP());
            j.put("repetition_penalty", s.repetitionPenalty());
        }
        o.put("max_tokens", opts.maxTokens());
        return o;
    }

    @Override
    public void close() {
        open = false;
        server.stop(0);
        executor.shutdownNow();
        views.close();
        registry.close();
    }
}
