package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatFormat;
import dev.jgpt.chat.ChatMessage;
import dev.jgpt.chat.RenderedChat;
import dev.jgpt.io.Json;
import dev.jgpt.memory.Tensor;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Chat JSONL for supervised fine-tuning ({@code {"messages":[{"role":…,"content":…}]}} per line),
 * rendered in the model's chat format ({@link ChatFormat#render}: jgpt's own for its runs, the imported model's
 * otherwise): the loss falls only on assistant tokens and the markup that ends their turn.
 *
 * <p>Training batches: each epoch concatenates the conversations in a seeded shuffled order into
 * one stream; row b of a batch is the next window of T+1 tokens (inputs {@code s[0..T)}, targets
 * {@code s[1..T]}, target -1 where the loss mask is off), and the cursor moves by T, as for
 * pretraining. The cursor (epoch, conversation, offset) is the whole state, so a resumed run sees
 * exactly the same batches. Evaluation walks the file order once, B*T tokens per batch.
 */
public final class SftData {
    private final List<RenderedChat> chats;
    private final long seed;
    private final int pad;
    private int[] order;
    private long totalTokens, trainedTokens;

    /** Where the cursor stands. */
    public record State(int epoch, int index, int offset) {}

    private SftData(List<RenderedChat> chats, long seed, int pad) {
        if (chats.isEmpty()) throw new IllegalArgumentException("no conversations");
        this.chats = chats;
        this.seed = seed;
        this.pad = pad;
        for (RenderedChat c : chats) {
            totalTokens += c.length();
            trainedTokens += c.maskedCount();
        }
        startEpoch(0);
    }

    /**
     * Reads and renders a chat JSONL file; bad lines are one clear error naming file and line. {@code pad}: the input
     * id of evaluation's padding positions (their targets are ignored).
     */
    public static SftData load(Path file, ChatFormat format, long seed, int pad) {
        return new SftData(read(file, format), seed, pad);
    }

    public static List<RenderedChat> read(Path file, ChatFormat format) {
        List<RenderedChat> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                out.add(format.render(parseLine(file, lineNo, line)));
            }
        } catch (NoSuchFileException e) {
            throw new JgptException(file + ": no such file");
        } catch (IOException e) {
            throw new JgptException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) throw new JgptException(file + ": no conversations");
        return out;
    }

    /** One JSONL line as messages; errors name {@code file:line}. */
    public static List<ChatMessage> parseLine(Path file, int lineNo, String line) {
        String where = file + ":" + lineNo;
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(line);
        } catch (JacksonException e) {
            throw new JgptException(where + ": not valid JSON (" + Json.problem(e) + ")");
        }
        JsonNode msgs = n == null ? null : n.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) {
            throw new JgptException(where + ": expected {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}");
        }
        List<ChatMessage> list = new ArrayList<>();
        boolean assistant = false;
        for (JsonNode m : msgs) {
            JsonNode role = m.get("role"), content = m.get("content");
            if (role == null || !role.isString()) throw new JgptException(where + ": a message without a \"role\"");
            if (content == null || !content.isString()) {
                throw new JgptException(where + ": message with role '" + role.stringValue() + "' has no \"content\" string");
            }
            try {
                list.add(new ChatMessage(role.stringValue(), content.stringValue()));
            } catch (JgptException e) {
                throw new JgptException(where + ": " + e.getMessage());
            }
            assistant |= role.stringValue().equals(ChatMessage.ASSISTANT);
        }
        if (!assistant) throw new JgptException(where + ": no assistant message (nothing to learn from)");
        return list;
    }

    public int conversations() {
        return chats.size();
    }

    public long totalTokens() {
        return totalTokens;
    }

    /** Tokens of the longest conversation. */
    public int longestConversation() {
        int n = 0;
        for (RenderedChat c : chats) n = Math.max(n, c.length());
        return n;
    }

    /** Tokens the loss falls on. */
    public long trainedTokens() {
        return trainedTokens;
    }

    /** Fills {@code order} with epoch {@code e}'s seeded permutation of the conversations. */
    private void fillOrder(int[] order, int e) {
        for (int i = 0; i < order.length; i++) order[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + e);
        for (int i = order.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }

    /** A position in the epoch-by-epoch stream of conversations. */
    private final class Cursor {
        int epoch, index, offset;
        int[] order;

        RenderedChat chat() {
            return chats.get(order[index]);
        }

        /** Moves one token on; at the end of an epoch, the next epoch's order goes into {@code scratch}. */
        void advance(int[] scratch) {
            if (++offset < chat().length()) return;
            offset = 0;
            if (++index < order.length) return;
            index = 0;
            epoch++;
            fillOrder(scratch, epoch);
            order = scratch;
        }
    }

    private final Cursor cursor = new Cursor();
    private final Cursor walker = new Cursor();
    private int[] scratchOrder;

    private void startEpoch(int e) {
        if (order == null) {
            order = new int[chats.size()];
            scratchOrder = new int[chats.size()];
        }
        fillOrder(order, e);
        cursor.order = order;
        cursor.epoch = e;
        cursor.index = 0;
        cursor.offset = 0;
    }

    /** Fills B rows of (inputs, masked targets) and advances the cursor by B*T tokens. */
    public void nextBatch(int B, int T, Tensor inputs, Tensor targets) {
        for (int b = 0; b < B; b++) {
            walker.epoch = cursor.epoch;
            walker.index = cursor.index;
            walker.offset = cursor.offset;
            walker.order = cursor.order;
            for (int t = 0; t <= T; t++) {
                RenderedChat c = walker.chat();
                int id = c.ids()[walker.offset];
                if (t < T) inputs.setInt((long) b * T + t, id);
                if (t > 0) targets.setInt((long) b * T + t - 1, c.lossMask()[walker.offset] ? id : -1);
                if (t < T) walker.advance(scratchOrder);
            }
            // the next row starts at this row's token T (the stride is T, as for pretraining)
            for (int t = 0; t < T; t++) cursor.advance(order);
        }
    }

    public State state() {
        return new State(cursor.epoch, cursor.index, cursor.offset);
    }

    public void restore(State s) {
        startEpoch(Math.max(0, s.epoch()));
        if (s.epoch() < 0 || s.index() < 0 || s.index() >= chats.size() || s.offset() < 0
                || s.offset() >= chats.get(order[s.index()]).length()) {
            throw new JgptException("chat data state " + s + " does not fit this chat file of " + chats.size()
                    + " conversations");
        }
        cursor.index = s.index();
        cursor.offset = s.offset();
    }

    /** Sequential evaluation over the file order: B*T tokens per batch, the tail padded with ignored targets. */
    public Evaluator.Batches evalBatches(int B, int T) {
        int[] pos = {0, 0}; // conversation, offset
        return (inputs, targets) -> {
            if (pos[0] >= chats.size()) return false;
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) {
                    long k = (long) b * T + t;
                    if (pos[0] >= chats.size()) {
                        inputs.setInt(k, pad);
                        targets.setInt(k, -1);
                        continue;
                    }
                    RenderedChat c = chats.get(pos[0]);
                    inputs.setInt(k, c.ids()[pos[1]]);
                    boolean last = pos[1] + 1 == c.length();
                    targets.setInt(k, last ? -1 : c.lossMask()[pos[1] + 1] ? c.ids()[pos[1] + 1] : -1);
                    if (last) {
                        pos[0]++;
                        pos[1] = 0;
                    } else {
                        pos[1]++;
                    }
                }
            }
            return true;
        };
    }
}
