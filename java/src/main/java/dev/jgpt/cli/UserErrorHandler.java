package dev.jgpt.cli;

import picocli.CommandLine;

/**
 * Turns an exception escaping a command into one line on stderr, {@code jgpt: <message>}, and exit
 * code 1. The message is expected to name the file, line or field at fault (see
 * {@link dev.jgpt.JgptException}); anything else is reported with its type so it is still one line.
 * {@code JGPT_DEBUG=1} prints the stack trace as well.
 */
final class UserErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        String msg = ex instanceof dev.jgpt.JgptException || ex instanceof IllegalArgumentException
                || ex instanceof java.io.UncheckedIOException || ex instanceof java.io.IOException
                ? ex.getMessage()
                : ex.getClass().getSimpleName() + ": " + ex.getMessage();
        cmd.getErr().println("jgpt: " + msg);
        if (System.getenv("JGPT_DEBUG") != null) ex.printStackTrace(cmd.getErr());
        return 1;
    }
}
