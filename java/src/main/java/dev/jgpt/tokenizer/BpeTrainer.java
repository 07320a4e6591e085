package dev.jgpt.tokenizer;

import dev.jgpt.JgptException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Learns a byte-level BPE from text.
 *
 * <ol>
 *   <li>Pre-token counting, in parallel: the corpus is cut into chunks at places where the pre-split
 *       is sure to have a piece boundary (after a newline, before a visible ASCII character), each
 *       worker counts the pieces of its chunks, and the counts are summed. Special tokens are cut out
 *       of the text first and never counted.</li>
 *   <li>Merges, incrementally: pair counts are computed once; each merge rewrites only the words that
 *       contain the pair and adjusts only the counts of the pairs it touches. A max-heap of pair
 *       counts, refreshed lazily, gives the next pair.</li>
 * </ol>
 *
 * <p>Deterministic: the most frequent pair wins, ties go to the smaller (left id, right id); the
 * chunking depends only on the corpus, not on the thread count. Ids: the 256 bytes first (GPT-2's
 * order), then one per merge, then the special tokens; the vocabulary size includes all three.
 */
public final class BpeTrainer {

    /** Progress of a training run; called from one thread at a time (a counting worker, then the training thread). */
    public interface Progress {
        /** {@code phase} is "counting" (done/total in bytes) or "merging" (done/total in merges). */
        void update(String phase, long done, long total);
    }

    /** Chunks for parallel counting are about this large. */
    private static final int CHUNK = 1 << 20;

    private final int vocabSize;
    private SplitPattern pattern = SplitPattern.GPT2;
    private List<String> specialTokens = BpeTokenizer.DEFAULT_SPECIAL_TOKENS;
    private int threads = Runtime.getRuntime().availableProcessors();
    private int minFrequency = 1;
    private Progress progress = (phase, done, total) -> {};

    public BpeTrainer(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    public BpeTrainer pattern(SplitPattern pattern) {
        this.pattern = pattern;
        return this;
    }

    /** The special tokens, in id order (default {@link BpeTokenizer#DEFAULT_SPECIAL_TOKENS}). */
    public BpeTrainer specialTokens(List<String> specialTokens) {
        this.specialTokens = List.copyOf(specialTokens);
        return this;
    }

    public BpeTrainer threads(int threads) {
        this.threads = Math.max(1, threads);
        return this;
    }

    /** Pairs seen fewer times than this are never merged (default 1: merge until the vocabulary is full). */
    public BpeTrainer minFrequency(int minFrequency) {
        this.minFrequency = Math.max(1, minFrequency);
        return this;
    }

    public BpeTrainer progress(Progress progress) {
        this.progress = progress;
        return this;
    }

    /** Trains on the given UTF-8 text files (each one a document). */
    public BpeTokenizer train(List<Path> files) {
        List<byte[]> docs = new ArrayList<>();
        for (Path f : files) {
            try {
                docs.add(Files.readAllBytes(f));
            } catch (NoSuchFileException e) {
                throw new JgptException(f + ": no such file");
            } catch (IOException e) {
                throw new JgptException(f + ": cannot read: " + e.getMessage(), e);
            }
        }
        return trainOnBytes(docs);
    }

    /** Trains on in-memory documents. */
    public BpeTokenizer trainOnTexts(List<String> texts) {
        return trainOnBytes(texts.stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList());
    }

    /** Trains on documents given as UTF-8 bytes. */
    public BpeTokenizer trainOnBytes(List<byte[]> docs) {
        int merges = vocabSize - 256 - specialTokens.size();
        if (merges < 0) {
            throw new JgptException("vocabulary size " + vocabSize + " is too small: it needs at least 256 byte tokens + "
                    + specialTokens.size() + " special tokens");
        }
        if (new java.util.HashSet<>(specialTokens).size() != specialTokens.size()) {
            throw new JgptException("special tokens must be distinct: " + specialTokens);
        }
        for (String s : specialTokens) if (s.isEmpty()) throw new JgptException("a special token is empty");
        PieceCounter counts = countPieces(docs);
        Words words = Words.of(counts);
        MergeResult learned = learnMerges(words, merges);

        String[] vocab = new String[256 + learned.count];
        for (int i = 0; i < 256; i++) vocab[i] = String.valueOf(ByteLevel.charOf(ByteLevel.byteWithRank(i)));
        int[][] mergePairs = new int[learned.count][];
        for (int r = 0; r < learned.count; r++) {
            int l = learned.left[r];
            int rt = learned.right[r];
            vocab[256 + r] = vocab[l] + vocab[rt];
            mergePairs[r] = new int[] {l, rt};
        }
        List<BpeTokenizer.AddedToken> added = new ArrayList<>();
        for (int i = 0; i < specialTokens.size(); i++) {
            added.add(new BpeTokenizer.AddedToken(vocab.length + i, specialTokens.get(i), true));
        }
        return new BpeTokenizer(vocab, mergePairs, added, pattern,
                pattern == SplitPattern.GPT2 ? null : pattern.regex(), false, false, -1);
    }

    // ------------------------------------------------------------------ counting

    private record Chunk(byte[] doc, int from, int to) {}

    private PieceCounter countPieces(List<byte[]> docs) {
        List<Chunk> chunks = new ArrayList<>();
        long total = 0;
        boolean specialHasNewline = specialTokens.stream().anyMatch(s -> s.indexOf('\n') >= 0);
        for (byte[] d : docs) {
            total += d.length;
            int from = 0;
            while (from < d.length) {
                int to = specialHasNewline ? d.length : chunkEnd(d, from + CHUNK);
                chunks.add(new Chunk(d, from, to));
                from = to;
            }
        }
        byte[][] specials = specialTokens.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
        int workers = Math.min(threads, Math.max(1, chunks.size()));
        AtomicInteger nextChunk = new AtomicInteger();
        AtomicLong doneBytes = new AtomicLong();
        final long totalBytes = total;
        List<PieceCounter> results = new ArrayList<>();
        if (workers == 1) {
            results.add(countWorker(chunks, nextChunk, doneBytes, specials, totalBytes, true));
        } else {
            ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
                Thread t = new Thread(r, "bpe-count");
                t.setDaemon(true);
                return t;
            });
            try {
                List<Future<PieceCounter>> futures = new ArrayList<>();
                for (int w = 0; w < workers; w++) {
                    boolean reporter = w == 0;
                    futures.add(pool.submit(() -> countWorker(chunks, nextChunk, doneBytes, specials, totalBytes, reporter)));
                }
                for (Future<PieceCounter> f : futures) results.add(f.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new JgptException("training interrupted");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) throw re;
                throw new IllegalStateException(e.getCause());
            } finally {
                pool.shutdownNow();
            }
        }
        progress.update("counting", totalBytes, totalBytes);
        PieceCounter all = results.getFirst();
        for (int i = 1; i < results.size(); i++) all.addAll(results.get(i));
        return all;
    }

    /** The first position at or after p that follows a newline and holds a visible ASCII character. */
    static int chunkEnd(byte[] d, int p) {
        if (p >= d.length) return d.length;
        for (int i = Math.max(1, p); i < d.length; i++) {
            if (d[i - 1] == '\n' && d[i] > ' ' && d[i] < 0x7F) return i;
        }
        return d.length;
    }

    private PieceCounter countWorker(List<Chunk> chunks, AtomicInteger next, AtomicLong done,
                                           byte[][] specials, long total, boolean reporter) {
        PieceCounter counts = new PieceCounter(1 << 16);
        IntList ends = new IntList(1 << 12);
        int i;
        while ((i = next.getAndIncrement()) < chunks.size()) {
            Chunk c = chunks.get(i);
            int from = c.from;
            while (from < c.to) {
                int[] sp = findSpecial(c.doc, from, c.to, specials);
                int segEnd = sp == null ? c.to : sp[0];
                ends.clear();
                pattern.split(c.doc, from, segEnd, ends);
                int start = from;
                for (int k = 0, n = ends.size(); k < n; k++) {
                    int end = ends.get(k);
                    counts.add(c.doc, start, end, 1);
                    start = end;
                }
                from = sp == null ? c.to : sp[0] + sp[1];
            }
            long d = done.addAndGet(c.to - c.from);
            if (reporter) progress.update("counting", d, total);
        }
        return counts;
    }

    /** Leftmost-longest special token in b[from, to): {start, length}, or null. */
    private static int[] findSpecial(byte[] b, int from, int to, byte[][] specials) {
        if (specials.length == 0) return null;
        for (int i = from; i < to; i++) {
            int best = -1;
            for (byte[] s : specials) {
                if (s[0] == b[i] && s.length > best && i + s.length <= to && Arrays.equals(s, 0, s.length, b, i, i + s.length)) {
                    best = s.length;
                }
            }
            if (best > 0) return new int[] {i, best};
        }
        return null;
    }

    // ------------------------------------------------------------------ merging

    /** The distinct pieces as symbol arrays, with their counts; sorted by bytes for a fixed order. */
    private static final class Words {
        int[][] symbols;
        int[] length;
        int[] count;

        static Words of(PieceCounter counts) {
            record Piece(byte[] bytes, int count) {}
            List<Piece> pieces = new ArrayList<>(counts.size());
            counts.forEach((k, c) -> {
                if (k.length > 1) pieces.add(new Piece(k, c)); // a single byte has no pair to merge
            });
            pieces.sort((a, b) -> Arrays.compareUnsigned(a.bytes, b.bytes));
            int[] idOfByte = new int[256];
            for (int i = 0; i < 256; i++) idOfByte[ByteLevel.byteWithRank(i)] = i;
            Words w = new Words();
            int n = pieces.size();
            w.symbols = new int[n][];
            w.length = new int[n];
            w.count = new int[n];
            for (int i = 0; i < n; i++) {
                byte[] k = pieces.get(i).bytes;
                int[] s = new int[k.length];
                for (int j = 0; j < s.length; j++) s[j] = idOfByte[k[j] & 0xFF];
                w.symbols[i] = s;
                w.length[i] = s.length;
                w.count[i] = pieces.get(i).count;
            }
            return w;
        }
    }

    private record MergeResult(int count, int[] left, int[] right) {}

    private MergeResult learnMerges(Words w, int maxMerges) {
        LongIntMap pairCount = new LongIntMap(1 << 16);
        LongIntMap pairIndex = new LongIntMap(1 << 16);   // pair -> index into wordsOf
        List<IntList> wordsOf = new ArrayList<>();
        for (int i = 0; i < w.symbols.length; i++) {
            int[] s = w.symbols[i];
            for (int j = 0; j + 1 < w.length[i]; j++) {
                long p = LongIntMap.pair(s[j], s[j + 1]);
                pairCount.add(p, w.count[i]);
                wordsWith(p, pairIndex, wordsOf).add(i);
            }
        }
        PairHeap heap = new PairHeap();
        pairIndex.forEach((p, idx) -> heap.push(pairCount.get(p, 0), p));

        int[] left = new int[maxMerges];
        int[] right = new int[maxMerges];
        int[] seenAt = new int[w.symbols.length];
        Arrays.fill(seenAt, -1);
        LongIntMap newPairs = new LongIntMap(64);
        int done = 0;
        int reportEvery = Math.max(1, maxMerges / 200);
        while (done < maxMerges && !heap.isEmpty()) {
            long c = heap.topCount();
            long pair = heap.topPair();
            heap.pop();
            int current = pairCount.get(pair, 0);
            if (current != c) { // stale entry: counts only fall, so re-queue with the true count
                if (current > 0) heap.push(current, pair);
                continue;
            }
            if (c < minFrequency) break;
            int l = (int) (pair >>> 32);
            int r = (int) pair;
            int z = 256 + done;
            left[done] = l;
            right[done] = r;
            done++;
            newPairs = new LongIntMap(64);
            IntList list = wordsOf.get(pairIndex.get(pair, -1));
            for (int k = 0, n = list.size(); k < n; k++) {
                int wi = list.get(k);
                if (seenAt[wi] == z) continue;
                seenAt[wi] = z;
                mergeInWord(w, wi, l, r, z, pairCount, pairIndex, wordsOf, newPairs);
            }
            wordsOf.set(pairIndex.get(pair, -1), new IntList(0)); // nothing left to find there
            LongIntMap fresh = newPairs;
            fresh.forEach((p, ignored) -> {
                int cnt = pairCount.get(p, 0);
                if (cnt > 0) heap.push(cnt, p);
            });
            if (done % reportEvery == 0) progress.update("merging", done, maxMerges);
        }
        progress.update("merging", maxMerges, maxMerges);
        return new MergeResult(done, left, right);
    }

    private static IntList wordsWith(long pair, LongIntMap pairIndex, List<IntList> wordsOf) {
        int idx = pairIndex.get(pair, -1);
        if (idx < 0) {
            idx = wordsOf.size();
            pairIndex.put(pair, idx);
            wordsOf.add(new IntList(4));
        }
        return wordsOf.get(idx);
    }

    /** Replaces every (l, r) in word wi by z, left to right, adjusting the counts of the pairs around each. */
    private static void mergeInWord(Words w, int wi, int l, int r, int z, LongIntMap pairCount, LongIntMap pairIndex,
                                    List<IntList> wordsOf, LongIntMap newPairs) {
        int[] s = w.symbols[wi];
        int n = w.length[wi];
        int cnt = w.count[wi];
        int j = 0;
        int i = 0;
        while (i < n) {
            if (i + 1 < n && s[i] == l && s[i + 1] == r) {
                if (j > 0) {
                    pairCount.add(LongIntMap.pair(s[j - 1], l), -cnt);
                    touch(LongIntMap.pair(s[j - 1], z), cnt, wi, pairCount, pairIndex, wordsOf, newPairs);
                }
                if (i + 2 < n) {
                    pairCount.add(LongIntMap.pair(r, s[i + 2]), -cnt);
                    touch(LongIntMap.pair(z, s[i + 2]), cnt, wi, pairCount, pairIndex, wordsOf, newPairs);
                }
                pairCount.add(LongIntMap.pair(l, r), -cnt);
                s[j++] = z;
                i += 2;
            } else {
                s[j++] = s[i++];
            }
        }
        w.length[wi] = j;
    }

    private static void touch(long pair, int cnt, int wi, LongIntMap pairCount, LongIntMap pairIndex,
                              List<IntList> wordsOf, LongIntMap newPairs) {
        pairCount.add(pair, cnt);
        IntList list = wordsWith(pair, pairIndex, wordsOf);
        if (list.size() == 0 || list.get(list.size() - 1) != wi) list.add(wi);
        newPairs.put(pair, 1);
    }
}
