package dev.jgpt.tokenizer;

import dev.jgpt.JgptException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Reads and writes Hugging Face {@code tokenizer.json} (model {@code BPE}, {@code ByteLevel}
 * pre-tokenizer and decoder, {@code added_tokens}) and GPT-2's {@code vocab.json} + {@code merges.txt}.
 * Every problem in a file is reported as a {@link JgptException} naming the file and the field.
 */
final class TokenizerFiles {
    private TokenizerFiles() {}

    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(tools.jackson.core.StreamWriteFeature.AUTO_CLOSE_TARGET).build();

    // ------------------------------------------------------------------ reading

    static BpeTokenizer readTokenizerJson(Path file) {
        JsonNode root = readJson(file);
        Fields f = new Fields(file);
        if (!root.isObject()) throw f.error("", "the top level is not a JSON object");

        JsonNode model = f.object(root, "model");
        String type = f.string(model, "model.type");
        if (!type.equals("BPE")) throw f.error("model.type", "model type '" + type + "' is not supported (only BPE)");
        JsonNode dropout = model.get("dropout");
        if (dropout != null && !dropout.isNull() && dropout.asDouble() != 0.0) {
            throw f.error("model.dropout", "BPE dropout is not supported");
        }
        for (String field : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            JsonNode v = model.get(field);
            if (v != null && !v.isNull() && !v.asString().isEmpty()) {
                throw f.error("model." + field, "a non-empty " + field + " is not supported");
            }
        }
        boolean ignoreMerges = model.has("ignore_merges") && model.get("ignore_merges").asBoolean(false);

        Map<String, Integer> vocabMap = new HashMap<>();
        String[] vocab = readVocab(f.object(model, "model.vocab"), f, "model.vocab", vocabMap);
        int unkId = -1;
        JsonNode unk = model.get("unk_token");
        if (unk != null && !unk.isNull()) {
            Integer u = vocabMap.get(unk.asString());
            if (u == null) throw f.error("model.unk_token", "'" + unk.asString() + "' is not in model.vocab");
            unkId = u;
        }

        JsonNode mergesNode = model.get("merges");
        if (mergesNode == null || !mergesNode.isArray()) throw f.error("model.merges", "missing or not an array");
        int[][] merges = new int[mergesNode.size()][];
        for (int r = 0; r < merges.length; r++) {
            JsonNode m = mergesNode.get(r);
            String left;
            String right;
            if (m.isString()) {
                String s = m.asString();
                int sp = s.indexOf(' ');
                if (sp <= 0 || sp == s.length() - 1 || s.indexOf(' ', sp + 1) >= 0) {
                    throw f.error("model.merges[" + r + "]", "'" + s + "' is not two tokens separated by one space");
                }
                left = s.substring(0, sp);
                right = s.substring(sp + 1);
            } else if (m.isArray() && m.size() == 2 && m.get(0).isString() && m.get(1).isString()) {
                left = m.get(0).asString();
                right = m.get(1).asString();
            } else {
                throw f.error("model.merges[" + r + "]", "not a string \"a b\" or a pair [\"a\", \"b\"]");
            }
            Integer l = vocabMap.get(left);
            Integer rt = vocabMap.get(right);
            if (l == null || rt == null) {
                throw f.error("model.merges[" + r + "]", "token '" + (l == null ? left : right) + "' is not in model.vocab");
            }
            if (!vocabMap.containsKey(left + right)) {
                throw f.error("model.merges[" + r + "]", "the merged token '" + left + right + "' is not in model.vocab");
            }
            merges[r] = new int[] {l, rt};
        }

        List<BpeTokenizer.AddedToken> added = new ArrayList<>();
        JsonNode addedNode = root.get("added_tokens");
        if (addedNode != null && !addedNode.isNull()) {
            if (!addedNode.isArray()) throw f.error("added_tokens", "not an array");
            for (int i = 0; i < addedNode.size(); i++) {
                JsonNode t = addedNode.get(i);
                String where = "added_tokens[" + i + "]";
                if (!t.isObject()) throw f.error(where, "not an object");
                JsonNode idNode = t.get("id");
                if (idNode == null || !idNode.isIntegralNumber() || !idNode.canConvertToInt() || idNode.intValue() < 0) {
                    throw f.error(where + ".id", "missing or not a non-negative integer");
                }
                String content = f.string(t, where + ".content", "content");
                if (content.isEmpty()) throw f.error(where + ".content", "empty");
                for (String flag : new String[] {"lstrip", "rstrip", "single_word"}) {
                    if (t.has(flag) && t.get(flag).asBoolean(false)) {
                        throw f.error(where + "." + flag, "added tokens with " + flag + "=true are not supported");
                    }
                }
                boolean special = t.has("special") && t.get("special").asBoolean(false);
                added.add(new BpeTokenizer.AddedToken(idNode.intValue(), content, special));
            }
        }

        JsonNode normalizer = root.get("normalizer");
        if (normalizer != null && !normalizer.isNull()) {
            throw f.error("normalizer", "normalizers are not supported (" + normalizer.path("type").asString("?") + ")");
        }
        JsonNode decoder = root.get("decoder");
        if (decoder != null && !decoder.isNull() && !decoder.path("type").asString("").equals("ByteLevel")) {
            throw f.error("decoder.type", "decoder '" + decoder.path("type").asString("?") + "' is not supported (only ByteLevel)");
        }

        JsonNode pre = root.get("pre_tokenizer");
        if (pre == null || pre.isNull()) {
            throw f.error("pre_tokenizer", "missing: a byte-level BPE needs the ByteLevel pre-tokenizer");
        }
        Splitter splitter;
        String regex = null;
        boolean prefixSpace;
        String preType = f.string(pre, "pre_tokenizer.type", "type");
        if (preType.equals("ByteLevel")) {
            prefixSpace = pre.path("add_prefix_space").asBoolean(false);
            boolean useRegex = pre.path("use_regex").asBoolean(true);
            splitter = useRegex ? SplitPattern.GPT2 : new RegexSplitter(null);
            if (!useRegex) regex = "";
        } else if (preType.equals("Sequence")) {
            JsonNode list = pre.get("pretokenizers");
            if (list == null || !list.isArray() || list.size() != 2
                    || !list.get(0).path("type").asString("").equals("Split")
                    || !list.get(1).path("type").asString("").equals("ByteLevel")) {
                throw f.error("pre_tokenizer.pretokenizers", "only [Split, ByteLevel] is supported");
            }
            JsonNode split = list.get(0);
            JsonNode byteLevel = list.get(1);
            if (byteLevel.path("use_regex").asBoolean(true)) {
                throw f.error("pre_tokenizer.pretokenizers[1].use_regex", "a Split followed by ByteLevel with use_regex=true is not supported");
            }
            prefixSpace = byteLevel.path("add_prefix_space").asBoolean(false);
            String behavior = split.path("behavior").asString("");
            if (!behavior.equals("Isolated")) {
                throw f.error("pre_tokenizer.pretokenizers[0].behavior", "split behavior '" + behavior + "' is not supported (only Isolated)");
            }
            if (split.path("invert").asBoolean(false)) {
                throw f.error("pre_tokenizer.pretokenizers[0].invert", "inverted splits are not supported");
            }
            JsonNode pattern = split.get("pattern");
            if (pattern != null && pattern.has("Regex")) {
                regex = pattern.get("Regex").asString();
            } else if (pattern != null && pattern.has("String")) {
                regex = java.util.regex.Pattern.quote(pattern.get("String").asString());
            } else {
                throw f.error("pre_tokenizer.pretokenizers[0].pattern", "missing Regex or String");
            }
            SplitPattern known = SplitPattern.byRegex(regex);
            if (known != null) {
                splitter = known;
            } else {
                try {
                    splitter = new RegexSplitter(regex);
                } catch (java.util.regex.PatternSyntaxException e) {
                    throw f.error("pre_tokenizer.pretokenizers[0].pattern.Regex", "Java cannot read the regex: " + e.getDescription());
                }
            }
        } else {
            throw f.error("pre_tokenizer.type", "pre-tokenizer '" + preType + "' is not supported (ByteLevel, or Sequence of Split and ByteLevel)");
        }
        try {
            return new BpeTokenizer(vocab, merges, added, splitter, regex, prefixSpace, ignoreMerges, unkId);
        } catch (JgptException e) {
            throw new JgptException(file + ": " + e.getMessage(), e);
        }
    }

    static BpeTokenizer readVocabMerges(Path vocabJson, Path mergesTxt, SplitPattern pattern, List<String> specials) {
        JsonNode root = readJson(vocabJson);
        Fields f = new Fields(vocabJson);
        if (!root.isObject()) throw f.error("", "not a JSON object of token -> id");
        Map<String, Integer> vocabMap = new HashMap<>();
        String[] vocab = readVocab(root, f, "", vocabMap);
        int max = vocab.length - 1;
        List<String> lines;
        try {
            lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new JgptException(mergesTxt + ": no such file");
        } catch (IOException e) {
            throw new JgptException(mergesTxt + ": cannot read: " + e.getMessage(), e);
        }
        List<int[]> merges = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || (i == 0 && line.startsWith("#version"))) continue;
            String[] parts = line.split(" ");
            if (parts.length != 2) throw new JgptException(mergesTxt + ": line " + (i + 1) + ": not two tokens separated by one space");
            Integer l = vocabMap.get(parts[0]);
            Integer r = vocabMap.get(parts[1]);
            if (l == null || r == null || !vocabMap.containsKey(parts[0] + parts[1])) {
                throw new JgptException(mergesTxt + ": line " + (i + 1) + ": '" + line + "' uses or makes a token that is not in " + vocabJson);
            }
            merges.add(new int[] {l, r});
        }
        List<BpeTokenizer.AddedToken> added = new ArrayList<>();
        int nextId = max + 1;
        for (String s : specials) {
            Integer id = vocabMap.get(s);
            added.add(new BpeTokenizer.AddedToken(id != null ? id : nextId++, s, true));
        }
        return new BpeTokenizer(vocab, merges.toArray(int[][]::new), added, pattern,
                pattern == SplitPattern.GPT2 ? null : pattern.regex(), false, false, -1);
    }

    /**
     * A JSON object of token -> id as an array indexed by id (nulls for unused ids); also fills
     * {@code ids}. {@code path} names the object in error messages ("" for the top level).
     */
    private static String[] readVocab(JsonNode object, Fields f, String path, Map<String, Integer> ids) {
        String prefix = path.isEmpty() ? "" : path + ".";
        int max = -1;
        for (Map.Entry<String, JsonNode> e : object.properties()) {
            JsonNode idNode = e.getValue();
            if (!idNode.isIntegralNumber() || !idNode.canConvertToInt() || idNode.intValue() < 0) {
                throw f.error(prefix + e.getKey(), "the id is not a non-negative integer");
            }
            int id = idNode.intValue();
            if (id > 50_000_000) throw f.error(prefix + e.getKey(), "id " + id + " is implausibly large");
            ids.put(e.getKey(), id);
            max = Math.max(max, id);
        }
        String[] vocab = new String[max + 1];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            if (vocab[e.getValue()] != null) {
                throw f.error(path, "id " + e.getValue() + " is given to both '" + vocab[e.getValue()] + "' and '" + e.getKey() + "'");
            }
            vocab[e.getValue()] = e.getKey();
        }
        return vocab;
    }

    private static JsonNode readJson(Path file) {
        try (var in = Files.newInputStream(file)) {
            return JSON.readTree(in);
        } catch (NoSuchFileException e) {
            throw new JgptException(file + ": no such file");
        } catch (IOException e) {
            throw new JgptException(file + ": cannot read: " + e.getMessage(), e);
        } catch (JacksonException e) {
            String why = e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source:[^]]*\\]\\)", "")
                    .replaceAll("\\s*at \\[Source:[^]]*\\]", "");
            throw new JgptException(file + ": malformed JSON: " + why
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")" : ""), e);
        }
    }

    /** Field access that fails with the file and the field's path. */
    private record Fields(Path file) {
        JgptException error(String field, String what) {
            return new JgptException(file + (field.isEmpty() ? "" : ": field '" + field + "'") + ": " + what);
        }

        JsonNode object(JsonNode parent, String path) {
            JsonNode n = parent.get(path.substring(path.lastIndexOf('.') + 1));
            if (n == null || n.isNull()) throw error(path, "missing");
            if (!n.isObject()) throw error(path, "not an object");
            return n;
        }

        String string(JsonNode parent, String path) {
            return string(parent, path, path.substring(path.lastIndexOf('.') + 1));
        }

        String string(JsonNode parent, String path, String name) {
            JsonNode n = parent.get(name);
            if (n == null || n.isNull()) throw error(path, "missing");
            if (!n.isString()) throw error(path, "not a string");
            return n.asString();
        }
    }

    // ------------------------------------------------------------------ writing

    static void save(BpeTokenizer t, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new JgptException(dir + ": cannot create directory: " + e.getMessage(), e);
        }
        writeTokenizerJson(t, dir.resolve("tokenizer.json"));
        ObjectNode vocab = JSON.createObjectNode();
        t.modelVocabMap().forEach(vocab::put);
        writeAtomically(dir.resolve("vocab.json"), out -> JSON.writerWithDefaultPrettyPrinter().writeValue(out, vocab));
        writeAtomically(dir.resolve("merges.txt"), out -> {
            StringBuilder sb = new StringBuilder("#version: 0.2\n");
            for (int r = 0; r < t.mergeCount(); r++) {
                String[] m = t.merge(r);
                sb.append(m[0]).append(' ').append(m[1]).append('\n');
            }
            out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        });
    }

    static void writeTokenizerJson(BpeTokenizer t, Path file) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (BpeTokenizer.AddedToken a : t.addedTokens()) {
            ObjectNode o = added.addObject();
            o.put("id", a.id());
            o.put("content", a.content());
            o.put("single_word", false);
            o.put("lstrip", false);
            o.put("rstrip", false);
            o.put("normalized", false);
            o.put("special", a.special());
        }
        root.putNull("normalizer");
        String regex = t.splitRegex();
        if (regex == null) {
            root.set("pre_tokenizer", byteLevel(t.addPrefixSpace(), true));
        } else if (regex.isEmpty()) {
            root.set("pre_tokenizer", byteLevel(t.addPrefixSpace(), false));
        } else {
            ObjectNode seq = JSON.createObjectNode();
            seq.put("type", "Sequence");
            ArrayNode list = seq.putArray("pretokenizers");
            ObjectNode split = list.addObject();
            split.put("type", "Split");
            split.putObject("pattern").put("Regex", regex);
            split.put("behavior", "Isolated");
            split.put("invert", false);
            list.add(byteLevel(t.addPrefixSpace(), false));
            root.set("pre_tokenizer", seq);
        }
        root.putNull("post_processor");
        root.set("decoder", byteLevel(true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        if (t.unkId() >= 0) model.put("unk_token", t.tokenString(t.unkId()));
        else model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", t.ignoreMerges());
        ObjectNode vocab = model.putObject("vocab");
        t.modelVocabMap().forEach(vocab::put);
        // "a b" strings are what every tokenizers version reads; pairs only when a token holds a space
        boolean spaces = t.modelVocabMap().keySet().stream().anyMatch(s -> s.indexOf(' ') >= 0);
        ArrayNode merges = model.putArray("merges");
        for (int r = 0; r < t.mergeCount(); r++) {
            String[] m = t.merge(r);
            if (spaces) merges.addArray().add(m[0]).add(m[1]);
            else merges.add(m[0] + " " + m[1]);
        }
        writeAtomically(file, out -> JSON.writerWithDefaultPrettyPrinter().writeValue(out, root));
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean useRegex) {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", "ByteLevel");
        o.put("add_prefix_space", addPrefixSpace);
        o.put("trim_offsets", true);
        o.put("use_regex", useRegex);
        return o;
    }

    interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /** Temp file in the same directory, fsync, rename: a crash leaves the old file or the new one. */
    static void writeAtomically(Path file, Writer writer) {
        Path abs = file.toAbsolutePath();
        Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
                 OutputStream out = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 16)) {
                writer.write(out);
                out.flush();
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UncheckedIOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is the one worth reporting
            }
            throw new JgptException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
