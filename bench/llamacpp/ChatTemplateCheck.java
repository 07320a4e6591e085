import dev.jgpt.chat.ChatMarkup;
import dev.jgpt.chat.ChatMessage;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * jgpt's chat formats ({@link ChatMarkup}) against llama.cpp's {@code llama_chat_apply_template} (libllama of
 * node-llama-cpp's prebuilt CPU build), run by bench/llamacpp-check.sh:
 *
 *   ChatTemplateCheck LIBDIR
 *
 * For every format, four conversations (system or not, one turn or three, content with surrounding spaces and
 * newlines) written by both with the assistant's turn opened: the texts must be equal. Then real templates as
 * models ship them (abridged where only markers decide), recognised by both: jgpt's rendering of the format it
 * recognised must equal llama.cpp's rendering of the template. One exception, counted in the output: llama.cpp's
 * markers read Zephyr's own template (no literal {@code </s>}) as GLM-Edge's format, which drops the turn ends; there
 * jgpt's rendering is compared with llama.cpp's built-in "zephyr". Prints one JSON line; exits 1 on a difference.
 */
public class ChatTemplateCheck {
    static final List<List<ChatMessage>> CONVERSATIONS = List.of(
            List.of(ChatMessage.user("hello")),
            List.of(ChatMessage.system("You are terse."), ChatMessage.user("  What is 2+2? \n")),
            List.of(ChatMessage.user("hi"), ChatMessage.assistant(" Hello! "), ChatMessage.user("again\n\nplease")),
            List.of(ChatMessage.system("sys"), ChatMessage.user("a"), ChatMessage.assistant("b"), ChatMessage.user("c"),
                    ChatMessage.assistant("d\n"), ChatMessage.user("e")));

    static final Map<String, String> TEMPLATES = new LinkedHashMap<>();
    static {
        TEMPLATES.put("chatml (OpenHermes, Qwen)", "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
        TEMPLATES.put("Llama-2-chat", "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
                + "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
                + "{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = "
                + "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}"
                + "{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif "
                + "message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}");
        TEMPLATES.put("Mistral-7B-Instruct-v0.2", "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
                + "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
                + "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] "
                + "== 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are "
                + "supported!') }}{% endif %}{% endfor %}");
        TEMPLATES.put("Llama-3-Instruct", "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                + "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if "
                + "loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
                + "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}");
        TEMPLATES.put("Phi-3", "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] "
                + "+ '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif "
                + "message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}");
        TEMPLATES.put("StableLM-Zephyr", "{% for message in messages %}\\n{% if message['role'] == 'user' %}\\n{{ '<|user|>\\n' + "
                + "message['content'] + '<|endoftext|>' }}\\n{% elif message['role'] == 'assistant' %}\\n{{ '<|assistant|>\\n'  + "
                + "message['content'] + '<|endoftext|>' }}\\n{% endif %}\\n{% if loop.last and add_generation_prompt %}\\n{{ '<|assistant|>' }}\\n{% endif %}\\n{% endfor %}");
        TEMPLATES.put("Vicuna-1.1", "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}"
                + "{% elif message['role'] == 'user' %}{{ 'USER: ' + message['content'] + '\\n' }}{% elif message['role'] == 'assistant' %}"
                + "{{ 'ASSISTANT: ' + message['content'] + '</s>\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}");
        TEMPLATES.put("OpenChat-3.5", "{{ bos_token }}{% for message in messages %}{{ 'GPT4 Correct ' + message['role'].title() + ': ' "
                + "+ message['content'] + '<|end_of_turn|>'}}{% endfor %}{% if add_generation_prompt %}{{ 'GPT4 Correct Assistant:' }}{% endif %}");
    }

    public static void main(String[] args) throws Throwable {
        Path lib = Path.of(args[0]);
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            SymbolLookup llama = SymbolLookup.libraryLookup(lib.resolve("libllama.v0.5.0.so"), arena);
            MethodHandle apply = linker.downcallHandle(llama.findOrThrow("llama_chat_apply_template"), FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_BOOLEAN,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            int formats = 0, renderings = 0, templates = 0, misread = 0;
            StringBuilder bad = new StringBuilder();
            for (ChatMarkup m : ChatMarkup.values()) {
                // llama.cpp's built-in zephyr ends turns with <|endoftext|> (StableLM's); jgpt writes the model's EOS text
                String eos = m == ChatMarkup.ZEPHYR ? "<|endoftext|>" : "</s>";
                for (List<ChatMessage> chat : CONVERSATIONS) {
                    String ours = m.renderText(chat, true, eos), theirs = llamaCpp(apply, arena, m.id(), chat);
                    renderings++;
                    if (!ours.equals(theirs)) bad.append(differs(m.id(), ours, theirs));
                }
                formats++;
            }
            for (Map.Entry<String, String> t : TEMPLATES.entrySet()) {
                ChatMarkup m = ChatMarkup.detect(t.getValue()).orElse(null);
                boolean misreads = t.getKey().equals("StableLM-Zephyr");
                if (misreads) misread++;
                for (List<ChatMessage> chat : CONVERSATIONS) {
                    if (chat.get(0).role().equals(ChatMessage.SYSTEM) && t.getKey().startsWith("Mistral")) continue; // it refuses system
                    String theirs = llamaCpp(apply, arena, misreads ? "zephyr" : t.getValue(), chat);
                    String ours = m == null ? "(not recognised)" : m.renderText(chat, true, m == ChatMarkup.ZEPHYR ? "<|endoftext|>" : "</s>");
                    if (!ours.equals(theirs)) bad.append(differs(t.getKey(), ours, theirs));
                }
                templates++;
            }
            System.out.printf("{\"check\": \"chat formats vs llama_chat_apply_template\", \"formats\": %d, \"renderings\": %d, "
                    + "\"templates\": %d, \"templatesLlamaCppMisreads\": %d, \"ok\": %b%s}%n", formats, renderings, templates, misread,
                    bad.isEmpty(),
                    bad.isEmpty() ? "" : ", \"differences\": [" + bad.substring(2) + "]");
            if (!bad.isEmpty()) System.exit(1);
        }
    }

    /** llama.cpp's text for {@code chat} under {@code template} (a built-in name or a Jinja template it recognises). */
    static String llamaCpp(MethodHandle apply, Arena arena, String template, List<ChatMessage> chat) throws Throwable {
        MemoryLayout message = MemoryLayout.structLayout(ValueLayout.ADDRESS.withName("role"), ValueLayout.ADDRESS.withName("content"));
        MemorySegment msgs = arena.allocate(message, chat.size());
        for (int i = 0; i < chat.size(); i++) {
            msgs.setAtIndex(ValueLayout.ADDRESS, 2L * i, arena.allocateFrom(chat.get(i).role()));
            msgs.setAtIndex(ValueLayout.ADDRESS, 2L * i + 1, arena.allocateFrom(chat.get(i).content()));
        }
        MemorySegment tmpl = arena.allocateFrom(template);
        int cap = 1 << 16;
        MemorySegment buf = arena.allocate(cap);
        int n = (int) apply.invokeExact(tmpl, msgs, (long) chat.size(), true, buf, cap);
        if (n < 0) return "(llama.cpp: not supported)";
        return new String(buf.asSlice(0, Math.min(n, cap)).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    static String differs(String what, String ours, String theirs) {
        return ", {\"format\": \"" + esc(what) + "\", \"jgpt\": \"" + esc(ours) + "\", \"llama.cpp\": \"" + esc(theirs) + "\"}";
    }

    static String esc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
