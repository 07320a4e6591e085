package dev.jgpt.serve;

import dev.jgpt.io.Json;
import com.sun.net.httpserver.HttpExchange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** Reading requests and writing JSON responses on the JDK's {@link HttpExchange}. */
final class Http {
    static final JsonMapper JSON = JsonMapper.builder().build();

    private Http() {}

    /**
     * The request body, at most {@code max} bytes.
     *
     * @throws ApiException 413 when it is larger (checked against Content-Length before reading)
     */
    static byte[] body(HttpExchange ex, int max) throws IOException {
        String len = ex.getRequestHeaders().getFirst("Content-Length");
        if (len != null) {
            long n;
            try {
                n = Long.parseLong(len.trim());
            } catch (NumberFormatException e) {
                throw ApiException.badRequest(null, "Content-Length is not a number");
            }
            if (n > max) {
                drain(ex, n);
                throw tooLarge(max);
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int r;
            while ((r = in.read(buf)) > 0) {
                if (out.size() + r > max) {
                    drain(ex, LINGER_BYTES);
                    throw tooLarge(max);
                }
                out.write(buf, 0, r);
            }
            return out.toByteArray();
        }
    }

    /** How much of a refused body is still read so that the client sees the 413 rather than a reset. */
    private static final long LINGER_BYTES = 64L << 20;

    /**
     * Reads and drops what is left of the request body (up to {@link #LINGER_BYTES}). Answering before
     * the client has finished sending makes the server close a socket with unread data, which the
     * kernel turns into a reset: the client then loses the 413 and sees "connection reset". Larger
     * bodies are not read; their clients may see the reset.
     */
    private static void drain(HttpExchange ex, long declared) {
        if (declared > LINGER_BYTES) return;
        try (InputStream in = ex.getRequestBody()) {
            byte[] buf = new byte[65536];
            long left = LINGER_BYTES;
            int r;
            while (left > 0 && (r = in.read(buf)) > 0) left -= r;
        } catch (IOException ignored) {
            // the client went away: nothing to answer
        }
    }

    private static ApiException tooLarge(int max) {
        return new ApiException(413, "invalid_request_error", "request_too_large", null,
                "request body exceeds the server's limit of " + max + " bytes");
    }

    /** The body as a JSON object; 400 for anything else. */
    static ObjectNode jsonObject(HttpExchange ex, int max) throws IOException {
        byte[] b = body(ex, max);
        if (b.length == 0) throw ApiException.badRequest(null, "request body is empty; expected a JSON object");
        JsonNode n;
        try {
            n = JSON.readTree(b);
        } catch (JacksonException e) {
            throw ApiException.badRequest(null, "request body is not valid JSON: " + Json.problem(e));
        }
        if (!(n instanceof ObjectNode o)) throw ApiException.badRequest(null, "request body must be a JSON object");
        return o;
    }

    static void sendJson(HttpExchange ex, int status, Object body) throws IOException {
        send(ex, status, "application/json", JSON.writeValueAsBytes(body));
    }

    static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream o = ex.getResponseBody()) {
                o.write(body);
            }
        }
        ex.close();
    }

    static ObjectNode errorBody(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) err.putNull("param"); else err.put("param", e.param());
        if (e.code() == null) err.putNull("code"); else err.put("code", e.code());
        return root;
    }

    static void sendError(HttpExchange ex, ApiException e) throws IOException {
        if (e.status() == 401) ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
        sendJson(ex, e.status(), errorBody(e));
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
