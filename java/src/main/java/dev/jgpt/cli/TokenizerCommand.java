package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import dev.jgpt.tokenizer.SplitPattern;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** {@code jgpt tokenizer train|encode|decode|inspect}: byte-level BPE from the command line. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Train a byte-level BPE tokenizer, encode and decode text, inspect tokens.",
        subcommands = {TokenizerCommand.Train.class, TokenizerCommand.Encode.class, TokenizerCommand.Decode.class,
                TokenizerCommand.Inspect.class})
public final class TokenizerCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    /**
     * A tokenizer.json file, or a directory holding one, or else GPT-2's vocab.json + merges.txt
     * (GPT-2 pattern; {@code <|endoftext|>} special when the vocabulary has it).
     */
    static BpeTokenizer loadTokenizer(Path path) {
        if (!Files.isDirectory(path)) return BpeTokenizer.load(path);
        Path json = path.resolve("tokenizer.json");
        if (!Files.exists(json) && Files.exists(path.resolve("vocab.json")) && Files.exists(path.resolve("merges.txt"))) {
            return BpeTokenizer.loadVocabMerges(path.resolve("vocab.json"), path.resolve("merges.txt"), SplitPattern.GPT2,
                    List.of("<|endoftext|>"));
        }
        return BpeTokenizer.load(json);
    }

    /** Reads stdin line by line; a line ends at '\n' (a '\r' before it belongs to the break), nothing else. */
    static final class Lines {
        private final java.io.Reader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        private final StringBuilder sb = new StringBuilder();

        String next() throws IOException {
            sb.setLength(0);
            int c;
            while ((c = in.read()) >= 0 && c != '\n') sb.append((char) c);
            if (c < 0 && sb.isEmpty()) return null;
            if (c == '\n' && !sb.isEmpty() && sb.charAt(sb.length() - 1) == '\r') sb.setLength(sb.length() - 1);
            return sb.toString();
        }
    }

    /** Tests set this to capture output; otherwise commands write to a buffered stream on file descriptor 1. */
    static PrintStream stdoutOverride;

    static PrintStream stdout() {
        if (stdoutOverride != null) return stdoutOverride;
        return new PrintStream(new BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 16),
                false, StandardCharsets.UTF_8);
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Learn merges from text files until the vocabulary has --vocab-size tokens; write tokenizer.json, vocab.json and merges.txt.")
    static final class Train implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "INPUT", description = "UTF-8 text files or directories of them (each file is one document)")
        List<Path> inputs;

        @Option(names = "--vocab-size", required = true, paramLabel = "N", description = "tokens in all: 256 bytes + merges + special tokens")
        int vocabSize;

        @Option(names = "--pattern", defaultValue = "gpt2", paramLabel = "gpt2|gpt4", description = "pre-split pattern (default: ${DEFAULT-VALUE})")
        String pattern;

        @Option(names = "--special", paramLabel = "TOKEN", description = "an extra special token (repeatable), after the defaults <|endoftext|> <|system|> <|user|> <|assistant|> <|end|>")
        List<String> special = new ArrayList<>();

        @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "directory to write the tokenizer files into")
        Path output;

        @Option(names = "--threads", paramLabel = "N", description = "threads for counting (default: all cores)")
        Integer threads;

        @Option(names = "--json", description = "print one JSON object with the result on stdout")
        boolean json;

        @Override
        public Integer call() throws IOException {
            List<Path> files = new ArrayList<>();
            for (Path p : inputs) {
                if (Files.isDirectory(p)) {
                    try (Stream<Path> s = Files.walk(p)) {
                        s.filter(Files::isRegularFile).sorted().forEach(files::add);
                    }
                } else if (Files.isRegularFile(p)) {
                    files.add(p);
                } else {
                    throw new JgptException(p + ": no such file or directory");
                }
            }
            if (files.isEmpty()) throw new JgptException("no input files in " + inputs);
            List<String> specials = new ArrayList<>(BpeTokenizer.DEFAULT_SPECIAL_TOKENS);
            for (String s : special) if (!specials.contains(s)) specials.add(s);
            BpeTrainer trainer = new BpeTrainer(vocabSize).pattern(SplitPattern.byName(pattern)).specialTokens(specials);
            if (threads != null) trainer.threads(threads);
            long bytes = 0;
            for (Path f : files) bytes += Files.size(f);
            ProgressLine progress = new ProgressLine(System.err);
            trainer.progress(progress);
            long t0 = System.nanoTime();
            BpeTokenizer t = trainer.train(files);
            double seconds = (System.nanoTime() - t0) / 1e9;
            progress.done();
            t.save(output);
            if (json) {
                ObjectNode o = JsonMapper.shared().createObjectNode();
                o.put("output", output.toString());
                o.put("files", files.size());
                o.put("bytes", bytes);
                o.put("vocab_size", t.vocabSize());
                o.put("merges", t.mergeCount());
                o.put("pattern", SplitPattern.byName(pattern).name().toLowerCase(java.util.Locale.ROOT));
                o.put("seconds", Math.round(seconds * 1000) / 1000.0);
                System.out.println(o);
            } else {
                System.err.printf("trained %d tokens (%d merges) on %d files, %.1f MB, in %.2f s; wrote %s%n",
                        t.vocabSize(), t.mergeCount(), files.size(), bytes / 1e6, seconds, output);
            }
            return 0;
        }
    }

    /** A one-line progress display on stderr, redrawn at most every 200 ms. */
    static final class ProgressLine implements BpeTrainer.Progress {
        private final PrintStream err;
        private final long start = System.nanoTime();
        private long lastDraw;

        ProgressLine(PrintStream err) {
            this.err = err;
        }

        @Override
        public void update(String phase, long done, long total) {
            long now = System.nanoTime();
            if (done < total && now - lastDraw < 200_000_000L) return;
            lastDraw = now;
            int pct = total == 0 ? 100 : (int) (100 * done / total);
            int bar = pct / 5;
            String unit = phase.equals("counting") ? String.format("%.1f/%.1f MB", done / 1e6, total / 1e6) : done + "/" + total + " merges";
            err.printf("\r%-8s [%s%s] %3d%% %s %.1fs   ", phase, "#".repeat(bar), ".".repeat(20 - bar), pct, unit, (now - start) / 1e9);
            err.flush();
        }

        void done() {
            err.println();
        }
    }

    @Command(name = "encode", mixinStandardHelpOptions = true,
            description = "Read text on stdin; for each line print its token ids (without the line break), space-separated, on one line.")
    static final class Encode implements Callable<Integer> {
        @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = "tokenizer.json, or a directory with it (or with vocab.json + merges.txt)")
        Path tokenizer;

        @Option(names = "--ordinary", description = "treat special-token strings in the text as plain text")
        boolean ordinary;

        @Override
        public Integer call() throws IOException {
            BpeTokenizer t = loadTokenizer(tokenizer);
            Lines in = new Lines();
            PrintStream out = stdout();
            StringBuilder sb = new StringBuilder();
            for (String line; (line = in.next()) != null; ) {
                int[] ids = ordinary ? t.encodeOrdinary(line) : t.encode(line);
                sb.setLength(0);
                for (int i = 0; i < ids.length; i++) {
                    if (i > 0) sb.append(' ');
                    sb.append(ids[i]);
                }
                out.append(sb).append('\n');
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "decode", mixinStandardHelpOptions = true,
            description = "Read lines of space-separated token ids on stdin; print the text of each line on one line (the inverse of encode).")
    static final class Decode implements Callable<Integer> {
        @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = "tokenizer.json, or a directory with it (or with vocab.json + merges.txt)")
        Path tokenizer;

        @Override
        public Integer call() throws IOException {
            BpeTokenizer t = loadTokenizer(tokenizer);
            Lines in = new Lines();
            OutputStream out = stdout();
            int lineNo = 0;
            for (String line; (line = in.next()) != null; ) {
                lineNo++;
                String s = line.strip();
                int[] ids;
                if (s.isEmpty()) {
                    ids = new int[0];
                } else {
                    String[] parts = s.split("\\s+");
                    ids = new int[parts.length];
                    for (int i = 0; i < parts.length; i++) {
                        try {
                            ids[i] = Integer.parseInt(parts[i]);
                        } catch (NumberFormatException e) {
                            throw new JgptException("stdin line " + lineNo + ": '" + parts[i] + "' is not a token id");
                        }
                        if (ids[i] < 0 || ids[i] >= t.vocabSize()) {
                            throw new JgptException("stdin line " + lineNo + ": token id " + ids[i]
                                    + " is outside the vocabulary (0.." + (t.vocabSize() - 1) + ")");
                        }
                    }
                }
                try {
                    out.write(t.decodeBytes(ids)); // the exact bytes, even when they are not valid UTF-8
                } catch (JgptException e) {
                    throw new JgptException("stdin line " + lineNo + ": " + e.getMessage());
                }
                out.write('\n');
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Show how TEXT is split into tokens: each piece and its id (colour-coded in a terminal).")
    static final class Inspect implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "TEXT")
        String text;

        @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = "tokenizer.json, or a directory with it (or with vocab.json + merges.txt)")
        Path tokenizer;

        @Option(names = "--color", paramLabel = "auto|always|never", defaultValue = "auto", description = "colour the pieces (default: ${DEFAULT-VALUE})")
        String color;

        @Option(names = "--json", description = "print one JSON object: the ids and the pieces")
        boolean json;

        private static final int[] BACKGROUNDS = {44, 42, 45, 43, 46, 41};

        @Override
        public Integer call() {
            BpeTokenizer t = loadTokenizer(tokenizer);
            int[] ids = t.encode(text);
            PrintStream out = stdout();
            if (json) {
                ObjectNode o = JsonMapper.shared().createObjectNode();
                o.put("text", text);
                o.put("count", ids.length);
                ArrayNode tokens = o.putArray("tokens");
                for (int id : ids) {
                    ObjectNode tok = tokens.addObject();
                    tok.put("id", id);
                    tok.put("piece", t.tokenString(id));
                    tok.put("text", new String(t.tokenBytes(id), StandardCharsets.UTF_8));
                    tok.put("special", t.isAddedToken(id));
                }
                out.println(o);
                out.flush();
                return 0;
            }
            boolean ansi = switch (color) {
                case "always" -> true;
                case "never" -> false;
                default -> System.console() != null && System.console().isTerminal() && System.getenv("NO_COLOR") == null;
            };
            StringBuilder pieces = new StringBuilder();
            StringBuilder idLine = new StringBuilder();
            for (int i = 0; i < ids.length; i++) {
                String shown = visible(t, ids[i]);
                if (ansi) {
                    pieces.append("\u001b[30;").append(BACKGROUNDS[i % BACKGROUNDS.length]).append('m').append(shown).append("\u001b[0m");
                    idLine.append("\u001b[30;").append(BACKGROUNDS[i % BACKGROUNDS.length]).append('m').append(ids[i]).append("\u001b[0m ");
                } else {
                    pieces.append(i == 0 ? "" : "|").append(shown);
                    idLine.append(ids[i]).append(' ');
                }
            }
            out.println(pieces);
            out.println(idLine.toString().stripTrailing());
            out.println(ids.length + " tokens, " + text.getBytes(StandardCharsets.UTF_8).length + " bytes");
            out.flush();
            return 0;
        }

        /** The token's text with whitespace and control bytes made visible; partial UTF-8 shown as its token string. */
        private static String visible(BpeTokenizer t, int id) {
            byte[] b = t.tokenBytes(id);
            String s = new String(b, StandardCharsets.UTF_8);
            if (!java.util.Arrays.equals(s.getBytes(StandardCharsets.UTF_8), b)) return t.tokenString(id);
            StringBuilder sb = new StringBuilder();
            s.codePoints().forEach(c -> {
                if (c == ' ') sb.append('␣');
                else if (c == '\n') sb.append("↵");
                else if (c == '\t') sb.append('→');
                else if (c < 0x20 || c == 0x7F) sb.append(String.format("\\x%02x", c));
                else sb.appendCodePoint(c);
            });
            return sb.toString();
        }
    }

}
