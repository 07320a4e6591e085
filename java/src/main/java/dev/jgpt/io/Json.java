package dev.jgpt.io;

import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.SerializationFeature;

/** The one JSON mapper of the io/train rooms (thread-safe, reused). */
public final class Json {
    public static final JsonMapper MAPPER = JsonMapper.builder().build();
    public static final JsonMapper PRETTY = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private Json() {}

    /**
     * A parse error in words for the user: Jackson's message without its "[Source: ...]" parts, then the
     * column (and line, for multi-line input) where the parser stopped, e.g. "Unexpected end-of-input:
     * expected close marker for Array, at column 45".
     */
    public static String problem(JacksonException e) {
        String msg = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        msg = msg.replaceAll("\\s*\\(start marker at \\[Source:[^\\]]*\\][^)]*\\)", "")
                .replaceAll("\\s*at \\[Source:[^\\]]*\\][^\\n]*", "").strip();
        TokenStreamLocation at = e.getLocation();
        if (at == null || at.getColumnNr() <= 0) return msg;
        return msg + (at.getLineNr() > 1 ? ", at line " + at.getLineNr() + " column " : ", at column ") + at.getColumnNr();
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }
}
