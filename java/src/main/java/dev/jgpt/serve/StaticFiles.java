package dev.jgpt.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The web pages, served from the jar's {@code web/} resources (plain HTML, CSS and ES modules, no
 * build step). Only names of one path element with a known extension are looked up, and only in
 * the class path: a request never reaches the filesystem.
 */
final class StaticFiles {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}\\.(html|js|css|svg)");
    private static final Map<String, String> PAGES = Map.of(
            "/", "index.html", "/runs", "runs.html", "/tokens", "tokens.html", "/attention", "attention.html");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8", "svg", "image/svg+xml");
    /** Scripts and styles only from this server; no inline script, no third-party anything. */
    private static final String CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    /** True when {@code path} named a page or file (and it was sent). */
    boolean serve(HttpExchange ex, String path) throws IOException {
        String name = PAGES.get(path);
        if (name == null && path.startsWith("/web/")) name = path.substring(5);
        if (name == null || !NAME.matcher(name).matches()) return false;
        byte[] body = cache.computeIfAbsent(name, StaticFiles::load);
        if (body.length == 0) return false;
        ex.getResponseHeaders().set("Content-Security-Policy", CSP);
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.getResponseHeaders().set("Referrer-Policy", "no-referrer");
        Http.send(ex, 200, TYPES.get(name.substring(name.lastIndexOf('.') + 1)), body);
        return true;
    }

    private static byte[] load(String name) {
        try (InputStream in = StaticFiles.class.getResourceAsStream("/web/" + name)) {
            return in == null ? new byte[0] : in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
