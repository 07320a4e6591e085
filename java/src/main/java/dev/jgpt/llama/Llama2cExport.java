package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.tokenizer.BpeTokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A Llama run as the two files llama2.c's {@code run.c} needs: {@code model.bin} and, beside it,
 * {@code tokenizer.bin} made from the run's byte-level BPE.
 *
 * <p>run.c hard-codes three id conventions: it starts from and stops at BOS = id 1, knows EOS = id
 * 2, and encodes a character that is not a piece as its bytes' ids {@code byte + 3}. Our tokenizer
 * puts the 256 byte tokens first in GPT-2's byte order and the special tokens last, so exported as
 * they are, run.c would start every text from (and stop at) whatever byte token sits at id 1, and
 * its byte fallback would pick unrelated tokens. So the export renumbers the vocabulary
 * ({@link #vocabularyOrder}): id 1 = {@code <|endoftext|>} (the token that starts every training
 * document, which is what run.c's BOS is for), id 2 = {@code <|end|>}, ids 3..258 = the bytes 0..255,
 * id 0 = another special token, then every other token in its old order. The embedding and
 * classifier rows are permuted the same way, so the exported model computes exactly the trained
 * function, relabelled.
 *
 * <p>Pieces are each token's raw bytes (byte 0 as {@code <0x00>}: run.c keeps pieces as C strings);
 * a token made by merge rank r scores {@code -(r + 1)}, so run.c's "merge the adjacent pair whose
 * concatenation scores best" follows BPE's merge order; byte tokens score 0 (never a merge result);
 * special tokens and tokens no merge makes score {@code -1e10}, which run.c never merges to (it
 * wants a score strictly above -1e10), so typed text never turns into a control token.
 */
public final class Llama2cExport {
    /** The file run.c reads by default, written beside the exported model. */
    public static final String TOKENIZER_FILE = "tokenizer.bin";
    /** run.c merges only to pieces scoring strictly more than this. */
    static final float NEVER_MERGED = -1e10f;

    private Llama2cExport() {}

    /** Writes {@code model} (weights of a model trained with {@code tok}) to {@code out} and {@code tokenizer.bin} beside it. */
    public static void write(Path out, LlamaWeights model, BpeTokenizer tok) {
        if (model.config().vocabSize() != tok.vocabSize()) {
            throw new JgptException("the model's vocabulary (" + model.config().vocabSize() + ") differs from the tokenizer's ("
                    + tok.vocabSize() + ")");
        }
        int[] order = vocabularyOrder(tok);
        Path parent = out.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new JgptException("cannot create " + parent + ": " + e.getMessage(), e);
        }
        try (Arena arena = Arena.ofConfined()) {
            Llama2cCheckpoint.write(out, permuted(model, order, arena));
        }
        tokenizer(tok, order).write(out.toAbsolutePath().resolveSibling(TOKENIZER_FILE));
    }

    /**
     * The exported vocabulary: {@code order[newId] = our id}. Slots 1 and 2 take {@code <|endoftext|>}
     * and {@code <|end|>} when the tokenizer has them, 3..258 the byte tokens; the rest follow in
     * their old order (filling slots 0..2 first where a token was missing).
     */
    public static int[] vocabularyOrder(BpeTokenizer tok) {
        int V = tok.vocabSize();
        int[] byteId = new int[256];
        for (int b = 0; b < 256; b++) {
            int[] ids = tok.encodeBytes(new byte[] {(byte) b});
            if (ids.length != 1) throw new JgptException("tokenizer has no token for the byte 0x" + hex(b) + "; llama2.c needs all 256");
            byteId[b] = ids[0];
        }
        if (V < 259) throw new JgptException("a vocabulary of " + V + " tokens is too small for llama2.c (3 control + 256 byte tokens)");
        int eot = tok.specialTokenId("<|endoftext|>").orElse(-1), end = tok.specialTokenId("<|end|>").orElse(-1);
        boolean[] placed = new boolean[V];
        int[] order = new int[V];
        java.util.Arrays.fill(order, -1);
        if (eot >= 0) place(order, placed, Llama2cTokenizer.BOS, eot);
        if (end >= 0 && end != eot) place(order, placed, Llama2cTokenizer.EOS, end);
        for (int b = 0; b < 256; b++) {
            if (placed[byteId[b]]) throw new JgptException("tokenizer: the byte 0x" + hex(b) + " is a special token; llama2.c cannot take it");
            place(order, placed, 3 + b, byteId[b]);
        }
        int next = 0;
        for (int id = 0; id < V; id++) {
            if (placed[id]) continue;
            while (order[next] >= 0) next++;
            place(order, placed, next, id);
        }
        return order;
    }

    private static void place(int[] order, boolean[] placed, int slot, int id) {
        order[slot] = id;
        placed[id] = true;
    }

    /** llama2.c's tokenizer for the exported ids: pieces and scores as described in the class comment. */
    public static Llama2cTokenizer tokenizer(BpeTokenizer tok, int[] order) {
        int V = tok.vocabSize();
        float[] ourScore = new float[V];
        java.util.Arrays.fill(ourScore, NEVER_MERGED);
        Map<String, Integer> idOf = new HashMap<>();
        for (int id = 0; id < V; id++) {
            if (!tok.isAddedToken(id)) idOf.putIfAbsent(tok.tokenString(id), id);
        }
        for (int b = 0; b < 256; b++) ourScore[tok.encodeBytes(new byte[] {(byte) b})[0]] = 0;
        for (int r = tok.mergeCount() - 1; r >= 0; r--) { // the lowest rank making a token wins
            String[] m = tok.merge(r);
            Integer id = idOf.get(m[0] + m[1]);
            if (id != null && !tok.isAddedToken(id)) ourScore[id] = -(r + 1f);
        }
        byte[][] pieces = new byte[V][];
        float[] scores = new float[V];
        for (int i = 0; i < V; i++) {
            byte[] b = tok.tokenBytes(order[i]);
            pieces[i] = b.length == 1 && b[0] == 0 ? "<0x00>".getBytes(StandardCharsets.US_ASCII) : b;
            scores[i] = tok.isAddedToken(order[i]) ? NEVER_MERGED : ourScore[order[i]];
        }
        return new Llama2cTokenizer(pieces, scores);
    }

    /** Views of {@code w} with the embedding (and a separate classifier) rows in the exported order; the rest shared. */
    static LlamaWeights permuted(LlamaWeights w, int[] order, Arena arena) {
        LlamaConfig c = w.config();
        MemorySegment emb = permuteRows(w.tokenEmbedding(), order, c.dim(), arena);
        MemorySegment cls = c.sharedClassifier() ? emb : permuteRows(w.wcls(), order, c.dim(), arena);
        return new LlamaWeights(c, emb, w.rmsAtt(), w.wq(), w.wk(), w.wv(), w.wo(), w.rmsFfn(), w.w1(), w.w2(), w.w3(),
                w.rmsFinal(), cls);
    }

    private static MemorySegment permuteRows(MemorySegment src, int[] order, int dim, Arena arena) {
        long row = 4L * dim;
        MemorySegment out = arena.allocate(row * order.length, 64);
        for (int i = 0; i < order.length; i++) MemorySegment.copy(src, order[i] * row, out, i * row, row);
        return out;
    }

    /** The exported ids of a sequence of our ids (for tests and tools comparing both). */
    public static int[] toExported(int[] ours, int[] order) {
        int[] inverse = new int[order.length];
        for (int i = 0; i < order.length; i++) inverse[order[i]] = i;
        int[] out = new int[ours.length];
        for (int i = 0; i < ours.length; i++) out[i] = inverse[ours[i]];
        return out;
    }

    private static String hex(int b) {
        return String.format("%02X", b);
    }
}
