package dev.jgpt.chat;

/** Chat templates as models ship them, for tests. */
public final class ChatTemplates {
    private ChatTemplates() {}

    /** TinyLlama-1.1B-Chat's template (Zephyr's markup, each message closed by the EOS token). */
    public static final String TINYLLAMA = """
            {% for message in messages %}
            {% if message['role'] == 'user' %}
            {{ '<|user|>\\n' + message['content'] + eos_token }}
            {% elif message['role'] == 'system' %}
            {{ '<|system|>\\n' + message['content'] + eos_token }}
            {% elif message['role'] == 'assistant' %}
            {{ '<|assistant|>\\n'  + message['content'] + eos_token }}
            {% endif %}
            {% if loop.last and add_generation_prompt %}
            {{ '<|assistant|>' }}
            {% endif %}
            {% endfor %}""";
}
