package dev.jgpt.generate;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Turns the byte stream of generated tokens into final text: cuts exactly before the first stop
 * sequence and releases only text that can no longer become part of one, in whole UTF-8 characters.
 *
 * <p>Matching is on bytes, so a stop sequence spanning several tokens (or starting in the middle of
 * a token) is found, and a token that is half of a multi-byte character waits for the other half.
 * Invariant: every byte already released is followed, in the stream, by bytes that rule out a stop
 * sequence starting at or before it; so only the pending (held-back) bytes need to be searched.
 */
public final class StopMatcher {
    private final byte[][] stops;
    private byte[] pending = new byte[256];
    private int pendingLength;
    private boolean stopped;

    public StopMatcher(List<String> stopSequences) {
        this.stops = new byte[stopSequences.size()][];
        for (int i = 0; i < stops.length; i++) {
            stops[i] = stopSequences.get(i).getBytes(StandardCharsets.UTF_8);
            if (stops[i].length == 0) throw new IllegalArgumentException("empty stop sequence");
        }
    }

    /** True once a stop sequence was seen; nothing more is accepted. */
    public boolean stopped() {
        return stopped;
    }

    /**
     * Appends a token's bytes and returns the text that became final ("" if none). When a stop
     * sequence completes, the text before it is returned and {@link #stopped()} turns true.
     */
    public String accept(byte[] bytes) {
        if (stopped) throw new IllegalStateException("stop sequence already seen");
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;

        int stopAt = firstStop();
        if (stopAt >= 0) {
            stopped = true;
            String text = decode(0, stopAt);
            pendingLength = 0;
            return text;
        }
        int release = completeCharsEnd(pendingLength - longestStopPrefixSuffix());
        return releasePrefix(release);
    }

    /** Releases everything still held (the stream ended without a stop): a partial character becomes U+FFFD. */
    public String flush() {
        if (stopped) return "";
        return releasePrefix(pendingLength);
    }

    private String releasePrefix(int n) {
        if (n <= 0) return "";
        String text = decode(0, n);
        System.arraycopy(pending, n, pending, 0, pendingLength - n);
        pendingLength -= n;
        return text;
    }

    private String decode(int from, int to) {
        return new String(pending, from, to - from, StandardCharsets.UTF_8);
    }

    /** The earliest position where a stop sequence occurs in the pending bytes, or -1. */
    private int firstStop() {
        int best = -1;
        for (byte[] s : stops) {
            int limit = pendingLength - s.length;
            for (int i = 0; i <= limit && (best < 0 || i < best); i++) {
                if (Arrays.equals(pending, i, i + s.length, s, 0, s.length)) {
                    best = i;
                    break;
                }
            }
        }
        return best;
    }

    /** Length of the longest suffix of the pending bytes that is a proper prefix of some stop sequence. */
    private int longestStopPrefixSuffix() {
        int best = 0;
        for (byte[] s : stops) {
            int max = Math.min(s.length - 1, pendingLength);
            for (int len = max; len > best; len--) {
                if (Arrays.equals(pending, pendingLength - len, pendingLength, s, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }

    /**
     * Moves {@code end} back so the bytes before it do not end inside a UTF-8 character that is
     * still incomplete. Malformed bytes are not held (they decode to U+FFFD now).
     */
    private int completeCharsEnd(int end) {
        for (int back = 1; back <= 3 && end - back >= 0; back++) {
            int b = pending[end - back] & 0xff;
            if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking for its lead
            int need = b < 0x80 ? 1 : b < 0xC2 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF5 ? 4 : 1;
            // hold the character only if it is cut by `end` and can still be completed: nothing
            // follows it yet (held stop-prefix bytes start with a lead byte, which would end it)
            boolean incomplete = need > back && end == pendingLength;
            return incomplete ? end - back : end;
        }
        return end;
    }
}
