package dev.jgpt.io;

import dev.jgpt.JgptException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What model exporters need from a Hugging Face {@code tokenizer.json} (byte-level BPE): each id's
 * token string in the byte-level unicode form, the merges as "A B" strings, and which ids are
 * special. Read straight from the file so export does not depend on how the tokenizer is built.
 */
public record TokenizerJson(String[] tokens, boolean[] special, List<String> merges) {

    public int size() {
        return tokens.length;
    }

    public int idOf(String token) {
        for (int i = 0; i < tokens.length; i++) if (token.equals(tokens[i])) return i;
        return -1;
    }

    public static TokenizerJson read(Path file) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new JgptException("cannot read tokenizer " + file + ": " + AtomicFiles.describe(e), e);
        } catch (JacksonException e) {
            throw new JgptException(file + ": not valid JSON (" + Json.problem(e) + ")");
        }
        JsonNode model = n == null ? null : n.get("model");
        if (model == null || !model.has("vocab")) throw new JgptException(file + ": no model.vocab (not a tokenizer.json)");
        int max = -1;
        for (var e : model.get("vocab").properties()) max = Math.max(max, e.getValue().asInt());
        JsonNode added = n.path("added_tokens");
        for (JsonNode a : added) max = Math.max(max, a.path("id").asInt());
        String[] tokens = new String[max + 1];
        boolean[] special = new boolean[max + 1];
        for (var e : model.get("vocab").properties()) tokens[e.getValue().asInt()] = e.getKey();
        for (JsonNode a : added) {
            int id = a.path("id").asInt();
            tokens[id] = a.path("content").asString();
            special[id] = a.path("special").asBoolean(true);
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null) tokens[i] = "[PAD" + i + "]";
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            if (m.isArray()) merges.add(m.get(0).asString() + " " + m.get(1).asString());
            else merges.add(m.asString());
        }
        return new TokenizerJson(tokens, special, merges);
    }
}
