package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatBackend;
import dev.jgpt.chat.ChatRepl;
import dev.jgpt.chat.ConversationMemory;
import dev.jgpt.chat.LocalChatBackend;
import dev.jgpt.chat.OpenAiChatBackend;
import dev.jgpt.chat.Style;
import dev.jgpt.chat.Styles;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code jgpt chat}: talk to a trained model (or an OpenAI-compatible endpoint). In a terminal it
 * is a line editor with history; with stdin from a pipe it reads one user turn per line and prints
 * one answer per turn on stdout (command feedback on stderr).
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chat with a trained model in the terminal (/help inside lists the commands).",
                "With stdin from a pipe: one user message per line, one answer per line on stdout."})
public final class ChatCommand implements Runnable {

    @Spec CommandSpec spec;

    static final class Source {
        @Option(names = "--model", paramLabel = "RUN", description = "Run directory (or model) to chat with.")
        Path model;

        @Option(names = "--remote", paramLabel = "URL",
                description = "An OpenAI-compatible API root instead, e.g. http://127.0.0.1:8080/v1.")
        URI remote;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--remote-model", defaultValue = "default", paramLabel = "NAME",
            description = "Model name sent to the remote endpoint (default ${DEFAULT-VALUE}).")
    String remoteModel;

    @Option(names = "--api-key-env", defaultValue = "JGPT_API_KEY", paramLabel = "VAR",
            description = "Environment variable holding the remote endpoint's API key (default ${DEFAULT-VALUE}).")
    String apiKeyEnv;

    @Option(names = "--remote-context", defaultValue = "4096", paramLabel = "N",
            description = "Context length of the remote model, for the memory budget (default ${DEFAULT-VALUE}).")
    int remoteContext;

    @Option(names = "--style", paramLabel = "NAME",
            description = "Style preset: a system prompt plus sampling settings (balanced, concise, friendly, formal, creative, precise).")
    String style;

    @Option(names = "--system", paramLabel = "TEXT", description = "System prompt (replaces the style's).")
    String system;

    @Mixin GenerationOptions options = new GenerationOptions();

    @Mixin LlamaModelOptions llama = new LlamaModelOptions();

    @Option(names = "--plain", description = "Read plain lines from stdin even in a terminal (no line editor).")
    boolean plain;

    @Option(names = "--history", paramLabel = "FILE",
            description = "Line-editor history file (default ~/.jgpt/chat_history; 'none' for no history).")
    String history;

    private final ModelLoader loader;
    private final InputStream in;

    public ChatCommand() {
        this(ModelLoader.standard(), System.in);
    }

    ChatCommand(ModelLoader loader, InputStream in) {
        this.loader = loader;
        this.in = in;
    }

    @Override
    public void run() {
        Style preset = style == null ? null : Styles.get(style);
        try (ChatBackend backend = openBackend()) {
            GenerationConfig base = GenerationConfig.DEFAULTS;
            if (preset != null) base = preset.apply(base);
            if (!options.maxTokensGiven()) {
                // leave at least half the context to the conversation
                base = base.withMaxNewTokens(Math.max(1, Math.min(base.maxNewTokens(), backend.contextLength() / 2)));
            }
            GenerationConfig config = options.apply(base);
            ConversationMemory memory = new ConversationMemory(
                    system != null ? system : preset != null ? preset.systemPrompt() : "");
            boolean terminal = !plain && System.console() != null && System.console().isTerminal();
            if (terminal) {
                ChatRepl.runInteractive(backend, memory, config, style, historyFile());
            } else {
                ChatRepl repl = new ChatRepl(backend, memory, config, spec.commandLine().getOut(), spec.commandLine().getErr());
                repl.styleName(preset == null ? null : preset.name());
                repl.runPiped(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ChatBackend openBackend() {
        if (source.remote != null) {
            String key = System.getenv(apiKeyEnv);
            return new OpenAiChatBackend(source.remote, remoteModel, key, remoteContext);
        }
        LoadedModel m = llama.loaderFor(source.model, loader).load(source.model);
        try {
            return new LocalChatBackend(m.name(), m.model(), m.tokenizer(), m.chatFormat(llama.chatFormat));
        } catch (JgptException e) {
            m.close();
            throw new JgptException("model " + source.model + ": " + e.getMessage(), e);
        }
    }

    private Path historyFile() {
        if ("none".equals(history)) return null;
        if (history != null) return Path.of(history);
        try {
            Path dir = Path.of(System.getProperty("user.home"), ".jgpt");
            Files.createDirectories(dir);
            return dir.resolve("chat_history");
        } catch (IOException | RuntimeException e) {
            return null; // no writable home: chat without history
        }
    }
}
