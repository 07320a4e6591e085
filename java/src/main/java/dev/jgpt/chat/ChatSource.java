package dev.jgpt.chat;

import java.util.Map;

/**
 * What a model file says about chatting with it: its Jinja chat template (null when it has none: jgpt's own format
 * applies), the BOS id its tokenizer puts before a prompt (-1: none), the text of its end-of-sequence token (for
 * formats that end turns with it), its special tokens by text (for sentencepiece vocabularies, whose encoder does
 * not know them: the markup is split at them) and, for a model jgpt fine-tuned, the name of the format it was
 * taught ({@link ChatFormats#names}; null otherwise: the template decides).
 */
public record ChatSource(String template, int bos, String eos, Map<String, Integer> specials, String format) {
    public ChatSource {
        specials = Map.copyOf(specials);
    }

    public ChatSource(String template, int bos, String eos, Map<String, Integer> specials) {
        this(template, bos, eos, specials, null);
    }

    /** The same facts with {@code format} as the chat format the model speaks (whatever its template says). */
    public ChatSource withFormat(String format) {
        return new ChatSource(template, bos, eos, specials, format);
    }

    /** llama2.c's sentencepiece vocabulary: BOS 1 {@code <s>} before every prompt, EOS 2 {@code </s>}, no template. */
    public static final ChatSource LLAMA2C = new ChatSource(null, 1, "</s>", Map.of("<s>", 1, "</s>", 2));

    /** The same facts with {@code template} as the chat template. */
    public ChatSource withTemplate(String template) {
        return new ChatSource(template, bos, eos, specials, format);
    }
}
