package dev.jgpt.data;

import java.io.PrintStream;

/**
 * Progress lines on stderr for long work: at most one line every {@code intervalMs}, rewritten in
 * place on a terminal, plain lines otherwise (so logs stay readable). {@link #NONE} prints nothing.
 */
public class Progress {
    public static final Progress NONE = new Progress(null, 0) {
        @Override public void update(String line) {}
        @Override public void done(String line) {}
    };

    private final PrintStream out;
    private final long intervalNanos;
    private final boolean terminal = System.console() != null && System.console().isTerminal();
    private long last = Long.MIN_VALUE / 2;
    private int lastLength;

    public Progress(PrintStream out, long intervalMs) {
        this.out = out;
        this.intervalNanos = intervalMs * 1_000_000L;
    }

    public static Progress stderr() {
        return new Progress(System.err, 1000);
    }

    /** Shows {@code line} unless one was shown less than the interval ago. */
    public void update(String line) {
        long now = System.nanoTime();
        if (now - last < intervalNanos) return;
        last = now;
        print(line, false);
    }

    /** Shows the final line of a task, always. */
    public void done(String line) {
        print(line, true);
        last = Long.MIN_VALUE / 2;
    }

    private synchronized void print(String line, boolean end) {
        if (terminal) {
            String pad = lastLength > line.length() ? " ".repeat(lastLength - line.length()) : "";
            out.print("\r" + line + pad + (end ? "\n" : ""));
            lastLength = end ? 0 : line.length();
        } else {
            out.println(line);
        }
        out.flush();
    }

    public static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
