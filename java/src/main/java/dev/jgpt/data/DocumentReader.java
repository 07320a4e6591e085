package dev.jgpt.data;

import dev.jgpt.JgptException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads documents from input files: {@code .txt} and {@code .md} (the whole file is one document),
 * {@code .jsonl} (one document per line: a {@code text} string, or chat {@code messages} rendered
 * by {@link #renderChat}), each optionally gzip-compressed ({@code .txt.gz}, {@code .jsonl.gz}, …).
 * Directories are walked recursively for files with those endings, in name order.
 *
 * <p>Bad input stops the run with one {@link JgptException} naming the file (and line): a missing
 * file, truncated or corrupt gzip data, a JSONL line that is not a JSON object with a text field.
 * Bytes that are not UTF-8 are not an error: the document comes with a null text and is counted
 * as bad encoding.
 */
public final class DocumentReader {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private DocumentReader() {}

    /** What one input file gave: its size and SHA-256 (of the bytes on disk) and document count. */
    public record InputFile(String file, long bytes, String sha256, long documents) {}

    /**
     * The input files named by {@code inputs} (files as given, directories expanded); checks they
     * exist. Files under {@code exclude} (the output directory) are skipped when walking a directory,
     * so preparing {@code data} into {@code data/prepared} does not read its own output; hidden
     * files and directories are skipped too.
     */
    public static List<Path> expand(List<Path> inputs, Path exclude) {
        Path ex = exclude == null ? null : exclude.toAbsolutePath().normalize();
        List<Path> out = new ArrayList<>();
        for (Path in : inputs) {
            if (Files.isDirectory(in)) {
                try (Stream<Path> s = Files.walk(in)) {
                    s.filter(Files::isRegularFile).filter(p -> kind(p) != null)
                            .filter(p -> ex == null || !p.toAbsolutePath().normalize().startsWith(ex))
                            .filter(p -> !hidden(in.relativize(p)))
                            .sorted().forEach(out::add);
                } catch (IOException e) {
                    throw new JgptException(in + ": cannot list directory: " + e.getMessage());
                }
            } else if (Files.isRegularFile(in)) {
                if (kind(in) == null) {
                    throw new JgptException(in + ": unsupported input type (expected .txt, .md, .jsonl, optionally .gz)");
                }
                out.add(in);
            } else {
                throw new JgptException(in + ": no such file or directory");
            }
        }
        if (out.isEmpty()) throw new JgptException("no input files (.txt, .md, .jsonl, optionally .gz) in " + inputs);
        return out;
    }

    /** Hidden files and directories (fetch's .downloads/ and temporary directories) are not inputs. */
    private static boolean hidden(Path relative) {
        for (Path part : relative) if (part.toString().startsWith(".")) return true;
        return false;
    }

    enum Kind { TEXT, JSONL }

    static Kind kind(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".gz")) n = n.substring(0, n.length() - 3);
        if (n.endsWith(".txt") || n.endsWith(".md")) return Kind.TEXT;
        if (n.endsWith(".jsonl")) return Kind.JSONL;
        return null;
    }

    /** Reads every document of {@code file} into {@code sink}, in file order. */
    public static InputFile read(Path file, Consumer<RawDocument> sink) {
        String name = file.toString();
        MessageDigest md = AtomicFiles.sha256();
        long[] docs = {0};
        Consumer<RawDocument> counting = d -> { docs[0]++; sink.accept(d); };
        try (InputStream raw = Files.newInputStream(file);
             DigestInputStream digesting = new DigestInputStream(new BufferedInputStream(raw, 1 << 16), md);
             InputStream in = name.toLowerCase(Locale.ROOT).endsWith(".gz") ? new GZIPInputStream(digesting, 1 << 16) : digesting) {
            if (kind(file) == Kind.TEXT) {
                byte[] bytes = in.readAllBytes();
                counting.accept(new RawDocument(name, file.getFileName().toString(), decode(bytes), bytes.length));
            } else {
                readJsonl(name, file.getFileName().toString(), in, counting);
            }
            // drain so the checksum covers the whole file even if a reader stopped early
            digesting.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (NoSuchFileException e) {
            throw new JgptException(name + ": no such file");
        } catch (EOFException | ZipException e) {
            throw new JgptException(name + ": truncated or corrupt gzip data (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new JgptException(name + ": cannot read: " + e.getMessage());
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            size = -1;
        }
        return new InputFile(name, size, HexFormat.of().formatHex(md.digest()), docs[0]);
    }

    private static void readJsonl(String name, String key, InputStream in, Consumer<RawDocument> sink) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(1 << 12);
        long lineNo = 0;
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                    line.write(buf, start, i - start);
                    jsonlLine(name, key, ++lineNo, line.toByteArray(), sink);
                    line.reset();
                    start = i + 1;
                }
            }
            line.write(buf, start, n - start);
        }
        if (line.size() > 0) jsonlLine(name, key, ++lineNo, line.toByteArray(), sink);
    }

    private static void jsonlLine(String name, String key, long lineNo, byte[] bytes, Consumer<RawDocument> sink) {
        String where = name + ":" + lineNo;
        String splitKey = key + ":" + lineNo;
        String line = decode(bytes);
        if (line == null) {
            sink.accept(new RawDocument(where, splitKey, null, bytes.length));
            return;
        }
        if (line.isBlank()) return;
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JacksonException e) {
            throw new JgptException(where + ": invalid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) throw new JgptException(where + ": expected a JSON object per line");
        JsonNode text = node.get("text");
        JsonNode messages = node.get("messages");
        if (text != null && text.isString()) {
            sink.accept(new RawDocument(where, splitKey, text.asString(), bytes.length));
        } else if (messages != null && messages.isArray()) {
            sink.accept(new RawDocument(where, splitKey, renderChat(where, messages), bytes.length));
        } else {
            throw new JgptException(where + ": expected a string field \"text\" or an array \"messages\"");
        }
    }

    /**
     * A chat as plain text, one turn per paragraph: {@code User: …}, {@code Assistant: …},
     * {@code System: …} (the role with a capital first letter, then the content).
     */
    static String renderChat(String where, JsonNode messages) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        for (JsonNode m : messages) {
            JsonNode role = m.get("role"), content = m.get("content");
            if (role == null || !role.isString() || content == null || !content.isString()) {
                throw new JgptException(where + ": messages[" + i + "] needs string fields \"role\" and \"content\"");
            }
            String r = role.asString();
            if (!sb.isEmpty()) sb.append("\n\n");
            sb.append(r.isEmpty() ? r : Character.toUpperCase(r.charAt(0)) + r.substring(1)).append(": ").append(content.asString());
            i++;
        }
        return sb.toString();
    }

    /** Strict UTF-8 decoding: null when the bytes are not UTF-8. A leading byte-order mark is dropped. */
    static String decode(byte[] bytes) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            return s.startsWith("\uFEFF") ? s.substring(1) : s;
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
