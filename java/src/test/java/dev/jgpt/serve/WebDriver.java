package dev.jgpt.serve;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;

/**
 * Just enough of the W3C WebDriver protocol to drive headless Chromium through Debian's
 * {@code chromedriver}, over the JDK HttpClient (no Selenium needed for this much).
 */
final class WebDriver implements AutoCloseable {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    private static final String ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

    private final Process driver;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final URI base;
    private final String session;
    private final Path profile;

    static boolean available() {
        return Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER);
    }

    WebDriver() throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        profile = Files.createTempDirectory("jgpt-chromium");
        driver = new ProcessBuilder(DRIVER.toString(), "--port=" + port, "--allowed-ips=127.0.0.1")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        base = URI.create("http://127.0.0.1:" + port + "/");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                if (call("GET", "status", null).path("value").path("ready").asBoolean()) break;
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > until) throw new IOException("chromedriver did not start");
            Thread.sleep(100);
        }
        Map<String, Object> caps = Map.of("capabilities", Map.of("alwaysMatch", Map.of(
                "browserName", "chrome",
                "goog:chromeOptions", Map.of("binary", CHROMIUM.toString(), "args", List.of(
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--window-size=1280,900", "--user-data-dir=" + profile)))));
        JsonNode r = call("POST", "session", caps);
        session = r.path("value").path("sessionId").asString();
        if (session.isEmpty()) throw new IOException("no WebDriver session: " + r);
    }

    private JsonNode call(String method, String path, Object body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30));
        if (method.equals("GET")) b.GET();
        else if (method.equals("DELETE")) b.DELETE();
        else b.header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(TestServer.JSON.writeValueAsString(body == null ? Map.of() : body)));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode j = TestServer.json(r.body());
        if (r.statusCode() >= 400) throw new IOException("WebDriver " + path + ": " + j.path("value").path("message").asString());
        return j;
    }

    private String s(String rest) {
        return "session/" + session + "/" + rest;
    }

    void open(URI url) throws IOException, InterruptedException {
        call("POST", s("url"), Map.of("url", url.toString()));
    }

    String find(String css) throws IOException, InterruptedException {
        JsonNode v = call("POST", s("element"), Map.of("using", "css selector", "value", css)).path("value");
        String id = v.path(ELEMENT).asString("");
        if (id.isEmpty()) throw new IOException("WebDriver: no element id for " + css + " in " + v);
        return id;
    }

    void type(String css, String text) throws IOException, InterruptedException {
        call("POST", s("element/" + find(css) + "/value"), Map.of("text", text));
    }

    void click(String css) throws IOException, InterruptedException {
        call("POST", s("element/" + find(css) + "/click"), Map.of());
    }

    JsonNode script(String js) throws IOException, InterruptedException {
        return call("POST", s("execute/sync"), Map.of("script", js, "args", List.of())).path("value");
    }

    /** Polls {@code js} until {@code ok} accepts its value (at most {@code seconds}); returns the last value. */
    JsonNode waitFor(String js, Predicate<JsonNode> ok, int seconds) throws IOException, InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        JsonNode v = script(js);
        while (!ok.test(v) && System.nanoTime() < until) {
            Thread.sleep(100);
            v = script(js);
        }
        return v;
    }

    void screenshot(Path file) throws IOException, InterruptedException {
        String png = call("GET", s("screenshot"), null).path("value").asString();
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(png));
    }

    @Override
    public void close() {
        try {
            if (session != null) call("DELETE", "session/" + session, null);
        } catch (Exception ignored) {
            // the driver is stopped below anyway
        }
        driver.destroy();
        try {
            if (!driver.waitFor(5, TimeUnit.SECONDS)) driver.destroyForcibly();
        } catch (InterruptedException e) {
            driver.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        http.close();
        try (var walk = Files.walk(profile)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind
        }
    }
}
