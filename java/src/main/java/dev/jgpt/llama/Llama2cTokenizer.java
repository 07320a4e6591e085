package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * llama2.c's {@code tokenizer.bin}: int32 max_token_length, then for each of the vocabulary's ids a
 * float32 score, an int32 length and that many bytes of the piece (sentencepiece's pieces with
 * U+2581 already turned into a space). Ids 0, 1, 2 are {@code <unk>}, {@code <s>} (BOS),
 * {@code </s>} (EOS); ids 3..258 are the byte pieces {@code <0x00>}..{@code <0xFF>}.
 *
 * <p>Encoding is run.c's, step for step: BOS first (when asked), a dummy-prefix space piece when
 * the text is not empty, every UTF-8 character looked up as a piece (a character that is not a
 * piece becomes its bytes' {@code <0xXX>} pieces, id = byte + 3), then repeatedly merge the
 * adjacent pair whose concatenation is a piece of the highest score (the leftmost on ties) until no
 * pair merges. Decoding maps {@code <0xXX>} pieces to their byte, drops BOS/EOS (control tokens)
 * and, like run.c, drops the leading space of the first piece after BOS, and of the first piece of
 * a sequence (the dummy prefix), so {@code decode(encode(s)) == s}.
 */
public final class Llama2cTokenizer implements Tokenizer {
    public static final int UNK = 0, BOS = 1, EOS = 2;

    private final byte[][] pieces;
    private final float[] scores;
    private final Map<String, Integer> ids; // piece bytes as ISO-8859-1 (one char per byte) -> id
    private final byte[][] tokenBytes;      // what each id decodes to

    public Llama2cTokenizer(byte[][] pieces, float[] scores) {
        this.pieces = pieces;
        this.scores = scores;
        ids = new HashMap<>(pieces.length * 2);
        tokenBytes = new byte[pieces.length][];
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(latin1(pieces[i]), i);
            tokenBytes[i] = decodePiece(i, pieces[i]);
        }
    }

    /** Reads {@code tokenizer.bin} for a model of {@code vocabSize} tokens. */
    public static Llama2cTokenizer read(Path file, int vocabSize) {
        return read(file, vocabSize, true);
    }

    /**
     * Reads every token of a {@code tokenizer.bin} (the file does not say how many it holds: as many as fit), for a
     * tokenizer kept beside the model it was checked against (a fine-tuning run's).
     */
    public static Llama2cTokenizer read(Path file) {
        return read(file, Integer.MAX_VALUE, false);
    }

    private static Llama2cTokenizer read(Path file, int vocabSize, boolean exact) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new JgptException("tokenizer " + file + ": " + (Files.exists(file) ? e.getMessage() : "no such file"));
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        java.util.List<byte[]> pieces = new java.util.ArrayList<>();
        FloatList scores = new FloatList();
        try {
            int maxLen = b.getInt();
            if (maxLen <= 0 || maxLen > 1 << 16) throw new JgptException("tokenizer " + file + ": max_token_length " + maxLen + " is not plausible");
            for (int i = 0; i < vocabSize && (exact || b.hasRemaining()); i++) {
                scores.add(b.getFloat());
                int len = b.getInt();
                if (len < 0 || len > b.remaining()) {
                    throw new JgptException("tokenizer " + file + ": token " + i + " has length " + len + " at byte " + (b.position() - 4));
                }
                byte[] p = new byte[len];
                b.get(p);
                pieces.add(p);
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new JgptException("tokenizer " + file + ": ends early (" + all.length + " bytes)"
                    + (exact ? " for a vocabulary of " + vocabSize + " tokens; is it the tokenizer of this model?" : " inside token " + pieces.size()));
        }
        if (b.hasRemaining()) {
            throw new JgptException("tokenizer " + file + ": " + b.remaining() + " bytes left after " + vocabSize
                    + " tokens; the model's vocabulary and the tokenizer's differ");
        }
        if (!exact && pieces.size() < 3) throw new JgptException("tokenizer " + file + ": " + pieces.size() + " tokens; llama2.c's has <unk>, <s>, </s> first");
        return new Llama2cTokenizer(pieces.toArray(byte[][]::new), scores.toArray());
    }

    /** A growable float array (scores, before the count is known). */
    private static final class FloatList {
        private float[] a = new float[1024];
        private int n;

        void add(float f) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, 2 * n);
            a[n++] = f;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /**
     * Converts a Hugging Face {@code tokenizer.json} of a Llama (sentencepiece BPE with byte
     * fallback: model.type BPE, "\u2581" for spaces, {@code <0xXX>} byte pieces) into this
     * tokenizer, as llama2.c's tokenizer export does from the sentencepiece model: pieces with
     * U+2581 turned into spaces, and as scores the negated rank of the merge that creates each piece
     * (sentencepiece's BPE scores are in merge order), 0 for pieces no merge creates.
     */
    public static Llama2cTokenizer fromHuggingFace(Path file, int vocabSize) {
        tools.jackson.databind.JsonNode root;
        try {
            root = tools.jackson.databind.json.JsonMapper.builder().build().readTree(Files.readString(file));
        } catch (IOException | RuntimeException e) {
            throw new JgptException("tokenizer " + file + ": " + e.getMessage());
        }
        tools.jackson.databind.JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asString(""))) {
            throw new JgptException("tokenizer " + file + ": model.type is not BPE (a sentencepiece-BPE Llama tokenizer is needed)");
        }
        byte[][] pieces = new byte[vocabSize][];
        float[] scores = new float[vocabSize];
        Map<String, Integer> byText = new HashMap<>();
        for (var e : model.path("vocab").properties()) {
            int id = e.getValue().asInt();
            if (id < 0 || id >= vocabSize) continue;
            pieces[id] = e.getKey().replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
            byText.put(e.getKey(), id);
        }
        for (var t : root.path("added_tokens")) {
            int id = t.path("id").asInt(-1);
            if (id >= 0 && id < vocabSize && pieces[id] == null) pieces[id] = t.path("content").asString().getBytes(StandardCharsets.UTF_8);
        }
        int rank = 0;
        for (var m : model.path("merges")) {
            String merged = m.isArray() ? m.get(0).asString() + m.get(1).asString() : m.asString().replaceFirst(" ", "");
            Integer id = byText.get(merged);
            if (id != null && scores[id] == 0) scores[id] = -(++rank);
            else rank++;
        }
        for (int i = 0; i < vocabSize; i++) {
            if (pieces[i] == null) throw new JgptException("tokenizer " + file + ": no token with id " + i + " (model vocabulary " + vocabSize + ")");
        }
        return new Llama2cTokenizer(pieces, scores);
    }

    /** Writes {@code tokenizer.bin} (for tests and export). */
    public void write(Path file) {
        int max = 0, total = 4;
        for (byte[] p : pieces) {
            max = Math.max(max, p.length);
            total += 8 + p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(max);
        for (int i = 0; i < pieces.length; i++) b.putFloat(scores[i]).putInt(pieces[i].length).put(pieces[i]);
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, b.array());
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new JgptException("cannot write tokenizer " + file + ": " + e.getMessage());
        }
    }

    /** run.c's {@code encode(text, bos, eos)}. */
    public int[] encode(String text, boolean bos, boolean eos) {
        byte[] s = text.getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[s.length + 3];
        int n = 0;
        if (bos) tokens[n++] = BOS;
        if (s.length > 0) {
            Integer dummy = ids.get(" ");
            if (dummy == null) throw new JgptException("tokenizer has no ' ' piece for the dummy prefix");
            tokens[n++] = dummy;
        }
        // code points: a lead byte starts a new one; up to 4 bytes each
        int i = 0;
        while (i < s.length) {
            int j = i + 1;
            while (j < s.length && (s[j] & 0xC0) == 0x80 && j - i < 4) j++;
            Integer id = ids.get(new String(s, i, j - i, StandardCharsets.ISO_8859_1));
            if (id != null) {
                tokens[n++] = id;
            } else {
                for (int k = i; k < j; k++) tokens[n++] = (s[k] & 0xFF) + 3; // byte fallback: <0x00> is id 3
            }
            i = j;
        }
        n = merge(tokens, bos ? 1 : 0, n);
        if (eos) tokens[n++] = EOS;
        return java.util.Arrays.copyOf(tokens, n);
    }

    /**
     * run.c's merges of {@code tokens[from, n)}: the best-scoring adjacent pair each round, leftmost on ties, until none
     * is in the vocabulary; returns the new n. run.c rescans every pair each round (quadratic: minutes for a chapter of
     * a book); here the candidate pairs wait in a priority queue ordered by (score, position) and the symbols form a
     * linked list, so a merge costs a log — same merges in the same order, so the same ids.
     */
    private int merge(int[] tokens, int from, int n) {
        int count = n - from;
        if (count < 2) return n;
        int[] id = java.util.Arrays.copyOfRange(tokens, from, n), next = new int[count], prev = new int[count];
        for (int k = 0; k < count; k++) {
            next[k] = k + 1 < count ? k + 1 : -1;
            prev[k] = k - 1;
        }
        // a candidate: merged id, left symbol, and the ids it was made from (stale once either symbol changed)
        record Pair(float score, int left, int leftId, int rightId, int merged) {}
        java.util.PriorityQueue<Pair> queue = new java.util.PriorityQueue<>(
                (x, y) -> x.score != y.score ? Float.compare(y.score, x.score) : Integer.compare(x.left, y.left));
        java.util.function.IntConsumer offer = left -> {
            int right = next[left];
            if (right < 0) return;
            Integer m = ids.get(latin1(pieces[id[left]]) + latin1(pieces[id[right]]));
            if (m != null && scores[m] > -1e10f) queue.add(new Pair(scores[m], left, id[left], id[right], m)); // run.c's floor
        };
        for (int k = 0; k + 1 < count; k++) offer.accept(k);
        boolean[] gone = new boolean[count];
        while (!queue.isEmpty()) {
            Pair c = queue.poll();
            int left = c.left, right = next[left];
            if (gone[left] || right < 0 || id[left] != c.leftId || id[right] != c.rightId) continue; // stale
            id[left] = c.merged;
            gone[right] = true;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) offer.accept(prev[left]);
            offer.accept(left);
        }
        int out = from;
        for (int k = 0; k >= 0; k = next[k]) tokens[out++] = id[k];
        return out;
    }

    /** The prompt encoding generation uses: BOS first, like run.c's generate. */
    @Override
    public int[] encode(String text) {
        return encode(text, true, false);
    }

    /** run.c's encoding without BOS: a document of a shard, after the BOS the packer writes before it. */
    @Override
    public int[] encodeDocument(String text) {
        return encode(text, false, false);
    }

    @Override
    public int[] encodeOrdinary(String text) {
        return encode(text, true, false);
    }

    @Override
    public byte[] decodeBytes(int[] ids) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        boolean atStart = true;
        for (int id : ids) {
            byte[] b = tokenBytes(id);
            if (id == BOS) {
                atStart = true;
                continue;
            }
            int skip = atStart && b.length > 0 && b[0] == ' ' && !isBytePiece(pieces[id]) ? 1 : 0;
            out.write(b, skip, b.length - skip);
            if (b.length > 0) atStart = false;
        }
        return out.toByteArray();
    }

    @Override
    public byte[] tokenBytes(int id) {
        if (id < 0 || id >= tokenBytes.length) throw new IllegalArgumentException("token " + id + " outside the vocabulary");
        return tokenBytes[id];
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public OptionalInt specialTokenId(String token) {
        return switch (token) {
            // generation starts from and stops at "<|endoftext|>": for llama2.c that is BOS, which
            // delimits stories (run.c starts from BOS and stops when the model emits it)
            case "<s>", "<|endoftext|>" -> OptionalInt.of(BOS);
            case "</s>", "<|end|>" -> OptionalInt.of(EOS);
            case "<unk>" -> OptionalInt.of(UNK);
            default -> OptionalInt.empty();
        };
    }

    /** The raw piece of an id, as stored. */
    public byte[] piece(int id) {
        return pieces[id].clone();
    }

    public float score(int id) {
        return scores[id];
    }

    private static byte[] decodePiece(int id, byte[] piece) {
        if (id == BOS || id == EOS) return new byte[0];
        if (isBytePiece(piece)) {
            return new byte[] {(byte) Integer.parseInt(new String(piece, 3, 2, StandardCharsets.US_ASCII), 16)};
        }
        return piece;
    }

    /** {@code <0xXX>} with two hex digits, as run.c's {@code sscanf(piece, "<0x%02hhX>")} accepts. */
    static boolean isBytePiece(byte[] p) {
        return p.length == 6 && p[0] == '<' && p[1] == '0' && p[2] == 'x' && hex(p[3]) && hex(p[4]) && p[5] == '>';
    }

    private static boolean hex(byte c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
    }

    private static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }
}
