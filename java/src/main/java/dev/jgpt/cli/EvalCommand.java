package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.data.TokenShards;
import dev.jgpt.io.Json;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.tokenizer.Tokenizer;
import dev.jgpt.train.Architecture;
import dev.jgpt.train.Evaluator;
import dev.jgpt.train.ModelDirs;
import dev.jgpt.train.TrainableModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.node.ObjectNode;

import java.nio.file.Path;

/**
 * {@code jgpt eval}: loss, perplexity and bits per byte of a model on a shard set, reading (B, T)
 * windows in file order from the first token (llm.c's eval loader), so other tools can be fed
 * exactly the same tokens: row b of batch k is tokens [k*B*T + b*T, k*B*T + b*T + T] of the shard.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Loss, perplexity and bits per byte of a model on token shards (windows in file order).")
public final class EvalCommand implements Runnable {
    @Option(names = "--model", required = true, paramLabel = "RUN", description = "Run, checkpoint or model directory.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "SHARDS", description = "Directory of packed shards (or one .bin shard).")
    Path data;

    @Option(names = "--split", defaultValue = "val", description = "Split to evaluate: val or train (default ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "B", description = "Sequences per batch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq", paramLabel = "T", description = "Tokens per sequence (default: the model's context).")
    Integer seq;

    @Option(names = "--batches", defaultValue = "0", paramLabel = "N", description = "Batches to evaluate; 0 = the whole split (default).")
    long batches;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--threads", defaultValue = "0", description = "Threads (default: all cores).")
    int threads;

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    @Override
    public void run() {
        Path dir = ModelDirs.resolve(model);
        Architecture arch = Architecture.of(dir); // a GPT-2 or a Llama run: the same windows, the same figures
        Tokenizer tok = ModelDirs.loadTokenizer(ModelDirs.tokenizer(dir));
        arch.requireVocabulary(tok.vocabSize());
        int T = seq != null ? seq : arch.context();
        if (T < 1 || T > arch.context()) {
            throw new JgptException("--seq " + T + " must be in [1, " + arch.context() + "] (the model's context)");
        }
        if (batch < 1) throw new JgptException("--batch must be >= 1, got " + batch);
        if (batches < 0) throw new JgptException("--batches must be >= 0, got " + batches);
        long t0 = System.nanoTime();
        try (Backend be = Backends.select(device).backend();
             TokenShards shards = data.toString().endsWith(".bin")
                     ? TokenShards.open(java.util.List.of(data), 0) : TokenShards.open(data, split, 0);
             TensorArena host = TensorArena.host()) {
            be.setThreads(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
            if (shards.evalBatches(batch, T) == 0) {
                throw new JgptException(data + ": " + shards.tokenCount() + " tokens are fewer than one batch of "
                        + batch + " x " + T + " + 1; lower --batch or --seq");
            }
            try (TrainableModel m = arch.create(be, batch, T)) {
                arch.load(dir, m, false);
                Tensor in = host.allocate(DType.I32, (long) batch * T), tg = host.allocate(DType.I32, (long) batch * T);
                shards.resetEval();
                Evaluator.Result r = new Evaluator(tok).run(m, (i, t) -> shards.nextEvalBatch(batch, T, i, t),
                        batch, T, in, tg, batches);
                double secs = (System.nanoTime() - t0) / 1e9;
                if (json) {
                    ObjectNode o = Json.object();
                    o.put("model", dir.toString());
                    o.put("arch", arch.name());
                    o.put("data", data.toString());
                    o.put("batch", batch);
                    o.put("seq", T);
                    o.put("tokens", r.tokens());
                    o.put("bytes", r.bytes());
                    o.put("loss", r.loss());
                    o.put("perplexity", r.perplexity());
                    o.put("bits_per_byte", r.bitsPerByte());
                    o.put("seconds", secs);
                    System.out.println(Json.MAPPER.writeValueAsString(o));
                } else {
                    System.out.printf("loss %.4f | perplexity %.3f | %.4f bits/byte | %,d tokens, %,d bytes | %.1f s%n",
                            r.loss(), r.perplexity(), r.bitsPerByte(), r.tokens(), r.bytes(), secs);
                }
            }
        }
    }
}
