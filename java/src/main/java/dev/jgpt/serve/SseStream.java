package dev.jgpt.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A server-sent-events response: chunked {@code text/event-stream}, one flush per event so each
 * reaches the client as soon as it exists. A write that fails means the client went away.
 */
final class SseStream implements AutoCloseable {
    private final HttpExchange ex;
    private final OutputStream out;

    SseStream(HttpExchange ex) throws IOException {
        this.ex = ex;
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.getResponseHeaders().set("X-Accel-Buffering", "no");
        ex.sendResponseHeaders(200, 0);
        this.out = ex.getResponseBody();
    }

    /** {@code data: <json>} */
    void data(Object json) throws IOException {
        data(Http.JSON.writeValueAsString(json));
    }

    void data(String line) throws IOException {
        write("data: " + line + "\n\n");
    }

    /** A named event ({@code event: NAME}). */
    void event(String name, String data) throws IOException {
        write("event: " + name + "\ndata: " + data + "\n\n");
    }

    /** A comment line: keeps proxies from timing out and finds out whether the client is still there. */
    void ping() throws IOException {
        write(": ping\n\n");
    }

    private void write(String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // the client is gone: nothing to finish
        }
        ex.close();
    }
}
