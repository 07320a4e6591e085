import dev.jgpt.io.GgmlType;
import dev.jgpt.io.TokenizerJson;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.LlamaGguf;
import dev.jgpt.llama.LlamaWeights;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A llama2.c checkpoint (e.g. the random-weight stories15M/110M shapes of `jgpt bench decode
 * --random`) as GGUF for llama.cpp, for decode-speed comparisons (bench/decode-vs-llamacpp.sh).
 * The vocabulary is a stand-in of the right size (GPT-2's 256 byte symbols, then "<tN>"): the bench
 * feeds token ids, so no text is tokenized.
 *
 *   java -cp java/target/jgpt.jar bench/llamacpp/Llama2cToGguf.java IN.bin OUT.gguf f32|bf16|q8
 */
public class Llama2cToGguf {
    public static void main(String[] args) {
        GgmlType type = switch (args[2]) {
            case "bf16" -> GgmlType.BF16;
            case "q8" -> GgmlType.Q8_0;
            default -> GgmlType.F32;
        };
        try (Arena arena = Arena.ofConfined()) {
            LlamaWeights w = Llama2cCheckpoint.open(Path.of(args[0]), arena);
            int v = w.config().vocabSize();
            String[] tokens = new String[v];
            for (int b = 0; b < 256; b++) tokens[b] = String.valueOf(byteSymbol(b));
            for (int i = 256; i < v; i++) tokens[i] = "<t" + i + ">";
            TokenizerJson tok = new TokenizerJson(tokens, new boolean[v], new ArrayList<>(List.of()));
            LlamaGguf.write(Path.of(args[1]), w, tok, "random", type);
        }
    }

    /** GPT-2's byte-to-unicode map: printable Latin-1 bytes map to themselves, the rest to 256 + k. */
    private static char byteSymbol(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) return (char) b;
        int k = 0;
        for (int x = 0; x < b; x++) {
            boolean p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (!p) k++;
        }
        return (char) (256 + k);
    }
}
