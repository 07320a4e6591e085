package dev.jgpt.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Foreign chat formats: recognised from the templates models ship (abridged to the parts that decide), written as
 * llama.cpp writes them (bench/llamacpp-check.sh compares every format with llama.cpp's own rendering).
 */
class ChatMarkupTest {

    static final List<ChatMessage> CHAT = List.of(ChatMessage.system("Be brief."), ChatMessage.user(" hello "),
            ChatMessage.assistant("Hi!"), ChatMessage.user("again"));

    @Test
    void templatesAreRecognisedByTheirMarkers() {
        assertThat(ChatMarkup.detect("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
                + " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"))
                .contains(ChatMarkup.CHATML);
        // Llama-2-chat's own template strips the content and opens every turn with the BOS
        assertThat(ChatMarkup.detect("{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + "
                + "messages[0]['content'].strip() + '\\n<</SYS>>\\n\\n' %}{% endif %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"))
                .contains(ChatMarkup.LLAMA2_SYS_STRIP);
        assertThat(ChatMarkup.detect("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                + "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}"))
                .as("Mistral-7B-Instruct v0.1/v0.2").contains(ChatMarkup.LLAMA2);
        assertThat(ChatMarkup.detect(ChatTemplates.TINYLLAMA)).contains(ChatMarkup.ZEPHYR);
        assertThat(ChatMarkup.detect("{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + "
                + "'<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}")).contains(ChatMarkup.LLAMA3);
        assertThat(ChatMarkup.detect("{% for message in messages %}{{'<|' + message['role'] + '|>' + '\\n' + message['content'] "
                + "+ '<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")).contains(ChatMarkup.PHI3);
        assertThat(ChatMarkup.detect("{{ 'USER: ' + message['content'] + '\\n' }}{{ 'ASSISTANT: ' }}")).contains(ChatMarkup.VICUNA);
        assertThat(ChatMarkup.detect("GPT4 Correct User: ")).contains(ChatMarkup.OPENCHAT);
        assertThat(ChatMarkup.detect("llama3")).as("a format's own name").contains(ChatMarkup.LLAMA3);
        assertThat(ChatMarkup.detect("<start_of_turn>user")).as("Gemma: not a format jgpt writes").isEmpty();
        assertThat(ChatMarkup.detect("<|im_start|>user<|im_sep|>")).as("Phi-4: ChatML's marker, another format").isEmpty();
        assertThat(ChatMarkup.detect("[SYSTEM_PROMPT] [INST]")).as("Mistral v7").isEmpty();
        assertThat(ChatMarkup.detect("")).isEmpty();
        assertThat(ChatMarkup.detect(null)).isEmpty();
    }

    @Test
    void formatsWriteTheConversationAsLlamaCppDoes() {
        assertThat(ChatMarkup.CHATML.renderText(CHAT, true, "</s>")).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n"
                + "<|im_start|>user\n hello <|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n"
                + "<|im_start|>assistant\n");
        assertThat(ChatMarkup.LLAMA2_SYS.renderText(CHAT, true, "</s>"))
                .isEqualTo("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n hello  [/INST]Hi!</s>[INST] again [/INST]");
        assertThat(ChatMarkup.LLAMA2_SYS_BOS.renderText(CHAT, true, "</s>"))
                .isEqualTo("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n hello  [/INST]Hi!</s><s>[INST] again [/INST]");
        assertThat(ChatMarkup.LLAMA2_SYS_STRIP.renderText(CHAT, true, "</s>"))
                .isEqualTo("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nhello [/INST]Hi!</s>[INST] again [/INST]");
        assertThat(ChatMarkup.LLAMA2.renderText(CHAT, true, "</s>")).isEqualTo("[INST] Be brief.\n hello  [/INST]Hi!</s>[INST] again [/INST]");
        assertThat(ChatMarkup.MISTRAL_V1.renderText(CHAT, true, "</s>"))
                .isEqualTo(" [INST] Be brief.\n\n hello  [/INST] Hi!</s> [INST] again [/INST]");
        assertThat(ChatMarkup.LLAMA3.renderText(CHAT, true, "<|eot_id|>")).isEqualTo("<|start_header_id|>system<|end_header_id|>\n\n"
                + "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|><|start_header_id|>assistant"
                + "<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nagain<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(ChatMarkup.ZEPHYR.renderText(List.of(ChatMessage.user("hi")), true, "</s>")).isEqualTo("<|user|>\nhi</s>\n<|assistant|>\n");
        assertThat(ChatMarkup.VICUNA_ORCA.renderText(CHAT, true, "</s>"))
                .isEqualTo("SYSTEM: Be brief.\nUSER:  hello \nASSISTANT: Hi!</s>\nUSER: again\nASSISTANT:");
        assertThat(ChatMarkup.OPENCHAT.renderText(CHAT, true, "</s>")).isEqualTo("Be brief.<|end_of_turn|>GPT4 Correct User:  hello "
                + "<|end_of_turn|>GPT4 Correct Assistant: Hi!<|end_of_turn|>GPT4 Correct User: again<|end_of_turn|>GPT4 Correct Assistant:");
    }

    @Test
    void contentAndMarkupAreKeptApart() {
        List<ChatMarkup.Span> spans = ChatMarkup.CHATML.render(List.of(ChatMessage.user("<|im_end|>")), true, "</s>");
        assertThat(spans).containsExactly(new ChatMarkup.Span("<|im_start|>user\n", false), new ChatMarkup.Span("<|im_end|>", true),
                new ChatMarkup.Span("<|im_end|>\n", false), new ChatMarkup.Span("<|im_start|>assistant\n", false));
        for (ChatMarkup m : ChatMarkup.values()) {
            assertThat(ChatMarkup.byName(m.id())).contains(m);
            assertThat(String.join("", m.render(CHAT, true, "</s>").stream().filter(ChatMarkup.Span::content)
                    .map(ChatMarkup.Span::text).toList())).as(m.id()).contains("Be brief.", "Hi!", "again");
        }
    }
}
