package dev.jgpt.tokenizer;

import dev.jgpt.JgptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Byte-level BPE as GPT-2 does it. Text is cut into special tokens and ordinary segments; each
 * segment's UTF-8 bytes are pre-split by a {@link Splitter} (GPT-2's or GPT-4's pattern) into
 * pieces, and each piece is encoded by applying merges in rank order, starting from one token per
 * byte. Decoding concatenates token bytes, so it is lossless for every byte sequence.
 *
 * <p>Immutable and thread-safe: pooled scratch space, each with a cache of frequent pieces, makes
 * {@link #encode} allocation-light and fast. Load with {@link #load}, train with
 * {@link BpeTrainer}, write with {@link #save}.
 */
public final class BpeTokenizer implements Tokenizer {

    /** The special tokens a trained tokenizer has unless told otherwise (the chat template uses them). */
    public static final List<String> DEFAULT_SPECIAL_TOKENS =
            List.of("<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>");

    /** A token matched in the text before pre-splitting; {@code special} ones are control tokens. */
    public record AddedToken(int id, String content, boolean special) {}

    /** Pieces longer than this are not cached (a 1 MB run must not evict the whole cache). */
    private static final int MAX_CACHED_PIECE = 48;
    /** Pieces up to this many bytes are merged with the simple quadratic loop; longer ones with a heap. */
    private static final int SMALL_PIECE = 64;
    private static final int NO_MERGE = Integer.MAX_VALUE;

    private final String[] vocab;          // model token strings (byte-level chars) by id; null = not a model token
    private final byte[][] tokenBytes;     // bytes of every id (model and added tokens)
    private final int[] byteIds = new int[256];
    private final LongIntMap mergeRanks;   // (left id, right id) -> rank
    private final int[] mergeLeft;
    private final int[] mergeRight;
    private final int[] mergeResult;       // by rank
    private final Splitter splitter;
    private final String splitRegex;       // null when the splitter is GPT-2's ByteLevel default
    private final boolean addPrefixSpace;
    private final boolean ignoreMerges;
    private final int unkId;               // -1: bytes without a token are dropped (as HF does without unk_token)
    private final List<AddedToken> added;
    private final Map<String, Integer> addedIds = new HashMap<>();
    private Map<String, Integer> roleAliases = Map.of(); // set once, by fromVocab: names specialTokenId also answers
    private final Map<String, Integer> modelIds = new HashMap<>();
    private final SpecialTokenMatcher specials;
    /**
     * Working memory for encode calls in flight: taken for one call, then given back. A pool rather
     * than a ThreadLocal, so a server on virtual threads does not build a cache per request.
     */
    private final java.util.concurrent.ConcurrentLinkedQueue<Scratch> scratchPool = new java.util.concurrent.ConcurrentLinkedQueue<>();

    /**
     * @param vocab     the model's tokens as byte-level strings, indexed by id (null for ids that are
     *                  only added tokens or unused)
     * @param merges    pairs of ids, {@code merges[rank] = {left, right}}; the result must be in vocab
     * @param added     tokens matched before pre-splitting (may share ids with vocab)
     * @param splitter  the pre-split
     * @param splitRegex the regex the splitter implements when it is not GPT-2's (for saving), else null
     */
    BpeTokenizer(String[] vocab, int[][] merges, List<AddedToken> added, Splitter splitter, String splitRegex,
                 boolean addPrefixSpace, boolean ignoreMerges, int unkId) {
        int size = vocab.length;
        for (AddedToken t : added) size = Math.max(size, t.id() + 1);
        this.vocab = Arrays.copyOf(vocab, size);
        this.tokenBytes = new byte[size][];
        for (int id = 0; id < vocab.length; id++) {
            String s = vocab[id];
            if (s == null) continue;
            if (modelIds.putIfAbsent(s, id) != null) {
                throw new JgptException("token '" + s + "' appears twice in the vocabulary");
            }
            byte[] b = ByteLevel.toBytes(s);
            tokenBytes[id] = b != null ? b : s.getBytes(StandardCharsets.UTF_8);
        }
        for (int b = 0; b < 256; b++) {
            byteIds[b] = modelIds.getOrDefault(String.valueOf(ByteLevel.charOf(b)), -1);
        }
        this.mergeRanks = new LongIntMap(merges.length);
        this.mergeLeft = new int[merges.length];
        this.mergeRight = new int[merges.length];
        this.mergeResult = new int[merges.length];
        for (int r = 0; r < merges.length; r++) {
            int l = merges[r][0];
            int rt = merges[r][1];
            mergeLeft[r] = l;
            mergeRight[r] = rt;
            String merged = vocab[l] + vocab[rt];
            Integer result = modelIds.get(merged);
            if (result == null) {
                throw new JgptException("merge " + (r + 1) + " ('" + vocab[l] + "' + '" + vocab[rt]
                        + "') makes '" + merged + "', which is not in the vocabulary");
            }
            mergeResult[r] = result;
            long key = LongIntMap.pair(l, rt);
            if (mergeRanks.get(key, -1) < 0) mergeRanks.put(key, r); // the first (lowest) rank wins
        }
        this.splitter = splitter;
        this.splitRegex = splitRegex;
        this.addPrefixSpace = addPrefixSpace;
        this.ignoreMerges = ignoreMerges;
        this.unkId = unkId;
        this.added = List.copyOf(added);
        List<String> contents = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        for (AddedToken t : added) {
            if (addedIds.putIfAbsent(t.content(), t.id()) != null) {
                throw new JgptException("added token '" + t.content() + "' appears twice");
            }
            tokenBytes[t.id()] = t.content().getBytes(StandardCharsets.UTF_8);
            contents.add(t.content());
            ids.add(t.id());
        }
        this.specials = new SpecialTokenMatcher(contents, ids);
    }

    // ---------------------------------------------------------------- loading and saving

    /** Loads a Hugging Face {@code tokenizer.json} (byte-level BPE), ours or one Hugging Face wrote. */
    public static BpeTokenizer load(Path tokenizerJson) {
        return TokenizerFiles.readTokenizerJson(tokenizerJson);
    }

    /** Loads GPT-2's classic pair of files; the special tokens get ids after the vocabulary unless it has them. */
    public static BpeTokenizer loadVocabMerges(Path vocabJson, Path mergesTxt, SplitPattern pattern, List<String> specialTokens) {
        return TokenizerFiles.readVocabMerges(vocabJson, mergesTxt, pattern, specialTokens);
    }

    /**
     * A tokenizer from a vocabulary of byte-level strings indexed by id (null for ids that are only added tokens),
     * merges as {@code "left right"} strings in rank order (what GGUF's {@code tokenizer.ggml.merges} holds) and the
     * added tokens; an error names the first merge that uses or makes a token the vocabulary lacks.
     */
    public static BpeTokenizer fromVocab(String[] vocab, List<String> merges, List<AddedToken> added, SplitPattern pattern,
                                         boolean ignoreMerges) {
        return fromVocab(vocab, merges, added, pattern, ignoreMerges, Map.of());
    }

    /**
     * As above, with {@code roleAliases}: names such as {@code <|endoftext|>} (where generation starts from and stops)
     * that {@link #specialTokenId} answers with another token's id, for a vocabulary whose own names differ (Llama 3's
     * {@code <|begin_of_text|>}). Only lookups by name see them: text is matched against the added tokens alone.
     */
    public static BpeTokenizer fromVocab(String[] vocab, List<String> merges, List<AddedToken> added, SplitPattern pattern,
                                         boolean ignoreMerges, Map<String, Integer> roleAliases) {
        BpeTokenizer t = fromVocabOnly(vocab, merges, added, pattern, ignoreMerges);
        t.roleAliases = Map.copyOf(roleAliases);
        return t;
    }

    private static BpeTokenizer fromVocabOnly(String[] vocab, List<String> merges, List<AddedToken> added, SplitPattern pattern,
                                              boolean ignoreMerges) {
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < vocab.length; i++) if (vocab[i] != null) ids.putIfAbsent(vocab[i], i);
        int[][] pairs = new int[merges.size()][];
        for (int r = 0; r < pairs.length; r++) {
            String m = merges.get(r);
            int sp = m.indexOf(' ');
            Integer l = sp < 0 ? null : ids.get(m.substring(0, sp)), rt = sp < 0 ? null : ids.get(m.substring(sp + 1));
            if (l == null || rt == null) {
                throw new JgptException("merge " + (r + 1) + " '" + m + "' is not two tokens of the vocabulary separated by a space");
            }
            pairs[r] = new int[] {l, rt};
        }
        return new BpeTokenizer(vocab, pairs, added, pattern, pattern == SplitPattern.GPT2 ? null : pattern.regex(), false,
                ignoreMerges, -1);
    }

    /** Writes {@code tokenizer.json}, {@code vocab.json} and {@code merges.txt} into dir (created if needed), atomically each. */
    public void save(Path dir) {
        TokenizerFiles.save(this, dir);
    }

    /** Writes only {@code tokenizer.json}, atomically. */
    public void saveTokenizerJson(Path file) {
        TokenizerFiles.writeTokenizerJson(this, file);
    }

    // ---------------------------------------------------------------- Tokenizer

    @Override
    public int[] encode(String text) {
        Scratch s = takeScratch();
        try {
            return encodeWith(text, s);
        } finally {
            scratchPool.offer(s);
        }
    }

    private Scratch takeScratch() {
        Scratch s = scratchPool.poll();
        if (s == null) s = new Scratch();
        s.out.clear();
        return s;
    }

    private int[] encodeWith(String text, Scratch s) {
        if (specials.isEmpty()) {
            encodeSegment(text, s);
        } else {
            SpecialTokenMatcher.Scan scan = specials.scan(text);
            int pos = 0;
            while (scan.find(pos)) {
                if (scan.start > pos) encodeSegment(text.substring(pos, scan.start), s);
                s.out.add(scan.id);
                pos = scan.start + scan.length;
            }
            if (pos < text.length()) encodeSegment(pos == 0 ? text : text.substring(pos), s);
        }
        return s.out.toArray();
    }

    @Override
    public boolean encodesPiecesAlike() {
        return true;
    }

    @Override
    public int[] encodeOrdinary(String text) {
        Scratch s = takeScratch();
        try {
            encodeSegment(text, s);
            return s.out.toArray();
        } finally {
            scratchPool.offer(s);
        }
    }

    /**
     * Ids for arbitrary bytes (no special-token matching): invalid UTF-8 included, so
     * {@code decodeBytes(encodeBytes(b))} equals b for every byte array.
     */
    public int[] encodeBytes(byte[] bytes) {
        Scratch s = takeScratch();
        try {
            encodeUtf8(bytes, 0, bytes.length, s);
            return s.out.toArray();
        } finally {
            scratchPool.offer(s);
        }
    }

    @Override
    public byte[] decodeBytes(int[] ids) {
        int n = 0;
        for (int id : ids) n += bytesOf(id).length;
        byte[] out = new byte[n];
        int at = 0;
        for (int id : ids) {
            byte[] b = tokenBytes[id];
            System.arraycopy(b, 0, out, at, b.length);
            at += b.length;
        }
        return out;
    }

    /** A copy of the token's bytes (the tokenizer's own arrays are never handed out, so nobody can change them). */
    @Override
    public byte[] tokenBytes(int id) {
        return bytesOf(id).clone();
    }

    private byte[] bytesOf(int id) {
        if (id < 0 || id >= tokenBytes.length || tokenBytes[id] == null) {
            throw new JgptException("token id " + id + " is not in the vocabulary (size " + tokenBytes.length + ")");
        }
        return tokenBytes[id];
    }

    @Override
    public int vocabSize() {
        return tokenBytes.length;
    }

    @Override
    public OptionalInt specialTokenId(String token) {
        Integer id = addedIds.get(token);
        if (id == null) id = roleAliases.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    // ---------------------------------------------------------------- inspection

    /** The token's string as it appears in {@code vocab.json} (byte-level characters), or the added token's text. */
    public String tokenString(int id) {
        bytesOf(id); // range check
        for (AddedToken t : added) if (t.id() == id) return t.content();
        return vocab[id];
    }

    /** Whether id is an added (special or user-defined) token. */
    public boolean isAddedToken(int id) {
        for (AddedToken t : added) if (t.id() == id) return true;
        return false;
    }

    public List<AddedToken> addedTokens() {
        return added;
    }

    /** Number of merges. */
    public int mergeCount() {
        return mergeLeft.length;
    }

    /** Merge of the given rank as its two token strings, as in {@code merges.txt}. */
    public String[] merge(int rank) {
        return new String[] {vocab[mergeLeft[rank]], vocab[mergeRight[rank]]};
    }

    /** The pre-split pattern when it is one of the built-in ones, else null. */
    public SplitPattern splitPattern() {
        return splitter instanceof SplitPattern p ? p : null;
    }

    String splitRegex() {
        return splitRegex;
    }

    Splitter splitter() {
        return splitter;
    }

    boolean addPrefixSpace() {
        return addPrefixSpace;
    }

    boolean ignoreMerges() {
        return ignoreMerges;
    }

    int unkId() {
        return unkId;
    }

    /** The model vocabulary (byte-level strings by id, nulls for ids that are only added tokens). */
    String[] modelVocab() {
        return vocab.clone();
    }

    /** Model vocabulary in id order, as a map for {@code vocab.json}. */
    Map<String, Integer> modelVocabMap() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int id = 0; id < vocab.length; id++) if (vocab[id] != null) m.put(vocab[id], id);
        return Collections.unmodifiableMap(m);
    }

    // ---------------------------------------------------------------- encoding

    private void encodeSegment(String segment, Scratch s) {
        if (segment.isEmpty()) return;
        // Hugging Face's ByteLevel adds the space to each split it is handed: the whole segment when it
        // splits by itself, each piece when a Split pre-tokenizer ran before it
        if (addPrefixSpace && splitRegex == null && segment.charAt(0) != ' ') segment = " " + segment;
        byte[] b = segment.getBytes(StandardCharsets.UTF_8);
        encodeUtf8(b, 0, b.length, s);
    }

    private void encodeUtf8(byte[] b, int from, int to, Scratch s) {
        IntList ends = s.ends;
        ends.clear();
        splitter.split(b, from, to, ends);
        int start = from;
        boolean prefixEachPiece = addPrefixSpace && splitRegex != null;
        for (int k = 0, n = ends.size(); k < n; k++) {
            int end = ends.get(k);
            if (prefixEachPiece && b[start] != ' ') {
                byte[] p = new byte[end - start + 1];
                p[0] = ' ';
                System.arraycopy(b, start, p, 1, end - start);
                encodePiece(p, 0, p.length, s);
            } else {
                encodePiece(b, start, end, s);
            }
            start = end;
        }
    }

    private void encodePiece(byte[] b, int from, int to, Scratch s) {
        int len = to - from;
        if (len == 1) {
            int id = byteIds[b[from] & 0xFF];
            if (id >= 0) s.out.add(id);
            else if (unkId >= 0) s.out.add(unkId);
            return;
        }
        if (len <= 7) {
            encodeShortPiece(b, from, to, s);
            return;
        }
        if (len <= MAX_CACHED_PIECE) {
            int h = PieceCounter.hash(b, from, to);
            int slot = h & Scratch.CACHE_MASK;
            byte[] key = s.cacheKeys[slot];
            if (key != null && s.cacheHashes[slot] == h && PieceCounter.same(key, b, from, to)) {
                s.out.addAll(s.cacheValues[slot]);
                return;
            }
            int before = s.out.size();
            bpe(b, from, to, s);
            s.cacheHashes[slot] = h;
            s.cacheKeys[slot] = Arrays.copyOfRange(b, from, to);
            int[] ids = new int[s.out.size() - before];
            for (int i = 0; i < ids.length; i++) ids[i] = s.out.get(before + i);
            s.cacheValues[slot] = ids;
            return;
        }
        bpe(b, from, to, s);
    }

    /**
     * Pieces of 2..7 bytes (most of them in real text) are cached in flat primitive arrays: the bytes
     * and the length packed into one long key, the result one int: a token id, or where a run of ids
     * starts in a pool. Two array reads per hit, no pointer chasing.
     */
    private void encodeShortPiece(byte[] b, int from, int to, Scratch s) {
        long key = to - from;
        for (int i = from, shift = 8; i < to; i++, shift += 8) key |= (b[i] & 0xFFL) << shift;
        long[] keys = s.shortKeys;
        int mask = keys.length - 1;
        long h = key * 0x9E3779B97F4A7C15L;
        int slot = (int) (h >>> 40) & mask;
        while (true) {
            long k = keys[slot];
            if (k == key) {
                int v = s.shortValues[slot];
                if (v >= 0) {
                    s.out.add(v);
                } else {
                    int at = -v - 1;
                    s.out.addAll(s.shortPool, at + 1, at + 1 + s.shortPool[at]);
                }
                return;
            }
            if (k == 0) break;
            slot = (slot + 1) & mask;
        }
        int before = s.out.size();
        bpe(b, from, to, s);
        int n = s.out.size() - before;
        if (s.shortCount * 2 >= keys.length) return; // full enough: the frequent pieces are in by now
        int v;
        if (n == 1) {
            v = s.out.get(before);
        } else {
            if (s.shortPoolSize + n + 1 > s.shortPool.length) return;
            v = -(s.shortPoolSize + 1);
            s.shortPool[s.shortPoolSize++] = n;
            for (int i = 0; i < n; i++) s.shortPool[s.shortPoolSize++] = s.out.get(before + i);
        }
        keys[slot] = key;
        s.shortValues[slot] = v;
        s.shortCount++;
    }

    /** Encodes one piece by merges in rank order (lowest rank first, leftmost first on ties), as HF's BPE does. */
    private void bpe(byte[] b, int from, int to, Scratch s) {
        if (ignoreMerges) {
            Integer whole = modelIds.get(ByteLevel.toChars(b, from, to));
            if (whole != null) {
                s.out.add(whole);
                return;
            }
        }
        int[] sym = s.symbols(to - from);
        int n = 0;
        for (int i = from; i < to; i++) {
            int id = byteIds[b[i] & 0xFF];
            if (id < 0) id = unkId;
            if (id >= 0) sym[n++] = id;
        }
        if (n <= SMALL_PIECE) bpeSmall(sym, n, s);
        else bpeLarge(sym, n, s);
    }

    private int rank(int left, int right) {
        return mergeRanks.get(LongIntMap.pair(left, right), NO_MERGE);
    }

    /** Quadratic but tiny: the rank of each adjacent pair in an array, the lowest merged until none is left. */
    private void bpeSmall(int[] sym, int n, Scratch s) {
        int[] ranks = s.ranks;
        for (int i = 0; i + 1 < n; i++) ranks[i] = rank(sym[i], sym[i + 1]);
        while (n > 1) {
            int best = 0;
            int bestRank = ranks[0];
            for (int i = 1; i + 1 < n; i++) {
                if (ranks[i] < bestRank) {
                    bestRank = ranks[i];
                    best = i;
                }
            }
            if (bestRank == NO_MERGE) break;
            sym[best] = mergeResult[bestRank];
            System.arraycopy(sym, best + 2, sym, best + 1, n - best - 2);
            System.arraycopy(ranks, best + 2, ranks, best + 1, Math.max(0, n - best - 3));
            n--;
            if (best > 0) ranks[best - 1] = rank(sym[best - 1], sym[best]);
            if (best + 1 < n) ranks[best] = rank(sym[best], sym[best + 1]);
        }
        s.out.addAll(sym, 0, n);
    }

    /** O(n log n) for long pieces: a linked list of symbols and a heap of (rank, position) candidates. */
    private void bpeLarge(int[] sym, int n, Scratch s) {
        int[] next = new int[n];
        int[] prev = new int[n];
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            if (i + 1 < n) {
                int r = rank(sym[i], sym[i + 1]);
                if (r != NO_MERGE) heap.push(((long) r << 32) | i);
            }
        }
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int r = (int) (top >>> 32);
            int pos = (int) top;
            if (sym[pos] < 0) continue;
            int nx = next[pos];
            if (nx < 0 || rank(sym[pos], sym[nx]) != r) continue;
            sym[pos] = mergeResult[r];
            sym[nx] = -1;
            int after = next[nx];
            next[pos] = after;
            if (after >= 0) prev[after] = pos;
            int pv = prev[pos];
            if (pv >= 0) {
                int pr = rank(sym[pv], sym[pos]);
                if (pr != NO_MERGE) heap.push(((long) pr << 32) | pv);
            }
            if (after >= 0) {
                int ar = rank(sym[pos], sym[after]);
                if (ar != NO_MERGE) heap.push(((long) ar << 32) | pos);
            }
        }
        for (int i = 0; i >= 0; i = next[i]) s.out.add(sym[i]);
    }

    /** Working memory of one encode call: output ids, piece ends, symbol arrays and the piece cache. */
    private static final class Scratch {
        static final int CACHE_SIZE = 1 << 15;
        static final int CACHE_MASK = CACHE_SIZE - 1;
        final IntList out = new IntList(1024);
        final IntList ends = new IntList(1024);
        final byte[][] cacheKeys = new byte[CACHE_SIZE][];
        final int[] cacheHashes = new int[CACHE_SIZE];
        final int[][] cacheValues = new int[CACHE_SIZE][];
        final long[] shortKeys = new long[1 << 17];
        final int[] shortValues = new int[1 << 17];
        final int[] shortPool = new int[1 << 18];
        int shortCount;
        int shortPoolSize;
        int[] sym = new int[256];
        final int[] ranks = new int[SMALL_PIECE];

        int[] symbols(int n) {
            if (sym.length < n) sym = new int[Math.max(n, sym.length * 2)];
            return sym;
        }
    }

    /** Debug form of the token sequence: each token's vocabulary string, space-separated. */
    String describe(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(sb.isEmpty() ? "" : " ").append(tokenString(id));
        return sb.toString();
    }
}
