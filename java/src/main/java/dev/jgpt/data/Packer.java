package dev.jgpt.data;

import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.Sha256;
import dev.jgpt.JgptException;
import dev.jgpt.tokenizer.Tokenizer;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * {@code jgpt data pack}: tokenizes the documents of a prepared directory ({@code train/*.jsonl},
 * {@code val/*.jsonl}, see {@link Preparer}) on {@code threads} cores into llm.c token shards
 * {@code train_000000.bin}, … and {@code val_000000.bin}, …, plus {@code manifest.json}.
 *
 * <p>As in llm.c's data scripts every document is preceded by {@code <|endoftext|>} (a llama2.c
 * sentencepiece vocabulary: BOS, as llama2.c's pretokenizer; Llama 3's: {@code <|begin_of_text|>}), so the
 * token stream reads EOT doc EOT doc …; text is encoded with {@link Tokenizer#encodeDocument} (special-token
 * strings inside the data stay ordinary text). Documents are encoded in parallel and written in
 * input order, so the output is the same for any thread count. Shards are written into a
 * temporary directory and moved into place with the manifest last, so a failed run leaves an
 * earlier pack intact. The tokenizer must be safe to call from several threads.
 */
public final class Packer {

    public record Config(long shardTokens, int threads) {
        public static Config defaults() {
            return new Config(100_000_000L, Runtime.getRuntime().availableProcessors());
        }
    }

    /** What was packed: tokens and documents per split and the time it took. */
    public record PackReport(String outDir, Map<String, ShardManifest.Split> splits, long tokens, double seconds,
                             double tokensPerSecond, int threads) {
        public String toJson() {
            return ShardManifest.JSON.writeValueAsString(this);
        }
    }

    /** Documents larger than this are cut at safe line breaks so one big book still uses every core. */
    static final int CHUNK_CHARS = 1 << 16;
    private static final long BATCH_CHARS = 4L << 20;

    private final Tokenizer tokenizer;
    private final Path tokenizerFile;
    private final Config cfg;
    private final Progress progress;
    private final int eot;
    private long tokensDone;
    private long t0;

    public Packer(Tokenizer tokenizer, Path tokenizerFile, Config cfg, Progress progress) {
        this.tokenizer = tokenizer;
        this.tokenizerFile = tokenizerFile;
        this.cfg = cfg;
        this.progress = progress;
        if (cfg.shardTokens() < 1 || cfg.shardTokens() > Integer.MAX_VALUE) {
            throw new JgptException("--shard-tokens must be in [1, " + Integer.MAX_VALUE + "], got " + cfg.shardTokens());
        }
        // GPT-2's <|endoftext|> (llama2.c's sentencepiece gives BOS for it, as its pretokenizer puts BOS before each
        // story), else Llama 3's <|begin_of_text|>
        this.eot = tokenizer.specialTokenId("<|endoftext|>").orElseGet(() -> tokenizer.specialTokenId("<|begin_of_text|>")
                .orElseThrow(() -> new JgptException(tokenizerFile + ": the tokenizer has no <|endoftext|> or "
                        + "<|begin_of_text|> token to put before each document in the shards")));
    }

    public PackReport run(Path preparedDir, Path outDir) {
        t0 = System.nanoTime();
        Map<String, List<Path>> inputs = new LinkedHashMap<>();
        for (String split : List.of("train", "val")) inputs.put(split, partFiles(preparedDir, split));
        if (inputs.values().stream().allMatch(List::isEmpty)) {
            throw new JgptException(preparedDir + ": no prepared documents (expected train/*.jsonl and val/*.jsonl from 'jgpt data prepare')");
        }
        Path tmp = outDir.resolve(".pack-tmp");
        AtomicFiles.deleteTreeUnchecked(tmp);
        try (ForkJoinPool pool = new ForkJoinPool(Math.max(1, cfg.threads()))) {
            Map<String, ShardManifest.Split> splits = new LinkedHashMap<>();
            List<ShardManifest.Source> sources = new ArrayList<>();
            for (Map.Entry<String, List<Path>> e : inputs.entrySet()) {
                splits.put(e.getKey(), packSplit(pool, e.getKey(), e.getValue(), tmp));
                for (Path p : e.getValue()) {
                    sources.add(new ShardManifest.Source(preparedDir.relativize(p).toString(), size(p), Sha256.of(p)));
                }
            }
            List<ShardManifest.Source> preparedFrom = new ArrayList<>();
            Path report = preparedDir.resolve(PrepareReport.FILE_NAME);
            if (Files.exists(report)) {
                for (DocumentReader.InputFile f : PrepareReport.read(report).inputs()) {
                    preparedFrom.add(new ShardManifest.Source(f.file(), f.bytes(), f.sha256()));
                }
            }
            ShardManifest m = new ShardManifest(ShardManifest.FORMAT, 1,
                    new ShardManifest.TokenizerInfo(tokenizerFile.getFileName().toString(), Sha256.of(tokenizerFile),
                            tokenizer.vocabSize(), eot, Tokenizer.vocabularySha256(tokenizer)),
                    ShardFormat.versionFor(tokenizer.vocabSize()), splits, sources, preparedFrom, Instant.now().toString());
            install(tmp, outDir, m);
            double secs = (System.nanoTime() - t0) / 1e9;
            long total = splits.values().stream().mapToLong(ShardManifest.Split::tokens).sum();
            progress.done(String.format("pack: %,d tokens in %.1f s (%,.0f tokens/s)", total, secs, total / secs));
            return new PackReport(outDir.toString(), splits, total, Math.round(secs * 1000) / 1000.0,
                    Math.round(total / secs), cfg.threads());
        } catch (RuntimeException e) {
            AtomicFiles.deleteTreeUnchecked(tmp);
            throw e;
        }
    }

    static List<Path> partFiles(Path preparedDir, String split) {
        if (!Files.isDirectory(preparedDir)) throw new JgptException(preparedDir + ": no such directory");
        Path d = preparedDir.resolve(split);
        if (!Files.isDirectory(d)) {
            throw new JgptException(preparedDir + ": not a prepared directory (no " + split + "/; run 'jgpt data prepare' first)");
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(d + ": " + e.getMessage(), e);
        }
    }

    private ShardManifest.Split packSplit(ForkJoinPool pool, String split, List<Path> parts, Path tmp) {
        try (SplitWriter out = new SplitWriter(split, tmp)) {
            // pipeline: while the pool encodes one batch, this thread reads the next and writes the previous
            Encoding pending = null;
            List<String> batch = new ArrayList<>();
            long batchChars = 0;
            for (Path part : parts) {
                try (BufferedReader r = Files.newBufferedReader(part, StandardCharsets.UTF_8)) {
                    long lineNo = 0;
                    for (String line; (line = r.readLine()) != null; ) {
                        lineNo++;
                        if (line.isBlank()) continue;
                        String text = text(part, lineNo, line);
                        batch.add(text);
                        batchChars += text.length();
                        if (batchChars >= BATCH_CHARS) {
                            Encoding next = encode(pool, batch);
                            if (pending != null) out.write(pending);
                            pending = next;
                            batch = new ArrayList<>();
                            batchChars = 0;
                        }
                    }
                } catch (IOException e) {
                    throw new JgptException(part + ": cannot read: " + e.getMessage());
                }
            }
            Encoding last = batch.isEmpty() ? null : encode(pool, batch);
            if (pending != null) out.write(pending);
            if (last != null) out.write(last);
            return out.finish();
        }
    }

    private static String text(Path part, long lineNo, String line) {
        try {
            JsonNode n = ShardManifest.JSON.readTree(line);
            JsonNode t = n == null ? null : n.get("text");
            if (t == null || !t.isString()) throw new JgptException(part + ":" + lineNo + ": expected a string field \"text\"");
            return t.asString();
        } catch (JacksonException e) {
            throw new JgptException(part + ":" + lineNo + ": invalid JSON: " + e.getOriginalMessage());
        }
    }

    /** A batch of documents being encoded: chunk ids arrive in {@code ids}; document d owns chunks [first[d], first[d+1]). */
    private record Encoding(Future<List<int[]>> ids, int[] first) {}

    private Encoding encode(ForkJoinPool pool, List<String> docs) {
        List<String> chunks = new ArrayList<>();
        int[] first = new int[docs.size() + 1];
        for (int i = 0; i < docs.size(); i++) {
            first[i] = chunks.size();
            chunks.addAll(tokenizer.encodesPiecesAlike() ? chunks(docs.get(i)) : List.of(docs.get(i)));
        }
        first[docs.size()] = chunks.size();
        return new Encoding(pool.submit(() -> chunks.parallelStream().map(tokenizer::encodeDocument).toList()), first);
    }

    /** The shards of one split: EOT before each document, a new shard every {@code shardTokens} tokens. */
    private final class SplitWriter implements AutoCloseable {
        private final String split;
        private final Path tmp;
        private final List<ShardManifest.Shard> shards = new ArrayList<>();
        private ShardWriter w;
        private long tokens, docs;

        SplitWriter(String split, Path tmp) {
            this.split = split;
            this.tmp = tmp;
        }

        void write(Encoding e) {
            List<int[]> ids;
            try {
                ids = e.ids().get();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                throw new JgptException("interrupted");
            } catch (ExecutionException ex) {
                if (ex.getCause() instanceof RuntimeException re) throw re;
                throw new IllegalStateException(ex.getCause());
            }
            for (int d = 0; d + 1 < e.first().length; d++) {
                write(eot);
                for (int c = e.first()[d]; c < e.first()[d + 1]; c++) {
                    for (int id : ids.get(c)) write(id);
                }
                docs++;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            progress.update(String.format("pack: %s %,d tokens, %,.0f tokens/s", split, tokensDone, tokensDone / Math.max(secs, 1e-9)));
        }

        private void write(int id) {
            if (w != null && w.tokens() >= cfg.shardTokens()) finishShard();
            if (w == null) w = new ShardWriter(tmp.resolve(String.format("%s_%06d.bin", split, shards.size())), tokenizer.vocabSize());
            w.write(id);
            tokens++;
            tokensDone++;
        }

        private void finishShard() {
            w.commit();
            shards.add(new ShardManifest.Shard(w.target().getFileName().toString(), w.tokens(), Sha256.of(w.target())));
            w = null;
        }

        ShardManifest.Split finish() {
            if (w != null) finishShard();
            return new ShardManifest.Split(tokens, docs, shards);
        }

        @Override
        public void close() {
            if (w != null) w.close(); // an unfinished shard is discarded
        }
    }

    /**
     * Cuts a long document after a newline that sits between a non-space character and a letter:
     * byte-level BPE pre-tokenizers (GPT-2's pattern) never join across such a point, so the
     * pieces encode to the same ids as the whole.
     */
    static List<String> chunks(String text) {
        if (text.length() <= CHUNK_CHARS) return List.of(text);
        List<String> out = new ArrayList<>();
        int start = 0;
        while (text.length() - start > CHUNK_CHARS) {
            int cut = -1;
            for (int i = start + CHUNK_CHARS; i < text.length() - 1 && i < start + 4 * CHUNK_CHARS; i++) {
                if (text.charAt(i) == '\n' && i > 0 && !Character.isWhitespace(text.charAt(i - 1))
                        && Character.isLetter(text.charAt(i + 1))) {
                    cut = i + 1;
                    break;
                }
            }
            if (cut < 0) break;
            out.add(text.substring(start, cut));
            start = cut;
        }
        out.add(text.substring(start));
        return out;
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(p + ": " + e.getMessage(), e);
        }
    }

    /** Moves the new shards into outDir, writes the manifest, then removes shards it no longer lists. */
    private static void install(Path tmp, Path outDir, ShardManifest m) {
        try {
            Files.createDirectories(outDir);
            List<String> names = new ArrayList<>();
            for (ShardManifest.Split s : m.splits().values()) {
                for (ShardManifest.Shard sh : s.shards()) {
                    Files.move(tmp.resolve(sh.file()), outDir.resolve(sh.file()), StandardCopyOption.ATOMIC_MOVE,
                            StandardCopyOption.REPLACE_EXISTING);
                    names.add(sh.file());
                }
            }
            m.write(outDir.resolve(ShardManifest.FILE_NAME));
            try (Stream<Path> s = Files.list(outDir)) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    if ((n.startsWith("train_") || n.startsWith("val_")) && n.endsWith(".bin") && !names.contains(n)) {
                        Files.delete(p);
                    }
                }
            }
            AtomicFiles.deleteTreeUnchecked(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move shards into " + outDir + ": " + e.getMessage(), e);
        }
    }
}
