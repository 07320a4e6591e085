package dev.jgpt.chat;

import dev.jgpt.JgptException;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.TokenListener;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import tools.jackson.databind.json.JsonMapper;

/**
 * The chat loop: reads user turns and {@code /commands}, streams the backend's answers.
 *
 * <p>Two front ends share {@link #handle}: {@link #runInteractive} (JLine: editing, history,
 * multi-line input with a trailing backslash, Ctrl-C stops an answer) and {@link #runPiped} (one
 * user turn per line, for scripts and tests: answers, one per turn, go to {@code out}; command
 * feedback goes to {@code info}, which the CLI points at stderr so stdout holds only answers).
 */
public final class ChatRepl {
    static final String HELP = """
            Type a message and press Enter. Commands:
              /help                 this list
              /reset                forget the conversation (system prompt and remembered facts stay)
              /set NAME VALUE       change a setting: %s
              /settings             show the settings
              /style [NAME]         switch style (system prompt + sampling); without NAME, list styles
              /system [TEXT]        set (or show) the system prompt
              /remember TEXT        pin a fact: it stays in every prompt however long the chat gets
              /facts, /forget       list, or drop, the pinned facts
              /save FILE            write the conversation and settings as JSON
              /quit                 leave (also Ctrl-D)
            Start a message with // to send a text that begins with /.""".formatted(
            String.join(", ", GenerationConfig.SETTINGS));

    private final ChatBackend backend;
    private final ConversationMemory memory;
    private GenerationConfig config;
    private String style = "";
    private final PrintWriter out;
    private final PrintWriter info;
    private volatile boolean interrupted;

    public ChatRepl(ChatBackend backend, ConversationMemory memory, GenerationConfig config, PrintWriter out,
            PrintWriter info) {
        this.backend = backend;
        this.memory = memory;
        this.config = config;
        this.out = out;
        this.info = info;
    }

    public GenerationConfig config() { return config; }
    public ConversationMemory memory() { return memory; }

    /** Names the style already applied to the config and system prompt (shown by /settings and /style). */
    public void styleName(String name) {
        style = name == null ? "" : name;
    }

    /** Applies a style now (as {@code /style NAME} does). */
    public void applyStyle(Style s) {
        style = s.name();
        memory.setSystemPrompt(s.systemPrompt());
        config = s.apply(config);
    }

    /** One user turn per line until end of input or {@code /quit}. */
    public void runPiped(BufferedReader in) throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            if (!handle(line)) break;
        }
        out.flush();
        info.flush();
    }

    /** The terminal front end on the system terminal. History goes to {@code historyFile} when it is not null. */
    public static void runInteractive(ChatBackend backend, ConversationMemory memory, GenerationConfig config,
            String styleName, Path historyFile) throws IOException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
            runInteractive(terminal, backend, memory, config, styleName, historyFile);
        }
    }

    /**
     * The terminal front end on a given JLine terminal (tests use a stream-backed one). The memory
     * and config already carry any style; {@code styleName} only labels it.
     */
    public static void runInteractive(Terminal terminal, ChatBackend backend, ConversationMemory memory,
            GenerationConfig config, String styleName, Path historyFile) {
        {
            PrintWriter w = terminal.writer();
            ChatRepl repl = new ChatRepl(backend, memory, config, w, w);
            repl.styleName(styleName);
            DefaultParser parser = new DefaultParser();
            parser.setEscapeChars(new char[0]); // keep backslashes: a trailing one continues the message (below)
            LineReaderBuilder b = LineReaderBuilder.builder().terminal(terminal).parser(parser);
            if (historyFile != null) b.variable(LineReader.HISTORY_FILE, historyFile);
            LineReader reader = b.build();
            terminal.handle(Terminal.Signal.INT, s -> repl.interrupted = true);
            w.println("Chatting with " + backend.name() + " (" + backend.contextLength()
                    + " tokens of context). /help for commands, Ctrl-D to leave.");
            w.flush();
            while (true) {
                StringBuilder message = new StringBuilder();
                try {
                    String line = reader.readLine("you> ");
                    while (line.endsWith("\\")) { // multi-line message: a trailing backslash asks for more
                        message.append(line, 0, line.length() - 1).append('\n');
                        line = reader.readLine("...  ");
                    }
                    message.append(line);
                } catch (UserInterruptException e) {
                    continue; // Ctrl-C at the prompt clears the message
                } catch (EndOfFileException e) {
                    break;
                }
                if (!repl.handle(message.toString())) break;
            }
        }
    }

    /** Handles one input line: a command or a user message. Returns false when the user asked to quit. */
    public boolean handle(String line) {
        String text = line.strip();
        if (text.isEmpty()) return true;
        try {
            if (text.startsWith("//")) {
                ask(text.substring(1));
            } else if (text.startsWith("/")) {
                return command(text);
            } else {
                ask(line.strip());
            }
        } catch (JgptException | UncheckedIOException e) {
            info.println("error: " + e.getMessage());
        }
        info.flush();
        return true;
    }

    private void ask(String text) {
        memory.addUser(text);
        List<ChatMessage> window;
        try {
            int budget = backend.contextLength() - config.maxNewTokens() - backend.promptOverhead();
            window = memory.window(budget, backend::countTokens);
        } catch (JgptException e) {
            memory.dropLast();
            throw e;
        }
        if (memory.lastDropped() > 0) {
            info.println("(the oldest " + memory.lastDropped() + " turn(s) no longer fit and are left out)");
            info.flush();
        }
        interrupted = false;
        TokenListener stream = new TokenListener() {
            @Override
            public void onText(String t) {
                out.print(t);
                out.flush();
            }

            @Override
            public void onToken(int id) {
                if (interrupted) throw new Interrupted();
            }
        };
        ChatReply reply;
        try {
            reply = backend.reply(window, config, stream);
        } catch (Interrupted e) {
            out.println();
            info.println("(interrupted; the question was dropped)");
            memory.dropLast();
            return;
        } catch (RuntimeException e) {
            memory.dropLast();
            throw e;
        }
        out.println();
        out.flush();
        memory.addAssistant(reply.text().strip());
    }

    private boolean command(String text) {
        String[] parts = text.split("\\s+", 2);
        String arg = parts.length > 1 ? parts[1].strip() : "";
        switch (parts[0].toLowerCase(java.util.Locale.ROOT)) {
            case "/quit", "/exit", "/bye" -> {
                return false;
            }
            case "/help", "/?" -> info.println(HELP);
            case "/reset" -> {
                memory.reset();
                info.println("(conversation forgotten)");
            }
            case "/set" -> {
                String[] kv = arg.split("\\s+", 2);
                if (kv.length < 2) throw new JgptException("usage: /set NAME VALUE (settings: "
                        + String.join(", ", GenerationConfig.SETTINGS) + ")");
                config = config.with(kv[0], kv[1]);
                info.println("(" + describe(config) + ")");
            }
            case "/settings" -> info.println(describe(config) + (style.isEmpty() ? "" : ", style " + style));
            case "/style" -> {
                if (arg.isEmpty()) {
                    for (Style s : Styles.all()) {
                        info.println((s.name().equals(style) ? "* " : "  ") + s.name() + " — " + s.description());
                    }
                } else {
                    applyStyle(Styles.get(arg));
                    info.println("(style " + style + ": " + describe(config) + ")");
                }
            }
            case "/system" -> {
                if (arg.isEmpty()) info.println(memory.systemPrompt().isEmpty() ? "(no system prompt)" : memory.systemPrompt());
                else {
                    memory.setSystemPrompt(arg);
                    info.println("(system prompt set)");
                }
            }
            case "/remember" -> {
                memory.remember(arg);
                info.println("(remembered; " + memory.facts().size() + " pinned fact(s))");
            }
            case "/facts" -> {
                if (memory.facts().isEmpty()) info.println("(no pinned facts)");
                for (String f : memory.facts()) info.println("- " + f);
            }
            case "/forget" -> {
                memory.forgetFacts();
                info.println("(pinned facts dropped)");
            }
            case "/save" -> {
                if (arg.isEmpty()) throw new JgptException("usage: /save FILE");
                save(Path.of(arg));
                info.println("(saved " + memory.turns().size() + " message(s) to " + arg + ")");
            }
            default -> throw new JgptException("unknown command " + parts[0] + "; /help lists the commands");
        }
        return true;
    }

    private static String describe(GenerationConfig c) {
        return "temperature " + c.temperature() + ", top_k " + c.topK() + ", top_p " + c.topP()
                + ", repetition_penalty " + c.repetitionPenalty() + ", max_tokens " + c.maxNewTokens()
                + ", seed " + (c.seed() == null ? "none" : c.seed())
                + (c.stopSequences().isEmpty() ? "" : ", stop " + c.stopSequences());
    }

    /** The transcript as JSON, written to a temporary file and renamed so a crash never leaves half a file. */
    void save(Path file) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model", backend.name());
        doc.put("style", style.isEmpty() ? null : style);
        doc.put("system", memory.systemPrompt());
        doc.put("facts", memory.facts());
        doc.put("settings", config);
        doc.put("messages", memory.turns());
        String json = JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(doc);
        try {
            Path abs = file.toAbsolutePath();
            Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName().toString(), ".tmp");
            try {
                Files.writeString(tmp, json + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new JgptException("cannot save the conversation to " + file + ": " + e.getMessage(), e);
        }
    }

    /** Thrown from the token listener to stop an answer on Ctrl-C. */
    private static final class Interrupted extends RuntimeException {
        Interrupted() {
            super(null, null, false, false);
        }
    }
}
