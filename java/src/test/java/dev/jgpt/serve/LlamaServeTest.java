package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaInference;
import dev.jgpt.llama.LlamaModels;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.memory.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A llama2.c checkpoint (+ tokenizer.bin) served with continuous batching: many concurrent streaming
 * clients get, each, the greedy text the same prompt gets alone, and the text a plain one-sequence
 * {@link LlamaInference} decode gives in process.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LlamaServeTest {
    @TempDir Path dir;

    static final int V = 3 + 256 + 26;

    @Test
    void concurrentClientsGetTheGreedyTextOfOneClientAloneF32() throws Exception {
        servesBatched(DecodeDType.F32);
    }

    @Test
    void concurrentClientsGetTheGreedyTextOfOneClientAloneQ8() throws Exception {
        servesBatched(DecodeDType.Q8);
    }

    private void servesBatched(DecodeDType dtype) throws Exception {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
        Path model = dir.resolve("tiny-llama.bin");
        writeByteTokenizer(dir.resolve("tokenizer.bin"));
        LlamaConfig cfg = LlamaConfig.llama2c(64, 128, 2, 4, 2, V, 96, false);
        RandomLlama.writeCheckpoint(model, cfg, 11);

        // prompts of different lengths, so the sequences sit at different positions in each step
        int clients = 10, maxTokens = 60; // long enough that the concurrent streams overlap (prompts up to 28 + 60 < 96)
        List<int[]> prompts = new ArrayList<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < clients; i++) {
            int[] p = new int[1 + i * 3];
            for (int j = 0; j < p.length; j++) p[j] = 3 + r.nextInt(V - 3);
            prompts.add(p);
        }
        List<String> inProcess = new ArrayList<>();
        try (LlamaInference lm = LlamaModels.openLlama2c(model, dtype, 32, 1)) {
            for (int[] p : prompts) inProcess.add(greedyAscii(lm, p, maxTokens));
        }

        // 4 sequences in flight for 10 clients: six wait in the queue and take freed slots mid-run
        ModelRegistry reg = new ModelRegistry(ModelSource.standard("cpu", 1, dtype, 32), 4, 64);
        ServedModel served = reg.load(model);
        assertThat(served.name()).isEqualTo("tiny-llama");
        assertThat(served.batched()).isTrue();
        assertThat(served.sessions()).isEqualTo(4);
        try (JgptServer server = JgptServer.start(ServeOptions.defaults().withPort(0).withInstancesPerModel(4), reg)) {
            var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            List<String> alone = new ArrayList<>();
            for (int i = 0; i < clients; i++) alone.add(stream(http, server, prompts.get(i), maxTokens));
            assertThat(served.meanBatch()).isEqualTo(1.0); // one at a time so far

            ConcurrentClients.untilBatched(served, clients, i -> stream(http, server, prompts.get(i), maxTokens), (i, t) -> {
                assertThat(t).as("client %d, concurrent vs alone", i).isEqualTo(alone.get(i));
                assertThat(ascii(t)).as("client %d, served vs in-process decode", i).isEqualTo(inProcess.get(i));
            });
            assertThat(String.join("", alone).length()).as("the texts are not all empty").isGreaterThan(clients * 3);
            http.close();
        }
    }

    @Test
    void dtypeOtherThanF32IsRefusedForAGpt2Model() throws Exception {
        Path run = dev.jgpt.testing.TinyRuns.gpt2(dir.resolve("g"), new dev.jgpt.model.GptConfig(280, 32, 1, 2, 16),
                "hello there, how are you?", true);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ModelSource.standard("reference", 1, DecodeDType.Q8, 32).open(run))
                .isInstanceOf(dev.jgpt.JgptException.class).hasMessageContaining("--dtype q8").hasMessageContaining("GPT-2");
        ModelSource.Opened f32 = ModelSource.standard("reference", 1, DecodeDType.F32, 32).open(run);
        assertThat(f32.model().model()).isInstanceOf(dev.jgpt.model.Gpt2Inference.class);
        f32.model().close();
        f32.owner().close();
    }

    @Test
    void kvCachesOfALargeModelAreCappedNotAllocatedPerInstance() {
        LlamaConfig c110 = LlamaConfig.preset("stories110M"); // 72 MiB of f32 cache per sequence, 36 of halves
        long f32 = 4L * c110.layers() * c110.seqLen() * c110.kvDim();
        assertThat(ServedModel.llamaSlots("m", f32, 8)).isEqualTo(8);
        assertThat(ServedModel.llamaSlots("m", f32, 256)).isEqualTo(56);
        assertThat(ServedModel.llamaSlots("m", f32 / 2, 256)).as("halves: twice the sequences").isEqualTo(113);
        LlamaConfig huge = LlamaConfig.llama2c(4096, 11008, 32, 32, 32, 32000, 4096, false); // 4 GiB per sequence
        assertThat(ServedModel.llamaSlots("m", 4L * huge.layers() * huge.seqLen() * huge.kvDim(), 8)).isEqualTo(1);
    }

    /**
     * A GGUF file (with its sentencepiece vocabulary inside) served in q8: the batched decoder over a model whose float32
     * matrices were never held whole (prefill from tiles of the q8 ones) streams what the one-sequence decoder of the
     * same file gives.
     */
    @Test
    void ggufFileIsServedInQ8WithTheTokenizerInside() throws Exception {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
        Path bin = dir.resolve("w.bin"), gguf = dir.resolve("tiny-llama.gguf");
        RandomLlama.writeCheckpoint(bin, LlamaConfig.llama2c(64, 128, 2, 4, 2, V, 96, false), 12);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
            dev.jgpt.llama.LlamaGguf.write(gguf, dev.jgpt.llama.Llama2cCheckpoint.open(bin, a), tokenizer(), "tiny",
                    dev.jgpt.io.GgmlType.F32, dev.jgpt.chat.ChatTemplates.TINYLLAMA);
        }
        int[] prompt = {5, 270, 271, 259, 280, 263};
        String expected;
        try (LlamaInference lm = LlamaModels.openGguf(gguf, DecodeDType.Q8, 32, 1, 0)) {
            expected = greedyAscii(lm, prompt, 40);
        }
        ModelRegistry reg = new ModelRegistry(ModelSource.standard("cpu", 1, DecodeDType.Q8, 32), 2, 64);
        ServedModel served = reg.load(gguf);
        assertThat(served.name()).isEqualTo("tiny-llama");
        assertThat(served.batched()).isTrue();
        try (JgptServer server = JgptServer.start(ServeOptions.defaults().withPort(0).withInstancesPerModel(2), reg)) {
            var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            assertThat(ascii(stream(http, server, prompt, 40))).as("served batched vs one sequence, both from the GGUF file")
                    .isEqualTo(expected).hasSizeGreaterThan(5);
            // the file's chat template (TinyLlama's) makes it a chat model: Zephyr's markup around the messages
            assertThat(served.chat()).isTrue();
            assertThat(served.chatFormat().name()).isEqualTo("zephyr");
            int[] chatPrompt = served.chatFormat().prompt(java.util.List.of(dev.jgpt.chat.ChatMessage.user("hi there")));
            assertThat(served.tokenizer().decode(chatPrompt)).as("BOS, the first run, EOS (both decode to nothing), the next run with sentencepiece's leading space")
                    .isEqualTo("<|user|>\nhi there \n<|assistant|>\n");
            assertThat(chatPrompt).containsOnlyOnce(Llama2cTokenizer.EOS).startsWith(Llama2cTokenizer.BOS);
            var chat = http.send(java.net.http.HttpRequest.newBuilder(server.uri().resolve("/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tiny-llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}],"
                                    + "\"max_tokens\":5,\"temperature\":0}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            assertThat(TestServer.json(chat.body()).path("usage").path("prompt_tokens").asInt()).isEqualTo(chatPrompt.length);
            http.close();
        }
    }

    /**
     * A Q4_K_M-like GGUF file served without --dtype: from its own blocks in place (Q4_K, Q6_K, Q8_0, F16 layers), the
     * batched decoder streaming what the one-sequence decoder of the same file gives.
     */
    @Test
    void aQuantizedGgufFileIsServedFromItsOwnBlocks() throws Exception {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
        Path gguf = dir.resolve("tiny-llama.gguf"); // the name stream() asks for
        dev.jgpt.llama.GgufInPlaceTest.write(gguf, LlamaConfig.llama2c(256, 512, 2, 4, 2, V, 64, false), 21, false);
        int[] prompt = {5, 270, 271, 259, 280, 263};
        String expected;
        try (LlamaInference lm = LlamaModels.openGguf(gguf, DecodeDType.GGUF, 32, 1, 0)) {
            expected = greedyAscii(lm, prompt, 24);
        }
        ModelRegistry reg = new ModelRegistry(ModelSource.standard("cpu", 1, null, 32), 2, 64);
        ServedModel served = reg.load(gguf);
        assertThat(served.batched()).isTrue();
        assertThat(((LlamaInference) served.primary()).dtype()).isEqualTo(DecodeDType.GGUF);
        try (JgptServer server = JgptServer.start(ServeOptions.defaults().withPort(0).withInstancesPerModel(2), reg)) {
            var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            assertThat(ascii(stream(http, server, prompt, 24))).as("served batched vs one sequence, both from the blocks")
                    .isEqualTo(expected).hasSizeGreaterThan(5);
            http.close();
        }
    }

    /** {@code serve --chat-format NAME}: every model chats in that format instead of its own; an unknown name cannot chat. */
    @Test
    void theChatFormatOfServedModelsCanBeChosen() {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
        Path bin = dir.resolve("w.bin"), gguf = dir.resolve("chat-llama.gguf");
        RandomLlama.writeCheckpoint(bin, LlamaConfig.llama2c(64, 128, 1, 4, 2, V, 32, false), 4);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
            dev.jgpt.llama.LlamaGguf.write(gguf, dev.jgpt.llama.Llama2cCheckpoint.open(bin, a), tokenizer(), "tiny",
                    dev.jgpt.io.GgmlType.F32, dev.jgpt.chat.ChatTemplates.TINYLLAMA);
        }
        try (ModelRegistry chosen = new ModelRegistry(ModelSource.standard("cpu", 1, null, 32), 1, 4, "llama2-sys")) {
            ServedModel m = chosen.load(gguf);
            assertThat(m.chatFormat().name()).as("instead of the file's zephyr").isEqualTo("llama2-sys");
        }
        try (ModelRegistry typo = new ModelRegistry(ModelSource.standard("cpu", 1, null, 32), 1, 4, "lama3")) {
            ServedModel m = typo.load(gguf);
            assertThat(m.chat()).isFalse();
            assertThat(m.noChatReason()).contains("--chat-format: 'lama3' is not one of jgpt, chatml");
        }
    }

    @Test
    void huggingFaceDirectoryIsServedWithItsTokenizerJson() throws Exception {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
        Path bin = dir.resolve("weights.bin"), hf = dir.resolve("tiny-llama");
        RandomLlama.writeCheckpoint(bin, LlamaConfig.llama2c(64, 128, 2, 4, 2, V, 96, false), 11);
        java.nio.file.Files.createDirectories(hf);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
            dev.jgpt.llama.HfLlamaImportTest.writeHf(hf, dev.jgpt.llama.Llama2cCheckpoint.open(bin, a), "F32");
        }
        java.nio.file.Files.writeString(hf.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,"
                + "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                + "\"vocab_size\":" + V + ",\"max_position_embeddings\":96,\"rms_norm_eps\":1e-5,\"tie_word_embeddings\":false}");
        // the byte-level vocabulary of tokenizer() as a Hugging Face (sentencepiece-style BPE) tokenizer.json
        StringBuilder vocab = new StringBuilder("\"<unk>\":0,\"<s>\":1,\"</s>\":2");
        for (int b = 0; b < 256; b++) vocab.append(String.format(",\"<0x%02X>\":%d", b, 3 + b));
        vocab.append(",\"\u2581\":259");
        for (int i = 1; i < 26; i++) vocab.append(",\"").append((char) ('a' + i)).append("\":").append(259 + i);
        java.nio.file.Files.writeString(hf.resolve("tokenizer.json"), "{\"added_tokens\":[],\"model\":{\"type\":\"BPE\","
                + "\"byte_fallback\":true,\"vocab\":{" + vocab + "},\"merges\":[]}}");

        int[] prompt = {5, 270, 271, 259, 280, 263};
        String expected;
        try (LlamaInference lm = LlamaModels.openLlama2c(bin, DecodeDType.F32, 32, 1)) {
            expected = greedyAscii(lm, prompt, 40);
        }
        ModelRegistry reg = new ModelRegistry(ModelSource.standard("cpu", 1, DecodeDType.F32, 32), 2, 64);
        ServedModel served = reg.load(hf);
        assertThat(served.name()).isEqualTo("tiny-llama");
        assertThat(served.batched()).isTrue();
        try (JgptServer server = JgptServer.start(ServeOptions.defaults().withPort(0).withInstancesPerModel(2), reg)) {
            var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            assertThat(ascii(stream(http, server, prompt, 40))).as("served from the HF directory vs the llama2.c file")
                    .isEqualTo(expected).hasSizeGreaterThan(5);
            var chat = http.send(java.net.http.HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                    .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tiny-llama\",\"prompt\":\"hello there\",\"max_tokens\":5,\"temperature\":0}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            assertThat(TestServer.json(chat.body()).path("usage").path("prompt_tokens").asInt())
                    .as("a text prompt goes through tokenizer.json").isPositive();
            http.close();
        }
    }

    /**
     * {@code --device reference} (or cuda) names the backend: a Llama model is served through the backend's ops
     * ({@code LlamaOpsInference}, its sequences batched by {@code BackendBatchDecoder}) and gives libjgpt's greedy
     * text, alone and with two clients at once; {@code --device auto} keeps libjgpt's batched decoder.
     */
    @Test
    void explicitBackendServesTheLlamaModelThroughItsOps() throws Exception {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
        Path model = dir.resolve("tiny-llama.bin");
        writeByteTokenizer(dir.resolve("tokenizer.bin"));
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(32, 64, 2, 4, 2, V, 64, false), 11);
        int[] prompt = {5, 270, 271, 259, 280, 263};
        String expected;
        try (LlamaInference lm = LlamaModels.openLlama2c(model, DecodeDType.F32, 32, 1)) {
            expected = greedyAscii(lm, prompt, 20);
        }
        ModelRegistry reg = new ModelRegistry(ModelSource.standard("reference", 1, DecodeDType.F32, 32), 2, 64);
        ServedModel served = reg.load(model);
        assertThat(served.batched()).as("the ops decoder's sequences are batched").isTrue();
        assertThat(served.sessions()).isEqualTo(2);
        try (JgptServer server = JgptServer.start(ServeOptions.defaults().withPort(0).withInstancesPerModel(2), reg)) {
            var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            assertThat(ascii(stream(http, server, prompt, 20))).as("served on reference vs libjgpt in process").isEqualTo(expected)
                    .hasSizeGreaterThan(3);
            var pool = Executors.newVirtualThreadPerTaskExecutor();
            var a = pool.submit(() -> stream(http, server, prompt, 20));
            var b = pool.submit(() -> stream(http, server, prompt, 20));
            assertThat(ascii(a.get())).as("two clients at once").isEqualTo(expected);
            assertThat(ascii(b.get())).as("two clients at once").isEqualTo(expected);
            pool.close();
            http.close();
        }
        ModelSource.Opened auto = ModelSource.standard("auto", 1, DecodeDType.F32, 32).open(model);
        try {
            assertThat(auto.model().model()).as("auto: the batched CPU decoder").isInstanceOf(LlamaInference.class);
        } finally {
            auto.model().close();
        }
    }

    /** One streamed greedy completion of the token ids {@code prompt}: the concatenated deltas. */
    private static String stream(java.net.http.HttpClient http, JgptServer server, int[] prompt, int maxTokens) throws Exception {
        String body = "{\"model\":\"tiny-llama\",\"prompt\":" + java.util.Arrays.toString(prompt) + ",\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"stream\":true}";
        var r = http.send(java.net.http.HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<String> data = ServeApiTest.sseData(r.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        StringBuilder b = new StringBuilder();
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode j = TestServer.json(d);
            assertThat(j.has("error")).as(d).isFalse();
            b.append(j.path("choices").get(0).path("text").asString(""));
        }
        return b.toString();
    }

    /** Greedy decoding on one sequence, stopping at BOS/EOS (ids 1, 2) like the server; the ASCII bytes of the text. */
    private static String greedyAscii(dev.jgpt.generate.CausalLm lm, int[] prompt, int maxTokens) {
        lm.reset();
        Tensor logits = lm.prefill(prompt);
        StringBuilder out = new StringBuilder();
        Llama2cTokenizer tok = tokenizer();
        for (int i = 0; i < maxTokens; i++) {
            int next = 0;
            for (int v = 1; v < V; v++) if (logits.getFloat(v) > logits.getFloat(next)) next = v;
            if (next == 1 || next == 2) break;
            out.append(new String(tok.tokenBytes(next), StandardCharsets.ISO_8859_1));
            if (i + 1 < maxTokens) logits = lm.step(next);
        }
        return ascii(out.toString());
    }

    static String ascii(String s) {
        return s.chars().filter(c -> c < 128).collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    private static Llama2cTokenizer tokenizer() {
        return dev.jgpt.testing.TinyRuns.asciiLlamaTokenizer(); // V ids
    }

    /** A byte-level llama2.c vocabulary: 3 specials, 256 byte pieces, a space and the letters b..z. */
    static void writeByteTokenizer(Path file) {
        tokenizer().write(file);
    }
}
