package dev.jgpt.generate;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Picks the next token from a model's logits: repetition penalty, then temperature, then top-k,
 * then top-p (the order Hugging Face's samplers use), then a draw from what is left.
 *
 * <p>All scratch memory is allocated once, in the constructor, for a vocabulary of {@code vocabSize};
 * {@link #sample} allocates nothing. Only the first {@code vocabSize} logits are read, so a model
 * whose output is padded past the tokenizer's vocabulary (llm.c pads 50257 to 50304) never emits a
 * padding id. The random generator is {@code L64X128MixRandom}, whose algorithm is fixed by the JDK,
 * so a seed reproduces the same tokens on every JDK and machine (given the same logits).
 *
 * <p>Ties: logits compare as values (-0 equals +0; NaN never wins over a number, and counts as -inf in
 * the top-k cut) and among equal logits the lower token id ranks first, in greedy picks and in the top-k
 * cut alike.
 *
 * <p>{@link #sampleCandidates} gives the same token as {@link #sample} from only the k largest logits
 * (picked on a device, {@link DeviceLogits}), for the settings {@link #candidatesNeeded} accepts: it
 * draws the same random numbers in the same order, so with one seed both paths give the same tokens.
 */
public final class Sampler {
    private static final RandomGeneratorFactory<RandomGenerator> RNG = RandomGeneratorFactory.of("L64X128MixRandom");

    private final int vocabSize;
    /** The logits of the current step, then (in place) unnormalised probabilities. */
    private final float[] work;
    /** Candidate keys for top-k / top-p: logit or probability bits in the high word, a tie-breaking index below. */
    private final long[] keys;
    /** Surviving candidates in ascending probability (unnormalised) and their token ids. */
    private final float[] candProb;
    private final int[] candId;
    /** Tokens seen so far (prompt + generated), for the repetition penalty. */
    private final boolean[] seen;
    private final int[] seenList;
    private int seenCount;

    private GenerationConfig config = GenerationConfig.DEFAULTS;
    private RandomGenerator rng = RNG.create(0L);

    public Sampler(int vocabSize) {
        if (vocabSize < 1) throw new IllegalArgumentException("vocabulary size " + vocabSize);
        this.vocabSize = vocabSize;
        this.work = new float[vocabSize];
        this.keys = new long[vocabSize];
        this.candProb = new float[vocabSize];
        this.candId = new int[vocabSize];
        this.seen = new boolean[vocabSize];
        this.seenList = new int[vocabSize];
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Starts a new sequence with these settings: reseeds and forgets the seen tokens. */
    public void reset(GenerationConfig config) {
        this.config = config;
        this.rng = config.seed() != null ? RNG.create(config.seed()) : RNG.create();
        for (int i = 0; i < seenCount; i++) seen[seenList[i]] = false;
        seenCount = 0;
    }

    /** Records a token of the sequence (prompt or generated) for the repetition penalty. */
    public void observe(int token) {
        if (token >= 0 && token < vocabSize && !seen[token]) {
            seen[token] = true;
            seenList[seenCount++] = token;
        }
    }

    /** The next token for these logits (a host tensor with at least {@code vocabSize} values). */
    public int sample(Tensor logits) {
        load(logits);
        applyRepetitionPenalty();
        if (config.greedy()) return argmax();

        float invT = (float) (1.0 / config.temperature());
        int k = config.topK();
        if (k > 0 && k < vocabSize) {
            // temperature keeps the order, so the top k are chosen on the raw logits and only k
            // exponentials are computed (the softmax's normaliser cancels in the renormalisation)
            return drawFromTopLogits(selectTopK(k), invT);
        }
        float max = work[argmax()];
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            work[i] = weight(work[i], max, invT);
            sum += work[i];
        }
        if (config.topP() >= 1.0) return drawFromAll(sum);
        int n = selectAboveCutoff((float) ((1.0 - config.topP()) / (vocabSize - 1) * sum));
        Arrays.sort(keys, 0, n);
        for (int j = 0; j < n; j++) {
            candProb[j] = Float.intBitsToFloat((int) (keys[j] >>> 32));
            candId[j] = indexOf(keys[j]);
        }
        return drawFromCandidates(n);
    }

    /**
     * How many of the largest logits {@link #sampleCandidates} needs to give exactly what {@link #sample}
     * gives on the full logits under the current settings, or 0 when it cannot with at most {@code max}:
     * <ul>
     *   <li>a repetition penalty (≠ 1) changes logits before anything is chosen, and may lift a token
     *       from below the top k: 0;</li>
     *   <li>greedy (temperature 0): 1;</li>
     *   <li>top-k with 0 &lt; k &lt; vocabulary and k ≤ {@code max} (top-p or not, any temperature): k, since
     *       {@link #sample} itself then reads only the k largest logits (top-p runs over them, renormalised);</li>
     *   <li>otherwise (top-p alone, no cut, or k above {@code max}) the full distribution: 0.</li>
     * </ul>
     */
    public int candidatesNeeded(int max) {
        if ((float) config.repetitionPenalty() != 1f) return 0; // the test applyRepetitionPenalty makes
        if (config.greedy()) return max >= 1 ? 1 : 0;
        int k = config.topK();
        return k > 0 && k < vocabSize && k <= max ? k : 0;
    }

    /**
     * The next token from the {@code k} largest logits ({@code ids[j]}, {@code logits[j]} for j &lt; k; any
     * order; k = {@link #candidatesNeeded}): the same token {@link #sample} gives on the full logits, with the
     * same use of the random generator. Candidates beyond the non-NaN logits may be padding with logit -inf
     * (any id in range). Returns -1 without touching the random generator when the largest candidate is not
     * finite (all logits -inf or NaN, or an infinite one): the full logits decide such a token.
     *
     * <p>Why it is exact: write F for the tokens whose logit is neither NaN nor -inf. Both paths hold the
     * largest min(k, |F|) of F in the same order (value, then lower id) with the same logits; every other
     * candidate has logit -inf on both paths (NaN counts as -inf) and so weight exactly 0 against a finite
     * maximum. The sorted weights are therefore equal position by position, a weight 0 adds nothing to a
     * sum, and zero-weight candidates are never drawn; the greedy pick is the top of the same order.
     *
     * @throws IllegalStateException when the settings need the full logits ({@link #candidatesNeeded} is 0)
     * @throws IllegalArgumentException when k is not what the settings need or an id is out of range
     */
    public int sampleCandidates(int[] ids, float[] logits, int k) {
        int need = candidatesNeeded(Integer.MAX_VALUE);
        if (need == 0) throw new IllegalStateException("these sampling settings need the full logits");
        if (k != need) throw new IllegalArgumentException("k: these settings need the " + need + " largest logits, got " + k);
        long top = Long.MIN_VALUE;
        for (int j = 0; j < k; j++) {
            int id = ids[j];
            if (id < 0 || id >= vocabSize) throw new IllegalArgumentException("candidate id " + id + " outside [0, " + vocabSize + ")");
            keys[j] = logitKey(logits[j], id);
            top = Math.max(top, keys[j]);
        }
        if (!Float.isFinite(logitOf(top))) return -1;
        if (config.greedy()) return indexOf(top);
        return drawFromTopLogits(k, (float) (1.0 / config.temperature()));
    }

    /** Draws from the n logit keys in keys[0..n) (the top k), with temperature and top-p. */
    private int drawFromTopLogits(int n, float invT) {
        Arrays.sort(keys, 0, n);
        float max = logitOf(keys[n - 1]);
        for (int j = 0; j < n; j++) {
            candProb[j] = weight(logitOf(keys[j]), max, invT);
            candId[j] = indexOf(keys[j]);
        }
        return drawFromCandidates(n);
    }

    /** Top-p, then a draw, over candProb/candId[0..n) in ascending (unnormalised) probability. */
    private int drawFromCandidates(int n) {
        boolean useTopP = config.topP() < 1.0;
        // candidates 0..n-1 in ascending probability: the nucleus is a suffix of them
        double mass = 0;
        for (int j = 0; j < n; j++) mass += candProb[j];
        int first = 0;
        if (useTopP) {
            double target = config.topP() * mass, cum = 0;
            first = n - 1;
            for (int j = n - 1; j >= 0; j--) {
                cum += candProb[j];
                first = j;
                if (cum >= target) break;
            }
            mass = cum;
        }
        double u = rng.nextDouble() * mass, cum = 0;
        int lastPositive = n - 1;
        for (int j = n - 1; j >= first; j--) {
            if (candProb[j] <= 0) continue;
            cum += candProb[j];
            lastPositive = j;
            if (u < cum) return candId[j];
        }
        return candId[lastPositive]; // rounding left u at the very end
    }

    /** exp((logit - max) / T), with NaN treated as impossible. */
    private static float weight(float logit, float max, float invT) {
        float p = (float) StrictMath.exp((logit - max) * invT);
        return p > 0 ? p : 0;
    }

    private void load(Tensor logits) {
        if (!logits.isHost()) throw new IllegalArgumentException("sampler needs host logits, got " + logits);
        if (logits.numel() < vocabSize) {
            throw new IllegalArgumentException("logits " + logits + " have fewer than " + vocabSize + " values");
        }
        if (logits.dtype() == DType.F32) {
            MemorySegment.copy(logits.data(), ValueLayout.JAVA_FLOAT, 0, work, 0, vocabSize);
        } else {
            for (int i = 0; i < vocabSize; i++) work[i] = logits.getFloat(i);
        }
    }

    private void applyRepetitionPenalty() {
        float penalty = (float) config.repetitionPenalty();
        if (penalty == 1f) return;
        for (int i = 0; i < seenCount; i++) {
            int t = seenList[i];
            work[t] = work[t] > 0 ? work[t] / penalty : work[t] * penalty;
        }
    }

    /** The first index of the largest value; NaNs never win. */
    private int argmax() {
        int best = -1;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) {
            if (work[i] > bestValue || (best < 0 && work[i] == Float.NEGATIVE_INFINITY)) {
                best = i;
                bestValue = work[i];
            }
        }
        if (best < 0) throw new IllegalStateException("the model's logits are all NaN");
        return best;
    }

    private int drawFromAll(double sum) {
        double u = rng.nextDouble() * sum, cum = 0;
        int last = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (work[i] > 0) {
                cum += work[i];
                last = i;
                if (u < cum) return i;
            }
        }
        return last; // rounding left u at the very end
    }

    /** Keeps the k largest logits in a min-heap over keys[0..k): O(V log k), no allocation. */
    private int selectTopK(int k) {
        for (int i = 0; i < k; i++) {
            keys[i] = logitKey(work[i], i);
            siftUp(i);
        }
        for (int i = k; i < vocabSize; i++) {
            long key = logitKey(work[i], i);
            if (key > keys[0]) {
                keys[0] = key;
                siftDown(k);
            }
        }
        return k;
    }

    /**
     * Candidates for top-p alone: a token with probability below (1 - p) / (V - 1) can never be in
     * the nucleus (all such tokens together hold less than 1 - p), so only the rest is sorted.
     */
    private int selectAboveCutoff(float cutoff) {
        int n = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (work[i] >= cutoff && work[i] > 0) keys[n++] = probKey(work[i], i);
        }
        return n;
    }

    private void siftUp(int i) {
        long x = keys[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (keys[parent] <= x) break;
            keys[i] = keys[parent];
            i = parent;
        }
        keys[i] = x;
    }

    private void siftDown(int size) {
        int i = 0;
        long x = keys[0];
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && keys[c + 1] < keys[c]) c++;
            if (keys[c] >= x) break;
            keys[i] = keys[c];
            i = c;
        }
        keys[i] = x;
    }

    /** Non-negative floats order like their bit patterns; lower indices win ties (larger low word). */
    private static long probKey(float p, int index) {
        return ((long) Float.floatToRawIntBits(p) << 32) | (Integer.MAX_VALUE - index);
    }

    /**
     * Any float (NaN as -inf, -0 as +0: equal values tie) mapped to an int that orders the same way, in
     * the high word; lower indices win ties.
     */
    private static long logitKey(float logit, int index) {
        int bits = logit != logit ? Float.floatToRawIntBits(Float.NEGATIVE_INFINITY) : logit == 0 ? 0 : Float.floatToRawIntBits(logit);
        int sortable = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) sortable << 32) | (Integer.MAX_VALUE - index);
    }

    private static float logitOf(long key) {
        int sortable = (int) (key >> 32);
        return Float.intBitsToFloat(sortable ^ ((sortable >> 31) & 0x7fffffff));
    }

    private static int indexOf(long key) {
        return Integer.MAX_VALUE - (int) (key & 0xffffffffL);
    }
}
