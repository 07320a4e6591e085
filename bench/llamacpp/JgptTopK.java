import dev.jgpt.memory.Tensor;
import dev.jgpt.train.LoadedModels;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Teacher-forced next-token distributions of a jgpt run, for comparison with llama.cpp on the same
 * model exported to GGUF (bench/llamacpp-check.sh). Reads the token ids (one line, space-separated),
 * feeds them one at a time (cpu backend, 1 thread) and prints, per position, a JSON line with the top
 * K ids and their softmax probabilities. An optional 4th argument decodes in that dtype (f32, bf16, q8:
 * GPT-2 and Llama runs on the native decoders), to compare with a GGUF exported in the same dtype.
 *
 *   java -cp java/target/jgpt.jar bench/llamacpp/JgptTopK.java RUN|FILE.gguf IDS_FILE K [DTYPE]
 */
public class JgptTopK {
    public static void main(String[] args) throws Exception {
        Path run = Path.of(args[0]);
        String[] parts = Files.readString(Path.of(args[1])).trim().split("\\s+");
        int k = Integer.parseInt(args[2]);
        var dtype = dev.jgpt.llama.DecodeDType.parse(args.length > 3 ? args[3] : "f32");
        // a GGUF file (bench/llamacpp-check.sh's ggml-quantized copy) through jgpt's GGUF reader, else a run
        try (var lm = run.toString().endsWith(".gguf") ? dev.jgpt.llama.LlamaModels.openGguf(run, dtype, 32, 1, 0)
                : LoadedModels.open(run, "cpu", 1, dtype, 32).model()) {
            StringBuilder out = new StringBuilder();
            for (String p : parts) {
                Tensor logits = lm.step(Integer.parseInt(p));
                int v = lm.vocabSize();
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int i = 0; i < v; i++) max = Math.max(max, logits.getFloat(i));
                for (int i = 0; i < v; i++) sum += Math.exp(logits.getFloat(i) - max);
                boolean[] taken = new boolean[v];
                out.append('[');
                for (int j = 0; j < k; j++) {
                    int best = -1;
                    for (int i = 0; i < v; i++) if (!taken[i] && (best < 0 || logits.getFloat(i) > logits.getFloat(best))) best = i;
                    taken[best] = true;
                    out.append(j == 0 ? "" : ",").append('[').append(best).append(',')
                            .append(Math.exp(logits.getFloat(best) - max) / sum).append(']');
                }
                out.append("]\n");
            }
            System.out.print(out);
        }
    }
}
