package dev.jgpt.chat;

import dev.jgpt.JgptException;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.Json;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code chat_format.json}: how a run fine-tuned from an imported model chats (docs/formats.md). Beside the run's
 * tokenizer and in each of its checkpoints:
 *
 * <pre>
 * {"format": "zephyr", "template": "...the imported file's Jinja template, or null...", "bos": 1, "eos": "&lt;/s&gt;",
 *  "specials": {"&lt;s&gt;": 1, "&lt;/s&gt;": 2}}
 * </pre>
 *
 * A run without one speaks jgpt's own format.
 */
public final class ChatSourceFile {
    public static final String NAME = "chat_format.json";

    private ChatSourceFile() {}

    /** Writes {@code source} (its format must be set) to {@code file} atomically. */
    public static void write(Path file, ChatSource source) {
        if (source.format() == null) throw new IllegalArgumentException("a stored chat source names its format");
        ObjectNode o = Json.object();
        o.put("format", source.format());
        if (source.template() != null) o.put("template", source.template());
        else o.putNull("template");
        o.put("bos", source.bos());
        o.put("eos", source.eos());
        ObjectNode sp = o.putObject("specials");
        new TreeMap<>(source.specials()).forEach(sp::put);
        AtomicFiles.write(file, Json.PRETTY.writeValueAsBytes(o));
    }

    /** Reads {@code file}; anything missing or of the wrong kind is one error naming the file and the field. */
    public static ChatSource read(Path file) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new JgptException("cannot read " + file + ": " + AtomicFiles.describe(e), e);
        } catch (JacksonException e) {
            throw new JgptException(file + ": not valid JSON (" + Json.problem(e) + ")");
        }
        if (n == null || !n.isObject()) throw new JgptException(file + ": expected a JSON object");
        String format = text(n, "format", file, false);
        if (!format.equals(format.strip()) || !ChatFormats.isName(format)) {
            throw new JgptException(file + ": format '" + format + "' is not one of " + ChatFormats.names());
        }
        if (!n.path("bos").isInt()) throw new JgptException(file + ": \"bos\" must be an integer (-1: none)");
        Map<String, Integer> specials = new TreeMap<>();
        for (var e : n.path("specials").properties()) {
            if (!e.getValue().isInt()) throw new JgptException(file + ": special token \"" + e.getKey() + "\" has no integer id");
            specials.put(e.getKey(), e.getValue().asInt());
        }
        return new ChatSource(text(n, "template", file, true), n.get("bos").asInt(), text(n, "eos", file, false), specials, format);
    }

    private static String text(JsonNode n, String field, Path file, boolean nullable) {
        JsonNode v = n.get(field);
        if (nullable && (v == null || v.isNull())) return null;
        if (v == null || !v.isString()) throw new JgptException(file + ": \"" + field + "\" must be a string");
        return v.asString();
    }
}
