package dev.jgpt.tokenizer;

/**
 * GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters, so that
 * every token of a byte-level BPE vocabulary is a printable string (a space becomes {@code Ġ}, a
 * newline {@code Ċ}). Bytes that are printable Latin-1 map to themselves; the other 68 map, in byte
 * order, to U+0100, U+0101, ...
 */
final class ByteLevel {
    private ByteLevel() {}

    /** {@code CHAR_OF_BYTE[b & 0xFF]} is the character that stands for byte b. */
    private static final char[] CHAR_OF_BYTE = new char[256];
    /** The byte a character stands for, or -1; indexed by char value below 0x144. */
    private static final short[] BYTE_OF_CHAR = new short[0x144];
    /**
     * The 256 bytes in the order GPT-2 (and Hugging Face's trainer, which sorts the alphabet by
     * character) gives them ids 0..255: printable bytes first, then the rest.
     */
    private static final int[] BYTE_ORDER = new int[256];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, (short) -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            if (printable(b)) BYTE_ORDER[next++] = b;
        }
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            char c;
            if (printable(b)) {
                c = (char) b;
            } else {
                c = (char) (256 + extra++);
                BYTE_ORDER[next++] = b;
            }
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = (short) b;
        }
    }

    private static boolean printable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xFF];
    }

    /** The byte that character c stands for, or -1 when c is not one of the 256 byte characters. */
    static int byteOf(char c) {
        return c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
    }

    /** The byte that gets id i (0..255) in a freshly trained vocabulary. */
    static int byteWithRank(int i) {
        return BYTE_ORDER[i];
    }

    /** The byte-level string (one char per byte) of {@code bytes[from, to)}. */
    static String toChars(byte[] bytes, int from, int to) {
        char[] out = new char[to - from];
        for (int i = from; i < to; i++) out[i - from] = CHAR_OF_BYTE[bytes[i] & 0xFF];
        return new String(out);
    }

    static String toChars(byte[] bytes) {
        return toChars(bytes, 0, bytes.length);
    }

    /** The bytes a byte-level string stands for, or null when it holds a character outside the map. */
    static byte[] toBytes(String chars) {
        byte[] out = new byte[chars.length()];
        for (int i = 0; i < out.length; i++) {
            int b = byteOf(chars.charAt(i));
            if (b < 0) return null;
            out[i] = (byte) b;
        }
        return out;
    }
}
