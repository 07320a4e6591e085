package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import tools.jackson.databind.json.JsonMapper;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServeCommandTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private CommandLine cli(ServeCommand cmd) {
        CommandLine cli = new CommandLine(cmd);
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli;
    }

    @Test
    void refusesANetworkAddressWithoutAKey() {
        int code = cli(new ServeCommand()).execute("--host", "0.0.0.0", "--random-model", "tiny", "--api-key", "");
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("--api-key").doesNotContain("Exception");
    }

    @Test
    void needsSomethingToServe(@TempDir Path empty) {
        assertThat(cli(new ServeCommand()).execute("--models", empty.resolve("nope").toString())).isNotZero();
        assertThat(err.toString()).contains("not a directory");
    }

    @Test
    void servesUntilStoppedAndPrintsItsAddress(@TempDir Path runs) throws Exception {
        ServeCommand cmd = new ServeCommand();
        CommandLine cli = cli(cmd);
        int[] code = {-1};
        Thread t = Thread.ofPlatform().start(() -> code[0] = cli.execute("--random-model", "tiny", "--port", "0", "--json",
                "--runs", runs.toString(), "--device", "reference"));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!out.toString().contains("\n") && System.nanoTime() < until) Thread.sleep(20);
        var info = JsonMapper.builder().build().readTree(out.toString());
        assertThat(info.path("models").get(0).asString()).isEqualTo("random-tiny");
        try (HttpClient http = HttpClient.newHttpClient()) {
            var r = http.send(HttpRequest.newBuilder(URI.create(info.path("url").asString()).resolve("/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("random-tiny");
        }
        assertThat(err.toString()).contains("listening on http://127.0.0.1:");
        cmd.stop();
        t.join(10_000);
        assertThat(code[0]).isZero();
    }
}
