package dev.jgpt.serve;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.Gpt2Decoder;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.Tokenizer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The views into a model for learners, as JSON: the tokenizer's pieces of a text, and for a prompt
 * every layer's and head's attention pattern plus the most likely next tokens at every position.
 *
 * <p>The attention view runs the training model's forward pass ({@link Gpt2}), which keeps each
 * layer's attention probabilities, over a copy of the served weights made once per model (the
 * inference path never materialises the full T x T pattern). Where the backend keeps no probabilities
 * (cuda's fused attention, prompts longer than the head size) it answers one clear 400 instead.
 */
final class ModelViews implements AutoCloseable {
    private final int maxTokens;
    private final Map<ServedModel, AttentionModel> attention = new ConcurrentHashMap<>();

    ModelViews(int maxTokens) {
        this.maxTokens = maxTokens;
    }

    /** {@code {"model", "count", "tokens": [{"id", "text", "bytes", "special"}]}} */
    ObjectNode tokenize(ServedModel m, String text) {
        Tokenizer tok = m.tokenizer();
        int[] ids = tok.encode(text);
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("model", m.name());
        o.put("count", ids.length);
        o.put("chars", text.length());
        o.put("bytes", text.getBytes(StandardCharsets.UTF_8).length);
        ArrayNode arr = o.putArray("tokens");
        for (int id : ids) {
            ObjectNode t = arr.addObject();
            byte[] b = tok.tokenBytes(id);
            t.put("id", id);
            t.put("text", piece(b));
            t.put("bytes", b.length);
            t.put("special", isSpecial(tok, id, b));
        }
        return o;
    }

    private static boolean isSpecial(Tokenizer tok, int id, byte[] b) {
        String s = new String(b, StandardCharsets.UTF_8);
        return s.startsWith("<|") && s.endsWith("|>") && tok.specialTokenId(s).orElse(-1) == id;
    }

    /** A token's bytes as text; bytes that are not whole UTF-8 characters appear as {@code \xNN}. */
    static String piece(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder s = new StringBuilder();
            for (byte x : b) {
                int v = x & 0xff;
                if (v >= 0x20 && v < 0x7f) s.append((char) v);
                else s.append(String.format("\\x%02x", v));
            }
            return s.toString();
        }
    }

    /**
     * {@code {"model", "tokens", "layers", "heads", "attention": [layer][head][query][key<=query],
     * "top": [position][{"id", "text", "p"}]}}
     */
    ObjectNode attention(ServedModel m, String text, int topK) {
        GptConfig config;
        if (m.primary() instanceof Gpt2Inference g) config = g.config();
        else if (m.primary() instanceof Gpt2Decoder d) config = d.config();
        else throw ApiException.badRequest("model", "the attention view needs a GPT-2 model; " + m.name() + " is not one");
        Tokenizer tok = m.tokenizer();
        int[] ids = tok.encode(text);
        if (ids.length == 0) throw ApiException.badRequest("text", "'text' gives no tokens");
        int limit = Math.min(maxTokens, config.contextLength());
        if (ids.length > limit) {
            throw ApiException.badRequest("text", "'text' is " + ids.length + " tokens; the attention view shows at most " + limit);
        }
        if (topK < 1 || topK > 20) throw ApiException.badRequest("top_k", "top_k must be in [1, 20]");
        if (m.primary() instanceof Gpt2Inference g) requireAttentionProbabilities(g.backend(), config, ids.length); // before building the view's model
        AttentionModel am = attention.computeIfAbsent(m, k -> AttentionModel.of(m.primary(), limit));
        return am.run(m, ids, topK);
    }

    /**
     * The one clear error when the backend would not keep the probabilities this view shows for a prompt of
     * T tokens: cuda's fused attention (bf16 mode's default for heads of at most 64, or {@code JGPT_CUDA_ATTENTION=fused})
     * computes attention without them wherever T exceeds the head size.
     */
    static void requireAttentionProbabilities(Backend ops, GptConfig c, int T) {
        if (ops.attentionKeepsProbabilities(1, T, c.channels(), c.heads())) return;
        throw ApiException.badRequest("text", "the attention view is unavailable for " + T + " tokens on the " + ops.name()
                + " backend with fused attention (bf16 mode's default, or JGPT_CUDA_ATTENTION=fused), which keeps no attention"
                + " probabilities for prompts longer than " + c.channels() / c.heads() + " tokens (the head size); serve with"
                + " JGPT_CUDA_ATTENTION=cublas to see them");
    }

    /** The training forward over a copy of one served model's weights, one prompt at a time. */
    private static final class AttentionModel implements AutoCloseable {
        private final Gpt2 net;
        private final Backend ops;
        private final TensorArena arena;
        private final TensorArena host = TensorArena.host();
        private final Tensor logits, logitsHost, attHost;

        private final Backend ownBackend;   // a native decoder's view runs on a cpu backend of its own

        /** Over a {@link Gpt2Inference}'s backend and weights, or a {@link Gpt2Decoder}'s host weights on a new cpu backend. */
        static AttentionModel of(dev.jgpt.generate.CausalLm lm, int maxT) {
            if (lm instanceof Gpt2Inference g) return new AttentionModel(g.backend(), null, g.config(), g.params(), maxT);
            Gpt2Decoder d = (Gpt2Decoder) lm;
            Backend cpu = new CpuBackend(d.threads());
            try {
                return new AttentionModel(cpu, cpu, d.config(), d.params(), maxT);
            } catch (RuntimeException | Error e) {
                cpu.close();
                throw e;
            }
        }

        private AttentionModel(Backend ops, Backend ownBackend, GptConfig c, Tensor params, int maxT) {
            this.ops = ops;
            this.ownBackend = ownBackend;
            net = new Gpt2(ops, c, 1, maxT);
            ops.copy(net.params().flat(), params);
            arena = ops.newArena();
            logits = arena.allocate(DType.F32, (long) maxT * c.vocabSize());
            logitsHost = logits.isHost() ? logits : host.allocate(DType.F32, (long) maxT * c.vocabSize());
            attHost = host.allocate(DType.F32, (long) c.heads() * maxT * maxT);
        }

        synchronized ObjectNode run(ServedModel m, int[] ids, int topK) {
            int T = ids.length;
            GptConfig c = net.config();
            int NH = c.heads(), L = c.layers(), V = c.vocabSize();
            ops.setThreads(ops.threads()); // OpenMP's thread count is per OS thread
            net.forward(ids, null, 1, T);
            ObjectNode o = Http.JSON.createObjectNode();
            o.put("model", m.name());
            o.put("layers", L);
            o.put("heads", NH);
            ArrayNode toks = o.putArray("tokens");
            for (int id : ids) {
                ObjectNode t = toks.addObject();
                t.put("id", id);
                t.put("text", piece(m.tokenizer().tokenBytes(id)));
            }
            ArrayNode layers = o.putArray("attention");
            for (int l = 0; l < L; l++) {
                Tensor att = net.attention(l);
                Tensor h = att;
                if (!att.isHost()) {
                    // bf16 probabilities (cuda in bf16 mode) land in the front half of the fp32 staging buffer
                    h = att.dtype() == DType.F32 ? attHost.view(0, att.numel())
                            : new Tensor(attHost.data().asSlice(0, att.byteSize()), att.dtype(), true, att.numel());
                    ops.copy(h, att);
                }
                ArrayNode heads = layers.addArray();
                for (int head = 0; head < NH; head++) {
                    ArrayNode rows = heads.addArray();
                    for (int q = 0; q < T; q++) {
                        ArrayNode row = rows.addArray();
                        long base = ((long) head * T + q) * T;
                        for (int k = 0; k <= q; k++) row.add(round(h.getFloat(base + k)));
                    }
                }
            }
            Tensor lg = logits.view(0, (long) T * V);
            net.logits(lg);
            Tensor lh = lg;
            if (logitsHost != logits) {
                lh = logitsHost.view(0, (long) T * V);
                ops.copy(lh, lg);
            }
            int vocab = Math.min(V, m.tokenizer().vocabSize());
            ArrayNode top = o.putArray("top");
            double[] p = new double[vocab];
            for (int t = 0; t < T; t++) {
                long base = (long) t * V;
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < vocab; i++) max = Math.max(max, lh.getFloat(base + i));
                double sum = 0;
                for (int i = 0; i < vocab; i++) sum += p[i] = Math.exp(lh.getFloat(base + i) - max);
                ArrayNode best = top.addArray();
                boolean[] taken = new boolean[vocab];
                for (int r = 0; r < Math.min(topK, vocab); r++) {
                    int arg = -1;
                    for (int i = 0; i < vocab; i++) if (!taken[i] && (arg < 0 || p[i] > p[arg])) arg = i;
                    taken[arg] = true;
                    ObjectNode e = best.addObject();
                    e.put("id", arg);
                    e.put("text", piece(m.tokenizer().tokenBytes(arg)));
                    e.put("p", round(p[arg] / sum));
                }
            }
            return o;
        }

        private static double round(double v) {
            return Math.round(v * 1e4) / 1e4;
        }

        @Override
        public void close() {
            net.close();
            arena.close();
            host.close();
            if (ownBackend != null) ownBackend.close();
        }
    }

    @Override
    public void close() {
        for (AttentionModel a : attention.values()) a.close();
        attention.clear();
    }
}
