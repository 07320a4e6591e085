package dev.jgpt;

/**
 * A problem the user can fix: a bad file, flag, value or piece of data. Its message names what and
 * where (file, line, field) and is shown to the user as is, as one line, without a stack trace.
 * Any room may throw it; the CLI prints it.
 */
public class JgptException extends RuntimeException {
    public JgptException(String message) {
        super(message);
    }

    public JgptException(String message, Throwable cause) {
        super(message, cause);
    }
}
