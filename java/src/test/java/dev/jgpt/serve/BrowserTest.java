package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The pages in headless Chromium: a chat answer streams in, a training run's chart updates while
 * the run writes metrics, the tokenizer and attention views render. Screenshots go to
 * {@code target/screenshots/}. Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing
 * ({@code .ci/run} installs them).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class BrowserTest {
    static final Path SHOTS = Path.of("target", "screenshots");
    @TempDir static Path runs;
    static TestServer s;
    static WebDriver browser;
    static final AtomicBoolean training = new AtomicBoolean(true);
    static Thread trainer;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(WebDriver.available(), "headless browser tests need /usr/bin/chromium and /usr/bin/chromedriver"
                + " (apt-get install chromium chromium-driver); skipped");
        Path run = runs.resolve("live");
        Files.createDirectories(run);
        Files.writeString(run.resolve("config.yaml"), "model: tiny\n");
        Path metrics = run.resolve("metrics.jsonl");
        Files.writeString(metrics, "");
        // stands in for a jgpt train in another process: appends a record every 150 ms
        trainer = Thread.ofPlatform().daemon().start(() -> {
            int step = 0;
            while (training.get()) {
                step++;
                String line = "{\"kind\":\"train\",\"phase\":\"pretrain\",\"step\":" + step + ",\"loss\":" + (6.0 / Math.sqrt(step))
                        + ",\"lr\":0.0006,\"tokens_per_s\":" + (9000 + step) + "}\n";
                if (step % 10 == 0) line += "{\"kind\":\"eval\",\"phase\":\"pretrain\",\"step\":" + step
                        + ",\"val_loss\":4.0,\"val_bpb\":" + (3.0 / Math.sqrt(step)) + ",\"samples\":[\"once upon a time\"]}\n";
                try {
                    Files.writeString(metrics, line, StandardOpenOption.APPEND);
                    Thread.sleep(150);
                } catch (Exception e) {
                    return;
                }
            }
        });
        s = new TestServer(ServeOptions.defaults().withRunsDir(runs).withMaxTokens(64));
        browser = new WebDriver();
    }

    @AfterAll
    static void stop() throws Exception {
        training.set(false);
        if (browser != null) browser.close();
        if (s != null) s.close();
        if (trainer != null) trainer.join(2000);
    }

    @Test
    void chatAnswerStreamsIn() throws Exception {
        browser.open(s.uri("/?model=slow"));
        JsonNode models = browser.waitFor("return document.querySelectorAll('#model option').length", v -> v.asInt() >= 2, 10);
        assertThat(models.asInt()).isGreaterThanOrEqualTo(2);
        assertThat(browser.script("return document.getElementById('model').value").asString()).isEqualTo("slow");
        browser.script("document.getElementById('max_tokens').value = '30';"
                + "window.updates = 0; new MutationObserver(() => window.updates++).observe("
                + "document.getElementById('messages'), {subtree: true, childList: true, characterData: true});");
        browser.type("#input", "Hello, who are you?");
        browser.click("#send");
        JsonNode answer = browser.waitFor("const d = document.querySelector('.msg.assistant.done'); return d ? d.textContent : null",
                v -> !v.isNull(), 30);
        assertThat(answer.asString()).isNotEmpty().doesNotContain("⚠");
        // the text arrived in many steps, not at once
        assertThat(browser.script("return window.updates").asInt()).isGreaterThan(5);
        assertThat(browser.script("return document.querySelector('.msg.user').textContent").asString()).isEqualTo("Hello, who are you?");
        assertThat(browser.script("return document.getElementById('budget').textContent").asString()).contains("of 4096");
        browser.screenshot(SHOTS.resolve("chat.png"));

        // the stop button ends a long answer, and the server stops generating it
        ServedModel slow = s.server.registry().get("slow");
        long cancelled = slow.cancelled();
        browser.script("document.getElementById('max_tokens').value = '64';");
        browser.type("#input", "Tell me more");
        browser.click("#send");
        browser.waitFor("const m = document.querySelectorAll('.msg.assistant'); return m[m.length - 1].textContent.length",
                v -> v.asInt() > 3, 20);
        browser.click("#stop-button");
        JsonNode status = browser.waitFor("return document.getElementById('status').textContent", v -> v.asString().equals("stopped"), 10);
        assertThat(status.asString()).isEqualTo("stopped");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (slow.cancelled() == cancelled && System.nanoTime() < until) Thread.sleep(20);
        assertThat(slow.cancelled()).isEqualTo(cancelled + 1);
    }

    @Test
    void dashboardChartFollowsARunningTraining() throws Exception {
        browser.open(s.uri("/runs?run=live"));
        JsonNode first = browser.waitFor("return Number(document.getElementById('chart-loss').dataset.points || 0)", v -> v.asInt() > 0, 15);
        assertThat(first.asInt()).isPositive();
        JsonNode later = browser.waitFor("return Number(document.getElementById('chart-loss').dataset.points || 0)",
                v -> v.asInt() > first.asInt() + 3, 15);
        assertThat(later.asInt()).isGreaterThan(first.asInt() + 3);
        assertThat(browser.waitFor("return document.getElementById('run-status').textContent", v -> v.asString().contains("running"), 10)
                .asString()).contains("running");
        browser.waitFor("return document.querySelectorAll('#samples li').length", v -> v.asInt() > 0, 10);
        browser.screenshot(SHOTS.resolve("runs.png"));
    }

    @Test
    void tokenizerAndAttentionViews() throws Exception {
        browser.open(s.uri("/tokens?model=tiny"));
        JsonNode pieces = browser.waitFor("return document.querySelectorAll('#pieces .tok').length", v -> v.asInt() > 0, 10);
        browser.type("#text", " and more text");
        browser.waitFor("return document.querySelectorAll('#pieces .tok').length", v -> v.asInt() > pieces.asInt(), 10);
        browser.screenshot(SHOTS.resolve("tokens.png"));
        browser.open(s.uri("/attention?model=tiny"));
        JsonNode rows = browser.waitFor("return document.querySelectorAll('#heat tr').length", v -> v.asInt() > 2, 15);
        assertThat(rows.asInt()).isGreaterThan(2);
        assertThat(browser.script("return document.querySelectorAll('#top tr').length").asInt()).isEqualTo(5);
        browser.screenshot(SHOTS.resolve("attention.png"));
    }
}
