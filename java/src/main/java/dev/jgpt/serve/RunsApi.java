package dev.jgpt.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The training dashboard's data: the runs in a runs directory, one run's config and checkpoints,
 * and its {@code metrics.jsonl} (and {@code sft/metrics.jsonl}) as server-sent events that follow
 * the files while {@code jgpt train} appends to them from another process.
 *
 * <p>Run and checkpoint names from a request are matched against a fresh listing of the runs
 * directory; they are never joined into a path.
 */
final class RunsApi {
    /** A run whose metrics changed this recently counts as running. */
    static final long RUNNING_MILLIS = 60_000;
    private static final long POLL_MILLIS = 200;
    private static final long PING_MILLIS = 5_000;
    private static final int MAX_CONFIG_BYTES = 64 * 1024;

    private final Path runsDir;
    private final ModelRegistry registry;

    RunsApi(Path runsDir, ModelRegistry registry) {
        this.runsDir = runsDir;
        this.registry = registry;
    }

    /** A checkpoint of a run: its id ("step-0000100", "sft/step-0000200") and directory. */
    record Checkpoint(String id, String phase, int step, Path dir) {}

    // ---- listing ------------------------------------------------------------------------------

    /** name -> directory of every run (a directory with metrics.jsonl, config.yaml or checkpoints/). */
    Map<String, Path> runs() {
        Map<String, Path> out = new LinkedHashMap<>();
        if (runsDir == null || !Files.isDirectory(runsDir)) return out;
        try (Stream<Path> s = Files.list(runsDir)) {
            for (Path p : s.sorted().toList()) {
                if (Files.isDirectory(p) && (Files.exists(p.resolve("metrics.jsonl")) || Files.exists(p.resolve("config.yaml"))
                        || Files.isDirectory(p.resolve("checkpoints")))) {
                    out.put(p.getFileName().toString(), p);
                }
            }
        } catch (IOException e) {
            // an unreadable runs directory lists nothing
        }
        return out;
    }

    private Path run(String name) {
        Path p = runs().get(name);
        if (p == null) throw ApiException.notFound("run_not_found", "no run called '" + name + "' in the runs directory");
        return p;
    }

    static List<Checkpoint> checkpoints(Path run) {
        List<Checkpoint> out = new ArrayList<>();
        addCheckpoints(out, run.resolve("checkpoints"), "pretrain", "");
        addCheckpoints(out, run.resolve("sft").resolve("checkpoints"), "sft", "sft/");
        return out;
    }

    private static void addCheckpoints(List<Checkpoint> out, Path dir, String phase, String prefix) {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (!n.matches("step-\\d{1,9}") || !Files.exists(p.resolve("model.safetensors"))) continue;
                out.add(new Checkpoint(prefix + n, phase, Integer.parseInt(n.substring(5)), p));
            }
        } catch (IOException e) {
            // unreadable: no checkpoints to show
        }
    }

    static List<Path> metricsFiles(Path run) {
        return List.of(run.resolve("metrics.jsonl"), run.resolve("sft").resolve("metrics.jsonl"));
    }

    static long lastModified(Path run) {
        long t = 0;
        for (Path f : metricsFiles(run)) {
            try {
                if (Files.exists(f)) t = Math.max(t, Files.getLastModifiedTime(f).toMillis());
            } catch (IOException ignored) {
                // vanished between the two calls
            }
        }
        return t;
    }

    static String status(Path run) {
        long t = lastModified(run);
        if (t == 0) return "empty";
        return System.currentTimeMillis() - t < RUNNING_MILLIS ? "running" : "finished";
    }

    // ---- GET /api/runs, /api/runs/NAME --------------------------------------------------------

    void list(HttpExchange ex) throws IOException {
        ObjectNode root = Http.JSON.createObjectNode();
        root.put("runs_dir", runsDir == null ? null : runsDir.toString());
        ArrayNode arr = root.putArray("runs");
        for (var e : runs().entrySet()) {
            ObjectNode r = arr.addObject();
            r.put("name", e.getKey());
            r.put("status", status(e.getValue()));
            r.put("updated", lastModified(e.getValue()));
            r.put("checkpoints", checkpoints(e.getValue()).size());
            JsonNode last = lastRecord(e.getValue());
            if (last != null) r.set("last", last);
        }
        Http.sendJson(ex, 200, root);
    }

    void detail(HttpExchange ex, String name) throws IOException {
        Path run = run(name);
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("name", name);
        o.put("status", status(run));
        Path cfg = run.resolve("config.yaml");
        if (Files.isRegularFile(cfg) && Files.size(cfg) <= MAX_CONFIG_BYTES) o.put("config", Files.readString(cfg));
        else o.putNull("config");
        ArrayNode cks = o.putArray("checkpoints");
        for (Checkpoint c : checkpoints(run)) {
            ObjectNode j = cks.addObject();
            j.put("id", c.id());
            j.put("phase", c.phase());
            j.put("step", c.step());
        }
        Http.sendJson(ex, 200, o);
    }

    private static JsonNode lastRecord(Path run) {
        JsonNode last = null;
        for (Path f : metricsFiles(run)) {
            if (!Files.isRegularFile(f)) continue;
            try {
                List<String> lines = tailLines(f, 8192);
                for (String l : lines) {
                    try {
                        JsonNode n = Http.JSON.readTree(l);
                        if ("train".equals(n.path("kind").asString(""))) last = n;
                    } catch (RuntimeException ignored) {
                        // a torn line
                    }
                }
            } catch (IOException ignored) {
                // unreadable
            }
        }
        return last;
    }

    private static List<String> tailLines(Path f, int bytes) throws IOException {
        try (var ch = Files.newByteChannel(f)) {
            long size = ch.size();
            long from = Math.max(0, size - bytes);
            ch.position(from);
            var buf = java.nio.ByteBuffer.allocate((int) (size - from));
            while (buf.hasRemaining() && ch.read(buf) > 0) { /* fill */ }
            String s = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
            List<String> lines = new ArrayList<>(List.of(s.split("\n")));
            if (from > 0 && !lines.isEmpty()) lines.removeFirst();
            return lines;
        }
    }

    // ---- POST /api/runs/NAME/chat -------------------------------------------------------------

    /** Loads a checkpoint of a run (by its listed id, or the run's own choice when absent) for chat. */
    void chat(HttpExchange ex, String name, int maxBody) throws IOException {
        ObjectNode req = Http.jsonObject(ex, maxBody);
        Path run = run(name);
        JsonNode id = req.get("checkpoint");
        Path dir;
        String model;
        if (id == null || id.isNull()) {
            dir = run;
            model = name;
        } else {
            if (!id.isString()) throw ApiException.badRequest("checkpoint", "'checkpoint' must be a string");
            Checkpoint c = checkpoints(run).stream().filter(k -> k.id().equals(id.asString())).findFirst()
                    .orElseThrow(() -> ApiException.notFound("checkpoint_not_found",
                            "run " + name + " has no checkpoint '" + id.asString() + "'"));
            dir = c.dir();
            model = name + "@" + c.id();
        }
        if (!ModelRegistry.NAME.matcher(model).matches()) throw ApiException.badRequest("checkpoint", "unusable run name '" + name + "'");
        ServedModel m = registry.loadOnDemand(model, dir);
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("model", m.name());
        o.put("chat", m.chat());
        Http.sendJson(ex, 200, o);
    }

    // ---- GET /api/runs/NAME/events ------------------------------------------------------------

    /**
     * Every metrics record so far, then each new one as the trainer appends it ({@code event: metric}),
     * {@code event: reset} when a file was rewritten (a resumed run drops its later lines), and
     * {@code event: status} / {@code event: checkpoints} when those change. Ends when the client goes.
     */
    void events(HttpExchange ex, String name, java.util.function.BooleanSupplier open) throws IOException {
        Path run = run(name);
        List<Tail> tails = metricsFiles(run).stream().map(Tail::new).toList();
        try (SseStream sse = new SseStream(ex)) {
            String status = null;
            int checkpoints = -1;
            long lastWrite = System.currentTimeMillis();
            while (open.getAsBoolean()) {
                boolean wrote = false;
                for (Tail t : tails) {
                    Tail.Read r = t.read();
                    if (r.reset()) {
                        sse.event("reset", "{}");
                        for (Tail o : tails) o.rewind();
                        wrote = true;
                        break;
                    }
                    for (String line : r.lines()) {
                        if (line.isBlank()) continue;
                        try {
                            Http.JSON.readTree(line);
                        } catch (RuntimeException e) {
                            continue; // only whole JSON records go out
                        }
                        sse.event("metric", line);
                        wrote = true;
                    }
                }
                String s = status(run);
                if (!s.equals(status)) {
                    status = s;
                    sse.event("status", Http.JSON.writeValueAsString(Map.of("status", s)));
                    wrote = true;
                }
                int n = checkpoints(run).size();
                if (n != checkpoints) {
                    checkpoints = n;
                    sse.event("checkpoints", Http.JSON.writeValueAsString(Map.of("count", n)));
                    wrote = true;
                }
                long now = System.currentTimeMillis();
                if (wrote) lastWrite = now;
                else if (now - lastWrite > PING_MILLIS) {
                    sse.ping();
                    lastWrite = now;
                }
                Thread.sleep(POLL_MILLIS);
            }
        } catch (IOException e) {
            // the browser closed the page
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Follows one file: new whole lines since the last read; notices when it was replaced or cut. */
    static final class Tail {
        record Read(List<String> lines, boolean reset) {}

        private final Path file;
        private long pos;
        private Object key;
        private byte[] partial = new byte[0];

        Tail(Path file) {
            this.file = file;
        }

        void rewind() {
            pos = 0;
            key = null;
            partial = new byte[0];
        }

        Read read() throws IOException {
            if (!Files.isRegularFile(file)) {
                boolean reset = key != null || pos > 0;
                if (reset) rewind();
                return new Read(List.of(), reset);
            }
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            Object k = a.fileKey();
            if ((key != null && !Objects.equals(key, k)) || a.size() < pos) {
                rewind();
                return new Read(List.of(), true);
            }
            key = k;
            if (a.size() == pos) return new Read(List.of(), false);
            byte[] fresh;
            try (InputStream in = Files.newInputStream(file)) {
                in.skipNBytes(pos);
                fresh = in.readNBytes((int) Math.min(a.size() - pos, 16 << 20));
            }
            pos += fresh.length;
            byte[] all = new byte[partial.length + fresh.length];
            System.arraycopy(partial, 0, all, 0, partial.length);
            System.arraycopy(fresh, 0, all, partial.length, fresh.length);
            int end = all.length;
            while (end > 0 && all[end - 1] != '\n') end--;
            partial = java.util.Arrays.copyOfRange(all, end, all.length);
            if (end == 0) return new Read(List.of(), false);
            return new Read(List.of(new String(all, 0, end, StandardCharsets.UTF_8).split("\n")), false);
        }
    }
}
