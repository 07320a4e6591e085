package dev.jgpt.data;

import dev.jgpt.JgptException;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;

/**
 * Token shards of one split (train or val), memory-mapped read-only, serving (B, T) batches of
 * inputs and next-token targets into caller-owned I32 tensors without allocating.
 *
 * <p>Training draws windows of T+1 tokens at uniformly random starts over all shards
 * ({@link #nextBatch}); the draw for step {@code s} depends only on (seed, s), so {@link #state()}
 * and {@link #restore} resume a run exactly. A window never crosses a shard boundary. Evaluation walks
 * the shards in file order ({@link #nextEvalBatch}) like llm.c's loader: row b of a batch is
 * tokens {@code [pos + b*T, pos + b*T + T]}, the cursor moves by B*T, and a shard's tail shorter
 * than B*T+1 tokens is skipped.
 *
 * <p>The mapping belongs to an {@link Arena} this object owns: {@link #close()} unmaps it. One
 * thread at a time: the training and evaluation cursors are plain fields.
 */
public final class TokenShards implements AutoCloseable {

    /** Where the reader stands: enough to resume training and evaluation exactly. */
    public record State(long seed, long step, int evalShard, long evalPos) {}

    private final Arena arena = Arena.ofShared();
    private final List<Path> files;
    private final MemorySegment[] segs;
    private final ShardFormat.Header[] headers;
    private final long totalTokens;
    private long seed;
    private long step;
    private long[] prefix;
    private int prefixT = -1;
    private int evalShard;
    private long evalPos;

    private TokenShards(List<Path> files, long seed) {
        if (files.isEmpty()) throw new JgptException("no token shards given");
        this.files = List.copyOf(files);
        this.segs = new MemorySegment[files.size()];
        this.headers = new ShardFormat.Header[files.size()];
        this.seed = seed;
        long total = 0;
        try {
            for (int i = 0; i < segs.length; i++) {
                Path f = files.get(i);
                try (FileChannel ch = FileChannel.open(f)) {
                    segs[i] = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                } catch (NoSuchFileException e) {
                    throw new JgptException(f + ": token shard not found");
                } catch (IOException e) {
                    throw new UncheckedIOException(f + ": cannot read token shard: " + e.getMessage(), e);
                }
                headers[i] = ShardFormat.validate(f, segs[i]);
                total += headers[i].tokens();
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.totalTokens = total;
    }

    /** The given shard files, in this order. */
    public static TokenShards open(List<Path> shardFiles, long seed) {
        return new TokenShards(shardFiles, seed);
    }

    /**
     * The shards of one split ({@code "train"} or {@code "val"}) of a directory that {@code jgpt data
     * pack} wrote: as listed in its {@code manifest.json}, else every {@code <split>_*.bin} in name order.
     */
    public static TokenShards open(Path dir, String split, long seed) {
        TokenShards s = new TokenShards(shardFiles(dir, split), seed);
        Path manifest = dir.resolve(ShardManifest.FILE_NAME);
        if (Files.exists(manifest)) {
            // the manifest and the shard headers must tell the same story
            List<ShardManifest.Shard> listed = ShardManifest.read(manifest).splits().get(split).shards();
            for (int i = 0; i < listed.size(); i++) {
                if (listed.get(i).tokens() != s.headers[i].tokens()) {
                    s.close();
                    throw new JgptException(s.files.get(i) + ": holds " + s.headers[i].tokens() + " tokens but "
                            + manifest + " says " + listed.get(i).tokens() + ": shards and manifest are from different runs");
                }
            }
        }
        return s;
    }

    /**
     * Scans every token once and throws a {@link JgptException} naming the shard and position of the
     * first id outside {@code [0, vocabSize)}. Call before training: a bad id would index past the
     * embedding table in native code.
     */
    public void checkVocabulary(int vocabSize) {
        for (int sh = 0; sh < segs.length; sh++) {
            long n = headers[sh].tokens();
            for (long i = 0; i < n; i++) {
                int t = token(sh, i);
                if (t < 0 || t >= vocabSize) {
                    throw new JgptException(files.get(sh) + ": token " + i + " is id " + Integer.toUnsignedString(t)
                            + ", outside the vocabulary of " + vocabSize + " (shards made with another tokenizer?)");
                }
            }
        }
    }

    /** The shard files of a split, from the manifest when there is one. */
    public static List<Path> shardFiles(Path dir, String split) {
        Path manifest = dir.resolve(ShardManifest.FILE_NAME);
        if (Files.exists(manifest)) {
            ShardManifest m = ShardManifest.read(manifest);
            ShardManifest.Split s = m.splits().get(split);
            if (s == null) throw new JgptException(manifest + ": no split named '" + split + "' (has " + m.splits().keySet() + ")");
            List<Path> out = new ArrayList<>();
            for (ShardManifest.Shard sh : s.shards()) out.add(dir.resolve(sh.file()));
            return out;
        }
        if (!Files.isDirectory(dir)) throw new JgptException(dir + ": no such shard directory");
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> out = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(split + "_") && n.endsWith(".bin");
            }).sorted().toList();
            if (out.isEmpty()) throw new JgptException(dir + ": no " + split + "_*.bin shards and no " + ShardManifest.FILE_NAME);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
    }

    public List<Path> files() { return files; }
    public long tokenCount() { return totalTokens; }
    public int shardCount() { return segs.length; }
    public long shardTokens(int i) { return headers[i].tokens(); }

    /** Token {@code i} of shard {@code shard}. */
    public int token(int shard, long i) {
        return headers[shard].version() == ShardFormat.VERSION_U16
                ? Short.toUnsignedInt(segs[shard].get(ShardFormat.SHORT_LE, ShardFormat.HEADER_BYTES + 2 * i))
                : segs[shard].get(ShardFormat.INT_LE, ShardFormat.HEADER_BYTES + 4 * i);
    }

    // --- training: random windows ---

    /** Number of distinct window starts for windows of T+1 tokens (0 when every shard is too short). */
    public long windowStarts(int T) {
        long n = 0;
        for (ShardFormat.Header h : headers) n += Math.max(0, h.tokens() - T);
        return n;
    }

    /**
     * Fills {@code inputs} and {@code targets} (I32, at least B*T elements each, row-major (B, T))
     * with B random windows for the next training step, and advances the step.
     */
    public void nextBatch(int B, int T, Tensor inputs, Tensor targets) {
        long s = step;
        long starts = checkedStarts(B, T, inputs, targets);
        for (int b = 0; b < B; b++) {
            long r = mix(seed ^ mix(s * 0x9E3779B97F4A7C15L + b + 1));
            copyWindow(Long.remainderUnsigned(r, starts), b, T, inputs, targets);
        }
        step = s + 1;
    }

    /** Like {@link #nextBatch} with windows drawn from the caller's generator (not part of {@link #state()}). */
    public void randomBatch(RandomGenerator rng, int B, int T, Tensor inputs, Tensor targets) {
        long starts = checkedStarts(B, T, inputs, targets);
        for (int b = 0; b < B; b++) copyWindow(rng.nextLong(starts), b, T, inputs, targets);
    }

    private long checkedStarts(int B, int T, Tensor inputs, Tensor targets) {
        if (B <= 0 || T <= 0) throw new IllegalArgumentException("B and T must be positive, got B=" + B + " T=" + T);
        requireHostI32(B, T, inputs, targets);
        long starts = windowStarts(T);
        if (starts == 0) {
            throw new JgptException(files.getFirst().getParent() + ": no shard holds the " + (T + 1)
                    + " tokens one window of T=" + T + " needs (" + totalTokens + " tokens in all)");
        }
        return starts;
    }

    /** Copies the window with global start index {@code start} (over all shards' valid starts) into row b. */
    private void copyWindow(long start, int b, int T, Tensor inputs, Tensor targets) {
        long[] prefix = startsPrefix(T);
        // the last shard whose first start is <= start (skipping shards with no starts)
        int lo = 0, hi = segs.length - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (prefix[mid] <= start) lo = mid;
            else hi = mid - 1;
        }
        copyRow(lo, start - prefix[lo], b, T, inputs, targets);
    }

    /** prefix[i] = number of window starts in shards before i, for windows of T+1 tokens (cached for the last T). */
    private long[] startsPrefix(int T) {
        if (prefixT != T) {
            long[] p = new long[segs.length];
            long n = 0;
            for (int i = 0; i < segs.length; i++) {
                p[i] = n;
                n += Math.max(0, headers[i].tokens() - T);
            }
            prefix = p;
            prefixT = T;
        }
        return prefix;
    }

    private void copyRow(int shard, long pos, int b, int T, Tensor inputs, Tensor targets) {
        MemorySegment src = segs[shard];
        MemorySegment in = inputs.data(), tg = targets.data();
        long row = (long) b * T;
        if (headers[shard].version() == ShardFormat.VERSION_U32) {
            long off = ShardFormat.HEADER_BYTES + 4 * pos;
            MemorySegment.copy(src, ShardFormat.INT_LE, off, in, ValueLayout.JAVA_INT, row * 4, T);
            MemorySegment.copy(src, ShardFormat.INT_LE, off + 4, tg, ValueLayout.JAVA_INT, row * 4, T);
        } else {
            long off = ShardFormat.HEADER_BYTES + 2 * pos;
            int prev = Short.toUnsignedInt(src.get(ShardFormat.SHORT_LE, off));
            for (int t = 0; t < T; t++) {
                int next = Short.toUnsignedInt(src.get(ShardFormat.SHORT_LE, off + 2L * (t + 1)));
                in.setAtIndex(ValueLayout.JAVA_INT, row + t, prev);
                tg.setAtIndex(ValueLayout.JAVA_INT, row + t, next);
                prev = next;
            }
        }
    }

    private static void requireHostI32(int B, int T, Tensor inputs, Tensor targets) {
        inputs.requireAtLeast("inputs", DType.I32, (long) B * T);
        targets.requireAtLeast("targets", DType.I32, (long) B * T);
        if (!inputs.isHost() || !targets.isHost()) {
            throw new IllegalArgumentException("inputs and targets must be host tensors (copy them to the device after filling)");
        }
    }

    // --- evaluation: sequential windows ---

    /** How many evaluation batches of (B, T) one pass over the shards gives. */
    public long evalBatches(int B, int T) {
        long n = 0;
        long span = (long) B * T;
        for (ShardFormat.Header h : headers) n += h.tokens() > 0 ? (h.tokens() - 1) / span : 0;
        return n;
    }

    /** Restarts evaluation at the first token of the first shard. */
    public void resetEval() {
        evalShard = 0;
        evalPos = 0;
    }

    /**
     * Fills the next sequential (B, T) evaluation batch; returns false (and fills nothing) when the
     * pass is over. Call {@link #resetEval()} to start another pass.
     */
    public boolean nextEvalBatch(int B, int T, Tensor inputs, Tensor targets) {
        if (B <= 0 || T <= 0) throw new IllegalArgumentException("B and T must be positive, got B=" + B + " T=" + T);
        requireHostI32(B, T, inputs, targets);
        long span = (long) B * T;
        while (evalShard < segs.length && evalPos + span + 1 > headers[evalShard].tokens()) {
            evalShard++;
            evalPos = 0;
        }
        if (evalShard >= segs.length) return false;
        for (int b = 0; b < B; b++) copyRow(evalShard, evalPos + (long) b * T, b, T, inputs, targets);
        evalPos += span;
        return true;
    }

    // --- exact resume ---

    public State state() {
        return new State(seed, step, evalShard, evalPos);
    }

    public void restore(State s) {
        if (s.evalShard() < 0 || s.evalShard() > segs.length || s.step() < 0 || s.evalPos() < 0) {
            throw new JgptException("data loader state " + s + " does not fit these " + segs.length + " shards");
        }
        seed = s.seed();
        step = s.step();
        evalShard = s.evalShard();
        evalPos = s.evalPos();
    }

    /** SplitMix64's finaliser: a stateless, well-mixed 64-bit hash. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public void close() {
        arena.close();
    }
}
