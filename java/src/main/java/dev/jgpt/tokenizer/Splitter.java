package dev.jgpt.tokenizer;

/**
 * The pre-split: cuts UTF-8 text into pieces (pre-tokens) that BPE then encodes one by one, so no
 * token ever spans two pieces. Implementations are stateless and thread-safe.
 */
interface Splitter {

    /**
     * Appends to {@code ends} the end offset of every piece of {@code text[from, to)}, in order;
     * the last one is {@code to}. Text that is not valid UTF-8 must still be covered completely.
     */
    void split(byte[] text, int from, int to, IntList ends);
}
