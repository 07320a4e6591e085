package dev.jgpt.demo;

import dev.jgpt.chat.ChatMessage;
import dev.jgpt.chat.ChatTemplate;
import dev.jgpt.chat.RenderedChat;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.Json;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.train.TrainableModel;
import dev.jgpt.tokenizer.Tokenizer;
import tools.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's chat set: "What does X mean?" → X's most frequent WordNet definition, for words of the
 * pretraining corpus (so the model has seen them), split into training pairs and a held-out part.
 *
 * <p>Held-out accuracy is multiple choice by likelihood: for each held-out word the model scores
 * its true definition and {@value #CHOICES}-1 definitions of other held-out words (the mean loss of the
 * answer tokens given the question); it is right when the true one scores best. Chance is
 * 1/{@value #CHOICES}. The same test on training pairs shows what fine-tuning memorised.
 */
public final class DefinitionQa {
    public static final int CHOICES = 4;

    public record Pair(String word, String question, String answer) {}

    private DefinitionQa() {}

    public static String question(String word) {
        return "What does \"" + word + "\" mean?";
    }

    static String answer(WordNet.Sense s) {
        String d = s.definition();
        return Character.toUpperCase(d.charAt(0)) + d.substring(1) + ".";
    }

    /** Words of the corpus (at least {@code minCount} times) that WordNet defines, in a seeded random order. */
    public static List<Pair> build(Map<String, WordNet.Sense> senses, String corpus, int minCount, int max, long seed) {
        Map<String, Integer> counts = new HashMap<>();
        Matcher m = Pattern.compile("[A-Za-z]+").matcher(corpus);
        while (m.find()) counts.merge(m.group().toLowerCase(Locale.ROOT), 1, Integer::sum);
        List<Pair> out = new ArrayList<>();
        for (WordNet.Sense s : senses.values()) {
            if (counts.getOrDefault(s.lemma(), 0) >= minCount) out.add(new Pair(s.lemma(), question(s.lemma()), answer(s)));
        }
        Collections.shuffle(out, new Random(seed));
        return out.size() > max ? new ArrayList<>(out.subList(0, max)) : out;
    }

    public static void writeJsonl(Path file, List<Pair> pairs) {
        StringBuilder sb = new StringBuilder();
        for (Pair p : pairs) {
            ObjectNode o = Json.object();
            var msgs = o.putArray("messages");
            msgs.addObject().put("role", "user").put("content", p.question());
            msgs.addObject().put("role", "assistant").put("content", p.answer());
            sb.append(Json.MAPPER.writeValueAsString(o)).append('\n');
        }
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Multiple-choice accuracy (see the class comment) over at most {@code limit} pairs; {@code T}: the model's batch length. */
    public static double accuracy(TrainableModel model, int T, Tokenizer tok, List<Pair> pairs, List<Pair> distractorPool, int limit,
                                  long seed) {
        if (pairs.isEmpty() || distractorPool.size() < CHOICES) return Double.NaN;
        Random rnd = new Random(seed);
        int right = 0, n = 0;
        try (TensorArena host = TensorArena.host()) {
            Tensor in = host.allocate(DType.I32, T), tg = host.allocate(DType.I32, T);
            for (Pair p : pairs.subList(0, Math.min(limit, pairs.size()))) {
                double best = Double.MAX_VALUE;
                int bestIdx = -1;
                List<String> options = new ArrayList<>();
                options.add(p.answer());
                while (options.size() < CHOICES) {
                    String d = distractorPool.get(rnd.nextInt(distractorPool.size())).answer();
                    if (!options.contains(d)) options.add(d);
                }
                for (int i = 0; i < options.size(); i++) {
                    double loss = answerLoss(model, tok, p.question(), options.get(i), in, tg, T);
                    if (loss < best) {
                        best = loss;
                        bestIdx = i;
                    }
                }
                if (bestIdx == 0) right++;
                n++;
            }
        }
        return n == 0 ? Double.NaN : (double) right / n;
    }

    /** Mean loss (nats/token) of the answer and its end token after the question, in the chat template. */
    static double answerLoss(TrainableModel model, Tokenizer tok, String q, String a, Tensor in, Tensor tg, int T) {
        RenderedChat c = ChatTemplate.render(List.of(ChatMessage.user(q), ChatMessage.assistant(a)), tok);
        int n = Math.min(c.length() - 1, T); // only as many positions as the conversation has
        Tensor x = in.view(0, n), y = tg.view(0, n);
        for (int t = 0; t < n; t++) {
            x.setInt(t, c.ids()[t]);
            y.setInt(t, c.lossMask()[t + 1] ? c.ids()[t + 1] : -1);
        }
        return model.forward(x, y, 1, n);
    }
}
