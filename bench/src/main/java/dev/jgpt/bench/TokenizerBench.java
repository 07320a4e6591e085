package dev.jgpt.bench;

import static ai.djl.huggingface.tokenizers.jni.TokenizersLibrary.LIB;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import dev.jgpt.tokenizer.SplitPattern;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Tokenizer speed beside Hugging Face tokenizers, in one process: BPE training time on the shared
 * corpora, and encode throughput of jgpt's tokenizer and of HF tokenizers (the Rust library through
 * DJL) on the same tokenizer.json and the same text. Prints one JSON object on stdout.
 *
 * <p>Arguments: {@code --corpus DIR} (holds moby-dick.txt and sotu/), {@code --vocab N} (8192),
 * {@code --pattern gpt2|gpt4}, {@code --repeats N} (3), and optionally {@code --hf-train-seconds S
 * --hf-train-vocab V --hf-train-version X} from bench/tokenizer.sh, which times HF's trainer (not
 * reachable through DJL) in Node; jgpt is then also trained at V so the two figures compare.
 */
public final class TokenizerBench {

    /** Thread CPU time: on a shared machine it tells the work done apart from time spent waiting for a core. */
    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws IOException {
        Path corpus = Path.of("../shared/corpora");
        int vocab = 8192;
        String pattern = "gpt2";
        int repeats = 3;
        String hfTrainSeconds = null;
        int hfTrainVocab = 0;
        String hfTrainVersion = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--corpus" -> corpus = Path.of(args[++i]);
                case "--vocab" -> vocab = Integer.parseInt(args[++i]);
                case "--pattern" -> pattern = args[++i];
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--hf-train-seconds" -> hfTrainSeconds = args[++i];
                case "--hf-train-vocab" -> hfTrainVocab = Integer.parseInt(args[++i]);
                case "--hf-train-version" -> hfTrainVersion = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        List<Path> files = new ArrayList<>();
        files.add(corpus.resolve("moby-dick.txt"));
        try (Stream<Path> s = Files.list(corpus.resolve("sotu"))) {
            s.filter(p -> p.toString().endsWith(".txt")).sorted().forEach(files::add);
        }
        long bytes = 0;
        List<String> docs = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        long lineBytes = 0;
        for (Path f : files) {
            String text = Files.readString(f);
            docs.add(text);
            bytes += text.getBytes(StandardCharsets.UTF_8).length;
            for (String l : text.split("\n", -1)) {
                lines.add(l);
                lineBytes += l.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        SplitPattern split = SplitPattern.byName(pattern);
        int cores = Runtime.getRuntime().availableProcessors();

        // training: best and median of the repeats (the first includes JIT warm-up)
        double[] trainTimes = new double[repeats];
        BpeTokenizer tok = null;
        for (int r = 0; r < repeats; r++) {
            long t0 = System.nanoTime();
            tok = new BpeTrainer(vocab).pattern(split).train(files);
            trainTimes[r] = (System.nanoTime() - t0) / 1e9;
            System.err.printf("jgpt train vocab %d: %.3f s%n", vocab, trainTimes[r]);
        }
        double[] sameVocabTimes = null;
        if (hfTrainSeconds != null && hfTrainVocab > 0) {
            sameVocabTimes = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                new BpeTrainer(hfTrainVocab).pattern(split).train(files);
                sameVocabTimes[r] = (System.nanoTime() - t0) / 1e9;
                System.err.printf("jgpt train vocab %d: %.3f s%n", hfTrainVocab, sameVocabTimes[r]);
            }
        }
        Path dir = Files.createTempDirectory("jgpt-tokenizer-bench");
        tok.save(dir);
        Path json = dir.resolve("tokenizer.json");

        ObjectNode out = JsonMapper.shared().createObjectNode();
        out.put("bench", "tokenizer");
        ObjectNode machine = out.putObject("machine");
        machine.put("cores", cores);
        machine.put("load_average", round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        machine.put("java", Runtime.version().toString());
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        ObjectNode corp = out.putObject("corpus");
        corp.put("dir", corpus.toString());
        corp.put("files", "moby-dick.txt + sotu/*.txt");
        corp.put("count", files.size());
        corp.put("bytes", bytes);
        corp.put("lines", lines.size());
        ObjectNode train = out.putObject("train");
        train.put("vocab", vocab);
        train.put("pattern", pattern);
        train.put("threads", cores);
        train.put("merges", tok.mergeCount());
        train.put("jgpt_seconds_best", round(min(trainTimes)));
        train.put("jgpt_seconds_median", round(median(trainTimes)));
        if (sameVocabTimes != null) {
            double hf = Double.parseDouble(hfTrainSeconds);
            ObjectNode same = train.putObject("same_vocab");
            same.put("vocab", hfTrainVocab);
            same.put("jgpt_seconds_best", round(min(sameVocabTimes)));
            same.put("jgpt_seconds_median", round(median(sameVocabTimes)));
            same.put("hf_seconds", round(hf));
            same.put("hf", "tokenizers (Node binding) " + hfTrainVersion + ", BpeTrainer defaults, ByteLevel pre-tokenizer");
            same.put("hf_over_jgpt", round(hf / median(sameVocabTimes)));
        } else {
            train.putNull("same_vocab");
        }

        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder().optTokenizerPath(json).optAddSpecialTokens(false)
                .optTruncation(false).optPadding(false).build()) {
            // HF's encoder with only the ids brought back: DJL's encode() also builds tokens, offsets and
            // masks as Java objects per token; this isolates the native encoder.
            long rawHandle = LIB.createTokenizerFromString(Files.readString(json));
            // same ids, or the speed comparison means nothing
            boolean same = true;
            for (int i = 0; i < docs.size() && same; i += 17) {
                int[] ours = tok.encode(docs.get(i));
                same = Arrays.equals(toInts(hf.encode(docs.get(i)).getIds()), ours);
                long e = LIB.encode(rawHandle, docs.get(i), false);
                same &= Arrays.equals(toInts(LIB.getTokenIds(e)), ours);
                LIB.deleteEncoding(e);
            }
            out.put("ids_match", same);
            ObjectNode enc = out.putObject("encode");
            for (String mode : new String[] {"documents", "lines"}) {
                List<String> inputs = mode.equals("documents") ? docs : lines;
                long n = mode.equals("documents") ? bytes : lineBytes;
                double[] ours = new double[repeats];
                double[] theirs = new double[repeats];
                double[] raw = new double[repeats];
                double[] oursCpu = new double[repeats];
                double[] theirsCpu = new double[repeats];
                double[] rawCpu = new double[repeats];
                long tokens = 0;
                for (int r = 0; r < repeats; r++) { // interleaved, so all three see the same machine load
                    long c0 = CPU.getCurrentThreadCpuTime();
                    long t0 = System.nanoTime();
                    tokens = 0;
                    for (String s : inputs) tokens += tok.encode(s).length;
                    ours[r] = n / 1e6 / ((System.nanoTime() - t0) / 1e9);
                    oursCpu[r] = n / 1e6 / ((CPU.getCurrentThreadCpuTime() - c0) / 1e9);
                    long c1 = CPU.getCurrentThreadCpuTime();
                    long t1 = System.nanoTime();
                    for (String s : inputs) hf.encode(s).getIds();
                    theirs[r] = n / 1e6 / ((System.nanoTime() - t1) / 1e9);
                    theirsCpu[r] = n / 1e6 / ((CPU.getCurrentThreadCpuTime() - c1) / 1e9);
                    long c2 = CPU.getCurrentThreadCpuTime();
                    long t2 = System.nanoTime();
                    for (String s : inputs) {
                        long e = LIB.encode(rawHandle, s, false);
                        LIB.getTokenIds(e);
                        LIB.deleteEncoding(e);
                    }
                    raw[r] = n / 1e6 / ((System.nanoTime() - t2) / 1e9);
                    rawCpu[r] = n / 1e6 / ((CPU.getCurrentThreadCpuTime() - c2) / 1e9);
                    System.err.printf("encode %s: jgpt %.1f MB/s (%.1f per CPU second), HF %.2f MB/s (%.2f per CPU second),"
                            + " HF ids only %.2f MB/s (%.2f per CPU second)%n",
                            mode, ours[r], oursCpu[r], theirs[r], theirsCpu[r], raw[r], rawCpu[r]);
                }
                ObjectNode m = enc.putObject(mode);
                m.put("inputs", inputs.size());
                m.put("bytes", n);
                m.put("tokens", tokens);
                m.put("jgpt_mb_s", round(median(ours)));
                m.put("hf_mb_s", round(median(theirs)));
                m.put("jgpt_over_hf", round(median(ours) / median(theirs)));
                m.put("jgpt_mb_per_cpu_s", round(median(oursCpu)));
                m.put("hf_mb_per_cpu_s", round(median(theirsCpu)));
                m.put("jgpt_over_hf_cpu", round(median(oursCpu) / median(theirsCpu)));
                m.put("hf_ids_only_mb_s", round(median(raw)));
                m.put("hf_ids_only_mb_per_cpu_s", round(median(rawCpu)));
                m.put("jgpt_over_hf_ids_only", round(median(ours) / median(raw)));
                m.put("jgpt_over_hf_ids_only_cpu", round(median(oursCpu) / median(rawCpu)));
            }
            LIB.deleteTokenizer(rawHandle);
        }
        out.put("hf", "ai.djl.huggingface:tokenizers:0.38.0 (HF tokenizers 0.21 native), one encode() call per input;"
                + " hf_ids_only: the same native encoder through DJL's JNI layer, fetching only the ids");
        System.out.println(out);
    }

    private static int[] toInts(long[] ids) {
        return Arrays.stream(ids).mapToInt(x -> (int) x).toArray();
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static double min(double[] a) {
        return Arrays.stream(a).min().orElse(Double.NaN);
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
