package dev.jgpt.data;

import dev.jgpt.JgptException;
import tools.jackson.databind.JsonNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.Stream;

/**
 * {@code jgpt data prepare}: reads documents, normalises them ({@link TextNormalizer}), drops the
 * ones the {@link QualityFilter} rejects, removes exact duplicates (SHA-256 of the normalised text)
 * and near duplicates ({@link MinHash} + {@link NearDuplicateIndex}; the first occurrence stays),
 * and splits the rest into train and validation by source: a document goes to validation when a
 * seeded hash of its source's file name (plus line for JSONL) falls below the validation fraction,
 * so the split is stable when inputs are added, reordered or named by another path, and a
 * document is never on both sides.
 *
 * <p>Output: {@code DIR/train/part-*.jsonl}, {@code DIR/val/part-*.jsonl} (lines {@code {"text",
 * "source"}}) and {@code DIR/report.json}. Everything is written into a temporary directory first
 * and moved into place only when the run succeeds, so a failed run leaves earlier output intact.
 *
 * <p>Work runs in batches: reading is sequential, normalising/filtering/signatures run on
 * {@code threads} cores, de-duplication and writing are sequential in input order (deterministic).
 */
public final class Preparer {

    public record Config(QualityFilter.Config quality, boolean exactDedup, boolean nearDedup,
                         double nearThreshold, int shingleWords, int minhashPerms, double valFraction,
                         long seed, int threads) {
        public static Config defaults() {
            return new Config(QualityFilter.Config.DEFAULT, true, true, 0.8, 5, 128, 0.05, 1337,
                    Runtime.getRuntime().availableProcessors());
        }
    }

    private static final long BATCH_BYTES = 8L << 20;
    private static final long PART_BYTES = 128L << 20;

    private final Config cfg;
    private final Progress progress;
    private final QualityFilter filter;
    private final MinHash minHash;
    private final NearDuplicateIndex nearIndex;
    private final Set<String> seen = new HashSet<>();
    private final Map<String, Long> removed = new LinkedHashMap<>();
    private long docsIn, bytesIn, exactDups, nearDups;
    private PartWriter train, val;
    private String lowestTrainSource;  // the train document whose split score is lowest (fallback for an empty val)
    private double lowestTrainScore = Double.MAX_VALUE;

    public Preparer(Config cfg, Progress progress) {
        if (cfg.valFraction() < 0 || cfg.valFraction() >= 1) {
            throw new JgptException("--val-fraction must be in [0, 1), got " + cfg.valFraction());
        }
        this.cfg = cfg;
        this.progress = progress;
        this.filter = new QualityFilter(cfg.quality());
        this.minHash = new MinHash(cfg.minhashPerms(), cfg.shingleWords(), cfg.seed());
        this.nearIndex = cfg.nearDedup() ? new NearDuplicateIndex(cfg.minhashPerms(), cfg.nearThreshold()) : null;
        for (QualityFilter.Reason r : QualityFilter.Reason.values()) removed.put(r.key, 0L);
    }

    private record Analysed(RawDocument raw, String text, QualityFilter.Reason reason, String hash, int[] signature) {}

    /** Runs the pipeline once (a Preparer is single-use: it accumulates counts and the de-duplication index). */
    public PrepareReport run(List<Path> inputs, Path outDir) {
        if (train != null) throw new IllegalStateException("a Preparer runs once; make a new one");
        long t0 = System.nanoTime();
        List<Path> files = DocumentReader.expand(inputs, outDir);
        Path tmp = outDir.resolve(".prepare-tmp");
        deleteTree(tmp);
        List<DocumentReader.InputFile> infos = new ArrayList<>();
        try (ForkJoinPool pool = new ForkJoinPool(Math.max(1, cfg.threads()))) {
            train = new PartWriter(tmp.resolve("train"), PART_BYTES);
            val = new PartWriter(tmp.resolve("val"), PART_BYTES);
            List<RawDocument> batch = new ArrayList<>();
            long[] batchBytes = {0};
            for (int i = 0; i < files.size(); i++) {
                Path f = files.get(i);
                int fi = i;
                infos.add(DocumentReader.read(f, d -> {
                    batch.add(d);
                    batchBytes[0] += d.bytes();
                    if (batchBytes[0] >= BATCH_BYTES) {
                        process(pool, batch);
                        batch.clear();
                        batchBytes[0] = 0;
                        progress.update(String.format("prepare: file %d/%d, %d documents, %s read", fi + 1, files.size(), docsIn, Progress.mb(bytesIn)));
                    }
                }));
                progress.update(String.format("prepare: file %d/%d, %d documents, %s read", fi + 1, files.size(), docsIn + batch.size(), Progress.mb(bytesIn)));
            }
            process(pool, batch);
            train.close();
            val.close();
            boolean moved = false;
            if (val.documents == 0 && train.documents >= 2 && cfg.valFraction() > 0) {
                moveToVal(lowestTrainSource);
                moved = true;
            }
            PrepareReport report = report(infos, outDir, moved, (System.nanoTime() - t0) / 1e9);
            AtomicFiles.writeString(tmp.resolve(PrepareReport.FILE_NAME), report.toJson());
            install(tmp, outDir);
            return report;
        } catch (RuntimeException e) {
            for (PartWriter w : new PartWriter[] {train, val}) {
                try {
                    if (w != null) w.close();
                } catch (RuntimeException ignored) { /* the first error is the one to report */ }
            }
            deleteTree(tmp);
            throw e;
        }
    }

    private void process(ForkJoinPool pool, List<RawDocument> batch) {
        if (batch.isEmpty()) return;
        List<Analysed> done;
        try {
            done = pool.submit(() -> batch.parallelStream().map(this::analyse).toList()).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new JgptException("interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
        for (Analysed a : done) {
            docsIn++;
            bytesIn += a.raw().bytes();
            if (a.reason() != null) {
                removed.merge(a.reason().key, 1L, Long::sum);
                continue;
            }
            if (cfg.exactDedup() && !seen.add(a.hash())) {
                exactDups++;
                continue;
            }
            if (nearIndex != null && nearIndex.addIfNew(a.signature()) >= 0) {
                nearDups++;
                continue;
            }
            double score = splitScore(a.raw().splitKey());
            if (score < cfg.valFraction()) {
                val.write(a.raw().source(), a.text());
            } else {
                train.write(a.raw().source(), a.text());
                if (score < lowestTrainScore) {
                    lowestTrainScore = score;
                    lowestTrainSource = a.raw().source();
                }
            }
        }
    }

    private Analysed analyse(RawDocument d) {
        String text = d.text() == null ? null : TextNormalizer.normalize(d.text());
        QualityFilter.Reason reason = filter.check(text);
        if (reason != null) return new Analysed(d, null, reason, null, null);
        String hash = cfg.exactDedup() ? AtomicFiles.sha256(text.getBytes(StandardCharsets.UTF_8)) : null;
        int[] sig = cfg.nearDedup() ? minHash.signature(text) : null;
        return new Analysed(d, text, null, hash, sig);
    }

    /** A uniform number in [0, 1) from the seed and the split key: the split decision. */
    double splitScore(String key) {
        long h = cfg.seed();
        byte[] b = key.getBytes(StandardCharsets.UTF_8);
        for (byte x : b) h = (h ^ (x & 0xff)) * 0x100000001B3L;
        return (TokenShards.mix(h) >>> 11) * 0x1.0p-53;
    }

    /** With no document hashed into validation, the train document of lowest score moves there. */
    private void moveToVal(String source) {
        try (PartWriter v = new PartWriter(valDir(), PART_BYTES)) {
            List<Path> parts = List.copyOf(train.parts());
            for (Path p : parts) {
                Path rewritten = p.resolveSibling(p.getFileName() + ".new");
                try (BufferedWriter w = Files.newBufferedWriter(rewritten, StandardCharsets.UTF_8);
                     Stream<String> lines = Files.lines(p, StandardCharsets.UTF_8)) {
                    for (String line : (Iterable<String>) lines::iterator) {
                        JsonNode n = ShardManifest.JSON.readTree(line);
                        if (n.get("source").asString().equals(source)) {
                            v.write(source, n.get("text").asString());
                            train.documents--;
                            train.textBytes -= n.get("text").asString().getBytes(StandardCharsets.UTF_8).length;
                        } else {
                            w.write(line);
                            w.write('\n');
                        }
                    }
                }
                Files.move(rewritten, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            val.documents += v.documents;
            val.textBytes += v.textBytes;
            val.parts().addAll(v.parts());
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    private Path valDir() {
        return train.parts().getFirst().getParent().resolveSibling("val");
    }

    private PrepareReport report(List<DocumentReader.InputFile> infos, Path outDir, boolean movedToVal, double seconds) {
        List<PrepareReport.Stage> stages = new ArrayList<>();
        long n = docsIn;
        stages.add(new PrepareReport.Stage("read", 0, n));
        for (Map.Entry<String, Long> e : removed.entrySet()) {
            n -= e.getValue();
            stages.add(new PrepareReport.Stage(e.getKey(), e.getValue(), n));
        }
        n -= exactDups;
        stages.add(new PrepareReport.Stage("exact_duplicate", exactDups, n));
        n -= nearDups;
        stages.add(new PrepareReport.Stage("near_duplicate", nearDups, n));
        List<String> notes = new ArrayList<>();
        if (movedToVal) notes.add("no source hashed into validation; moved one document (" + lowestTrainSource + ") there");
        if (val.documents == 0) notes.add("validation split is empty: add more documents or sources");
        return new PrepareReport(infos, docsIn, bytesIn, stages, exactDups, nearDups, train.documents + val.documents,
                new PrepareReport.SplitInfo(train.documents, train.textBytes, relative(outDir, "train", train.parts())),
                new PrepareReport.SplitInfo(val.documents, val.textBytes, relative(outDir, "val", val.parts())),
                new PrepareReport.Settings(cfg.quality(), cfg.exactDedup(), cfg.nearDedup(), cfg.nearThreshold(),
                        cfg.shingleWords(), cfg.minhashPerms(), nearIndex == null ? 0 : nearIndex.bands(),
                        nearIndex == null ? 0 : nearIndex.rows(), cfg.valFraction(), cfg.seed()),
                notes, Math.round(seconds * 1000) / 1000.0);
    }

    private static List<String> relative(Path outDir, String split, List<Path> parts) {
        return parts.stream().map(p -> split + "/" + p.getFileName()).toList();
    }

    /** Replaces outDir/train, outDir/val and outDir/report.json by the new ones. */
    private static void install(Path tmp, Path outDir) {
        try {
            for (String name : List.of("train", "val")) {
                Path target = outDir.resolve(name);
                Path old = outDir.resolve("." + name + ".old");
                deleteTree(old);
                if (Files.exists(target)) Files.move(target, old);
                Files.move(tmp.resolve(name), target);
                deleteTree(old);
            }
            Files.move(tmp.resolve(PrepareReport.FILE_NAME), outDir.resolve(PrepareReport.FILE_NAME),
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            deleteTree(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move the prepared output into " + outDir + ": " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + p + ": " + e.getMessage(), e);
        }
    }
}
