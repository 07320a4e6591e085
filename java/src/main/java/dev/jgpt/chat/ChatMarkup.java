package dev.jgpt.chat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The chat formats of other model families, written out the way llama.cpp's {@code llama_chat_apply_template}
 * writes them (bench/llamacpp-check.sh compares the two renderings character for character), and recognised from
 * a model's Jinja template ({@code tokenizer.chat_template} in GGUF, {@code chat_template} in a Hugging Face
 * {@code tokenizer_config.json}) by the markers it contains, as llama.cpp does: jgpt has no Jinja interpreter.
 *
 * <p>A rendering is a list of {@link Span}s: markup (role markers, turn ends: special tokens where the vocabulary
 * has them) and content (the messages' text, never read as special tokens). Like llama.cpp the text holds no BOS:
 * the tokenizer's settings add it.
 */
public enum ChatMarkup {
    /** {@code <|im_start|>user\nhi<|im_end|>\n} (Qwen, SmolLM, OpenHermes). */
    CHATML("chatml", role -> "<|im_start|>" + role + "\n", eos -> "<|im_end|>\n", false,
            eos -> List.of("<|im_end|>", "<|im_start|>")),
    /** {@code [INST] hi [/INST]hello</s>[INST] again [/INST]} (Mistral Instruct v0.1/v0.2); a system message leads the first turn. */
    LLAMA2("llama2"),
    /** Llama 2 with {@code <<SYS>>\n...\n<</SYS>>\n\n} for the system message. */
    LLAMA2_SYS("llama2-sys"),
    /** llama2-sys with a BOS ({@code <s>}) opening every turn after the first (the BOS before the first comes from the tokenizer). */
    LLAMA2_SYS_BOS("llama2-sys-bos"),
    /** llama2-sys with each message's surrounding whitespace trimmed (Llama-2-chat's own template). */
    LLAMA2_SYS_STRIP("llama2-sys-strip"),
    /** {@code  [INST] hi [/INST] hello</s>} (Mistral's official v1 template). */
    MISTRAL_V1("mistral-v1"),
    /** {@code [INST] hi[/INST] hello</s>} (Mistral's official v3 template; replies trimmed). */
    MISTRAL_V3("mistral-v3"),
    /** {@code <|user|>\nhi<|end|>\n} (Phi-3). */
    PHI3("phi3", role -> "<|" + role + "|>\n", eos -> "<|end|>\n", false, eos -> List.of("<|end|>", "<|user|>", "<|system|>")),
    /**
     * {@code <|user|>\nhi</s>\n} (Zephyr, TinyLlama-Chat): each message ends with the vocabulary's end-of-sequence
     * token ({@code eos_token} in the template; llama.cpp's built-in "zephyr" writes {@code <|endoftext|>}).
     */
    ZEPHYR("zephyr", role -> "<|" + role + "|>\n", eos -> eos + "\n", false, eos -> List.of(eos, "<|user|>", "<|system|>")),
    /** {@code <|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>} (Llama 3, 3.1, 3.2 Instruct; content trimmed). */
    LLAMA3("llama3", role -> "<|start_header_id|>" + role + "<|end_header_id|>\n\n", eos -> "<|eot_id|>", true,
            eos -> List.of("<|eot_id|>", "<|start_header_id|>", "<|end_of_text|>")),
    /** {@code USER: hi\nASSISTANT: hello</s>\n} (Vicuna); a system message is written as is, then a blank line. */
    VICUNA("vicuna"),
    /** Vicuna with {@code SYSTEM: } before the system message (Orca-Vicuna). */
    VICUNA_ORCA("vicuna-orca"),
    /** {@code GPT4 Correct User: hi<|end_of_turn|>GPT4 Correct Assistant:} (OpenChat 3.5). */
    OPENCHAT("openchat") {
        @Override
        void render(List<ChatMessage> chat, boolean open, String eos, List<Span> out) {
            for (ChatMessage m : chat) {
                if (!m.role().equals(ChatMessage.SYSTEM)) {
                    String role = Character.toUpperCase(m.role().charAt(0)) + m.role().substring(1);
                    out.add(markup("GPT4 Correct " + role + ": "));
                }
                out.add(content(m.content()));
                out.add(markup("<|end_of_turn|>"));
            }
            if (open) out.add(markup("GPT4 Correct Assistant:"));
        }

        @Override
        List<String> stops(String eos) {
            return List.of("<|end_of_turn|>", "GPT4 Correct User:");
        }
    };

    /** A piece of a rendered conversation: {@code content} true for message text, false for the format's markup. */
    public record Span(String text, boolean content) {}

    private final String id;
    // the formats whose every message is opener(role), its content, closer(eos) (null for the others)
    private final UnaryOperator<String> opener, closer;
    private final boolean strip;
    private final Function<String, List<String>> endings;

    ChatMarkup(String id) {
        this(id, null, null, false, null);
    }

    /**
     * A format that writes each message as {@code opener(role)}, its content ({@code strip}ped or not) and
     * {@code closer(eos)}, and opens the assistant's turn with {@code opener("assistant")}; {@code endings(eos)} end a reply.
     */
    ChatMarkup(String id, UnaryOperator<String> opener, UnaryOperator<String> closer, boolean strip,
               Function<String, List<String>> endings) {
        this.id = id;
        this.opener = opener;
        this.closer = closer;
        this.strip = strip;
        this.endings = endings;
    }

    /** The name llama.cpp and {@code --chat-format} give it. */
    public String id() {
        return id;
    }

    /**
     * The conversation as spans, followed by the opening of the assistant's turn when {@code open} (formats whose
     * user turn already ends where the assistant starts, Llama 2's {@code [/INST]}, add nothing). {@code eos}: the
     * vocabulary's end-of-sequence text ({@code </s>}), which some formats end turns with.
     */
    public List<Span> render(List<ChatMessage> chat, boolean open, String eos) {
        List<Span> out = new ArrayList<>();
        render(chat, open, eos, out);
        return out;
    }

    /** The rendering as one string (what llama.cpp's {@code llama_chat_apply_template} returns). */
    public String renderText(List<ChatMessage> chat, boolean open, String eos) {
        StringBuilder b = new StringBuilder();
        for (Span s : render(chat, open, eos)) b.append(s.text());
        return b.toString();
    }

    void render(List<ChatMessage> chat, boolean open, String eos, List<Span> out) {
        if (opener != null) {
            for (ChatMessage m : chat) {
                out.add(markup(opener.apply(m.role())));
                out.add(content(strip ? m.content().strip() : m.content()));
                out.add(markup(closer.apply(eos)));
            }
            if (open) out.add(markup(opener.apply(ChatMessage.ASSISTANT)));
            return;
        }
        switch (this) {
            case LLAMA2, LLAMA2_SYS, LLAMA2_SYS_BOS, LLAMA2_SYS_STRIP -> llama2(chat, eos, out);
            case MISTRAL_V1, MISTRAL_V3 -> mistral(chat, eos, out);
            case VICUNA, VICUNA_ORCA -> vicuna(chat, open, eos, out);
            default -> throw new AssertionError(this);
        }
    }

    /** What ends the model's turn, and what would open the next one. */
    List<String> stops(String eos) {
        if (endings != null) return endings.apply(eos);
        return switch (this) {
            case VICUNA, VICUNA_ORCA -> List.of(eos, "USER:");
            default -> List.of(eos, "[INST]");
        };
    }

    private void llama2(List<ChatMessage> chat, String eos, List<Span> out) {
        boolean system = this != LLAMA2, bosInside = this == LLAMA2_SYS_BOS, strip = this == LLAMA2_SYS_STRIP;
        boolean insideTurn = true; // the first [INST] is written here, its BOS comes from the tokenizer
        out.add(markup("[INST] "));
        for (ChatMessage m : chat) {
            String c = strip ? m.content().strip() : m.content();
            if (!insideTurn) {
                insideTurn = true;
                out.add(markup(bosInside ? "<s>[INST] " : "[INST] "));
            }
            switch (m.role()) {
                case ChatMessage.SYSTEM -> {
                    out.add(markup(system ? "<<SYS>>\n" : ""));
                    out.add(content(c));
                    out.add(markup(system ? "\n<</SYS>>\n\n" : "\n"));
                }
                case ChatMessage.USER -> {
                    out.add(content(c));
                    out.add(markup(" [/INST]"));
                }
                default -> {
                    out.add(content(c));
                    out.add(markup(eos));
                    insideTurn = false;
                }
            }
        }
    }

    private void mistral(List<ChatMessage> chat, String eos, List<Span> out) {
        String lead = this == MISTRAL_V1 ? " " : "";
        boolean insideTurn = false;
        for (ChatMessage m : chat) {
            if (!insideTurn) {
                out.add(markup(lead + "[INST] "));
                insideTurn = true;
            }
            switch (m.role()) {
                case ChatMessage.SYSTEM -> {
                    out.add(content(m.content()));
                    out.add(markup("\n\n"));
                }
                case ChatMessage.USER -> {
                    out.add(content(m.content()));
                    out.add(markup(lead + "[/INST]"));
                }
                default -> {
                    out.add(markup(" "));
                    out.add(content(this == MISTRAL_V3 ? m.content().strip() : m.content()));
                    out.add(markup(eos));
                    insideTurn = false;
                }
            }
        }
    }

    private void vicuna(List<ChatMessage> chat, boolean open, String eos, List<Span> out) {
        for (ChatMessage m : chat) {
            switch (m.role()) {
                case ChatMessage.SYSTEM -> {
                    out.add(markup(this == VICUNA_ORCA ? "SYSTEM: " : ""));
                    out.add(content(m.content()));
                    out.add(markup(this == VICUNA_ORCA ? "\n" : "\n\n"));
                }
                case ChatMessage.USER -> {
                    out.add(markup("USER: "));
                    out.add(content(m.content()));
                    out.add(markup("\n"));
                }
                default -> {
                    out.add(markup("ASSISTANT: "));
                    out.add(content(m.content()));
                    out.add(markup(eos + "\n"));
                }
            }
        }
        if (open) out.add(markup("ASSISTANT:"));
    }

    static Span markup(String text) {
        return new Span(text, false);
    }

    static Span content(String text) {
        return new Span(text, true);
    }

    /** The format called {@code name} ({@link #id}). */
    public static Optional<ChatMarkup> byName(String name) {
        return Arrays.stream(values()).filter(f -> f.id.equals(name)).findFirst();
    }

    /** Every name, for messages and --help. */
    public static String names() {
        StringBuilder b = new StringBuilder();
        for (ChatMarkup f : values()) b.append(b.isEmpty() ? "" : ", ").append(f.id);
        return b.toString();
    }

    /**
     * The format a Jinja chat template writes, recognised by its markers (a template that is itself a format's name
     * counts too), or empty when none matches. The order matters where formats share markers: Phi-3's
     * {@code <|end|>} is looked for before Zephyr's {@code <|user|>}.
     */
    public static Optional<ChatMarkup> detect(String template) {
        if (template == null || template.isEmpty()) return Optional.empty();
        Optional<ChatMarkup> named = byName(template.strip());
        if (named.isPresent()) return named;
        if (has(template, "<|im_start|>")) {
            // Phi-4's <|im_sep|> and SmolVLM's <end_of_utterance> are other formats built on the same marker
            return has(template, "<|im_sep|>") || has(template, "<end_of_utterance>") ? Optional.empty() : Optional.of(CHATML);
        }
        if (template.startsWith("mistral") || has(template, "[INST]")) {
            if (has(template, "[SYSTEM_PROMPT]")) return Optional.empty(); // Mistral v7
            if (has(template, "' [INST] ' + system_message") || has(template, "[AVAILABLE_TOOLS]")) {
                if (has(template, " [INST]")) return Optional.of(MISTRAL_V1);
                if (has(template, "\"[INST]\"")) return Optional.empty(); // v3 "tekken"
                return Optional.of(MISTRAL_V3);
            }
            if (has(template, "content.strip()")) return Optional.of(LLAMA2_SYS_STRIP);
            if (has(template, "bos_token + '[INST]")) return Optional.of(LLAMA2_SYS_BOS);
            return Optional.of(has(template, "<<SYS>>") ? LLAMA2_SYS : LLAMA2);
        }
        if (has(template, "<|assistant|>") && has(template, "<|end|>")) return Optional.of(PHI3);
        if (has(template, "<|user|>") && has(template, "<|assistant|>")
                && (has(template, "eos_token") || has(template, "</s>") || has(template, "<|endoftext|>"))) {
            return Optional.of(ZEPHYR);
        }
        if (has(template, "<|start_header_id|>") && has(template, "<|end_header_id|>")) return Optional.of(LLAMA3);
        if (has(template, "GPT4 Correct ")) return Optional.of(OPENCHAT);
        if (has(template, "USER: ") && has(template, "ASSISTANT: ")) {
            return Optional.of(has(template, "SYSTEM: ") ? VICUNA_ORCA : VICUNA);
        }
        return Optional.empty();
    }

    private static boolean has(String s, String marker) {
        return s.contains(marker);
    }
}
