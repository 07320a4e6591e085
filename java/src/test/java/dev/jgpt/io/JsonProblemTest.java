package dev.jgpt.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.junit.jupiter.api.Test;
import tools.jackson.core.JacksonException;

/** Parse errors reach users in words: no "[Source: ...]" noise, and where the parser stopped. */
class JsonProblemTest {
    private static String problemOf(String json) {
        JacksonException e = catchThrowableOfType(JacksonException.class, () -> Json.MAPPER.readTree(json));
        assertThat(e).as("expected a parse error for " + json).isNotNull();
        return Json.problem(e);
    }

    @Test
    void unterminatedArraySaysWhatAndWhere() {
        String p = problemOf("{\"messages\": [1, 2");
        assertThat(p).contains("expected close marker for Array").contains("at column 19").doesNotContain("Source");
    }

    @Test
    void badTokenOnALaterLineNamesTheLine() {
        String p = problemOf("{\n  \"a\": 1,\n  \"b\": tru\n}");
        assertThat(p).contains("line 3").contains("column").doesNotContain("Source").doesNotContain("REDACTED");
    }
}
