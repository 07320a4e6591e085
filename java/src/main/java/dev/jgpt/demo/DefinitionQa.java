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
 * The demo's words: the corpus's most frequent nouns with their WordNet definition, as a glossary
 * for the pretraining text ({@code whale: a very large person.}) and as chats
 * ({@code What does "whale" mean?} → {@code "whale" means a very large person.}), split into
 * fine-tuning pairs and a held-out part that stays in the glossary only.
 *
 * <p>Held-out accuracy is multiple choice by likelihood: for each held-out word the model scores
 * its true definition and {@value #CHOICES}-1 definitions of other held-out words (the mean loss of the
 * definition's tokens in the answer, given the question); it is right when the true one scores best.
 * Chance is 1/{@value #CHOICES}. The same test on training pairs shows what fine-tuning memorised,
 * and {@link #glossaryAccuracy} asks it of the pretrained model in the glossary's form.
 */
public final class DefinitionQa {
    public static final int CHOICES = 4;

    /** A word and its definition (WordNet's words, no final period). */
    public record Pair(String word, String definition) {
        public String question() {
            return DefinitionQa.question(word);
        }

        /** The chat answer: {@code "whale" means a very large person.} */
        public String answer() {
            return DefinitionQa.answer(word, definition);
        }
    }

    private DefinitionQa() {}

    public static String question(String word) {
        return "What does \"" + word + "\" mean?";
    }

    /** What the answer says before the definition: the word, so the definition follows it as in the glossary. */
    static String answerPrefix(String word) {
        return "\"" + word + "\" means";
    }

    /**
     * The answer to {@link #question}: {@code "whale" means a very large person.} It restates the word
     * right before the definition, so the definition follows its word as in the glossary; the
     * definition itself is what the model has to remember.
     */
    public static String answer(String word, String definition) {
        return answerPrefix(word) + " " + definition + ".";
    }

    /** The definition inside an {@link #answer} (the whole text when it is not in that form). */
    static String definitionOf(String word, String answer) {
        String prefix = answerPrefix(word) + " ";
        String d = answer.startsWith(prefix) ? answer.substring(prefix.length()) : answer;
        return d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
    }

    /**
     * The corpus's most frequent words that WordNet defines ({@code senses}), each at least
     * {@code minCount} times, most frequent first, at most {@code max}: the words a small model has
     * seen often enough to have something to say about.
     */
    public static List<Pair> build(Map<String, WordNet.Sense> senses, String corpus, int minCount, int max) {
        Map<String, Integer> counts = new HashMap<>();
        Matcher m = Pattern.compile("[A-Za-z]+").matcher(corpus);
        while (m.find()) counts.merge(m.group().toLowerCase(Locale.ROOT), 1, Integer::sum);
        List<WordNet.Sense> known = new ArrayList<>();
        for (WordNet.Sense s : senses.values()) {
            if (counts.getOrDefault(s.lemma(), 0) >= minCount) known.add(s);
        }
        known.sort(java.util.Comparator.comparingInt((WordNet.Sense s) -> -counts.get(s.lemma())).thenComparing(WordNet.Sense::lemma));
        List<Pair> out = new ArrayList<>();
        for (WordNet.Sense s : known.subList(0, Math.min(max, known.size()))) out.add(new Pair(s.lemma(), s.definition()));
        return out;
    }

    /** The pairs split in two by a seeded draw: {@code [held out (n of them), the rest]}, each in the input's order. */
    @SuppressWarnings("unchecked")
    public static List<Pair>[] holdOut(List<Pair> pairs, int n, long seed) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) idx.add(i);
        Collections.shuffle(idx, new Random(seed));
        java.util.Set<Integer> held = new java.util.HashSet<>(idx.subList(0, Math.min(n, idx.size())));
        List<Pair> h = new ArrayList<>(), t = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) (held.contains(i) ? h : t).add(pairs.get(i));
        return new List[] {h, t};
    }

    /**
     * One glossary line of the pretraining text: {@code whale: a very large person.} A form of its
     * own, not the chat answer's: with the answer's sentence as the glossary line, held-out accuracy
     * came out lower (33% against 67%, docs/PERFORMANCE.md), and a held-out answer would be a
     * sentence copied from pretraining rather than knowledge carried over from another form.
     */
    public static String glossaryLine(Pair p) {
        return p.word() + ": " + p.definition() + ".";
    }

    /**
     * The glossary mixed into the pretraining text: {@link #glossaryLine} for every pair, {@code copies}
     * times, each copy in its own seeded order, cut into documents of {@code linesPerDoc} lines. Repeating
     * it is what lets a model this small remember a definition; the held-out words are in here too, in
     * this form only, so a held-out question asks the chat model for knowledge it read in pretraining
     * but was never asked about in fine-tuning.
     */
    public static List<String> glossary(List<Pair> pairs, int copies, int linesPerDoc, long seed) {
        List<String> docs = new ArrayList<>();
        Random rnd = new Random(seed);
        List<Pair> order = new ArrayList<>(pairs);
        for (int c = 0; c < copies; c++) {
            Collections.shuffle(order, rnd);
            StringBuilder doc = new StringBuilder();
            for (int i = 0; i < order.size(); i++) {
                doc.append(glossaryLine(order.get(i))).append('\n');
                if ((i + 1) % linesPerDoc == 0 || i == order.size() - 1) {
                    docs.add(doc.toString());
                    doc.setLength(0);
                }
            }
        }
        return docs;
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
        return accuracy(model, T, tok, pairs, distractorPool, limit, seed, false);
    }

    /**
     * The same multiple choice asked of a pretrained (not fine-tuned) model in the glossary's own form:
     * which definition is likeliest after "word:"? It shows what pretraining stored, before fine-tuning
     * teaches the question form.
     */
    public static double glossaryAccuracy(TrainableModel model, int T, Tokenizer tok, List<Pair> pairs, List<Pair> distractorPool,
                                          int limit, long seed) {
        return accuracy(model, T, tok, pairs, distractorPool, limit, seed, true);
    }

    private static double accuracy(TrainableModel model, int T, Tokenizer tok, List<Pair> pairs, List<Pair> distractorPool, int limit,
                                   long seed, boolean glossaryForm) {
        if (pairs.isEmpty() || distractorPool.stream().map(Pair::definition).distinct().count() < CHOICES) return Double.NaN;
        Random rnd = new Random(seed);
        List<Pair> asked = new ArrayList<>(pairs);
        Collections.shuffle(asked, new Random(seed)); // a seeded sample, not the first (most frequent) words
        int right = 0, n = 0;
        try (TensorArena host = TensorArena.host()) {
            Tensor in = host.allocate(DType.I32, T), tg = host.allocate(DType.I32, T);
            for (Pair p : asked.subList(0, Math.min(limit, asked.size()))) {
                double best = Double.MAX_VALUE;
                int bestIdx = -1;
                List<String> options = new ArrayList<>(); // definitions: the true one first
                options.add(p.definition());
                while (options.size() < CHOICES) {
                    String d = distractorPool.get(rnd.nextInt(distractorPool.size())).definition();
                    if (!options.contains(d)) options.add(d);
                }
                for (int i = 0; i < options.size(); i++) {
                    Pair option = new Pair(p.word(), options.get(i));
                    double loss = glossaryForm ? glossaryLoss(model, tok, option, in, tg, T) : answerLoss(model, tok, option, in, tg, T);
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

    /** The Wilson score interval (95%) of a proportion {@code p} measured on {@code n} trials: {@code [low, high]}. */
    public static double[] wilson95(double p, int n) {
        if (n <= 0 || Double.isNaN(p)) return new double[] {Double.NaN, Double.NaN};
        double z = 1.959964, z2 = z * z, d = 1 + z2 / n;
        double centre = (p + z2 / (2 * n)) / d, half = z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / d;
        return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
    }

    /** Mean loss (nats/token) of the definition (and the line's end) in the pretraining glossary's line for the pair. */
    static double glossaryLoss(TrainableModel model, Tokenizer tok, Pair p, Tensor in, Tensor tg, int T) {
        String line = glossaryLine(p);
        int cut = line.length() - p.definition().length() - 2; // the text before " definition."
        int[] head = tok.encodeOrdinary("\n" + line.substring(0, cut)), tail = tok.encodeOrdinary(line.substring(cut) + "\n");
        int n = Math.min(head.length + tail.length - 1, T);
        Tensor x = in.view(0, n), y = tg.view(0, n);
        for (int t = 0; t < n; t++) {
            x.setInt(t, t < head.length ? head[t] : tail[t - head.length]);
            y.setInt(t, t + 1 < head.length ? -1 : tail[t + 1 - head.length]);
        }
        return model.forward(x, y, 1, n);
    }

    /**
     * Mean loss (nats/token) of the definition and the end token in the chat answer to the pair's
     * question; the words before the definition (the restated word) are the same in every option, so
     * they are not scored.
     */
    static double answerLoss(TrainableModel model, Tokenizer tok, Pair p, Tensor in, Tensor tg, int T) {
        RenderedChat c = ChatTemplate.render(List.of(ChatMessage.user(p.question()), ChatMessage.assistant(p.answer())), tok);
        int skip = tok.encodeOrdinary(answerPrefix(p.word())).length; // answer tokens before the definition
        int n = Math.min(c.length() - 1, T); // only as many positions as the conversation has
        Tensor x = in.view(0, n), y = tg.view(0, n);
        int answerTokens = 0;
        for (int t = 0; t < n; t++) {
            x.setInt(t, c.ids()[t]);
            boolean scored = c.lossMask()[t + 1] && answerTokens++ >= skip;
            y.setInt(t, scored ? c.ids()[t + 1] : -1);
        }
        return model.forward(x, y, 1, n);
    }
}
