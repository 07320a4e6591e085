import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Inputs for comparing jgpt's training with llm.c's train_gpt2.c on GPT-2 124M's exact shape
 * (bench/train-vs-llmc.sh): speed does not depend on the text, so no GPT-2 tokenizer or corpus is
 * needed, only GPT-2's vocabulary size.
 *
 *  - OUT/tokenizer.json: a made-up byte-level BPE tokenizer with exactly 50,257 tokens like GPT-2's
 *    (the 256 byte tokens in GPT-2's order, 50,000 merges of two byte tokens, <|endoftext|> = 50256),
 *    so that `jgpt train --preset gpt2` builds a model with llm.c's V = 50257 (padded 50304).
 *  - OUT/shards/train_000000.bin and val_000000.bin: llm.c token shards (256 x int32 header: magic
 *    20240520, version 1, count; uint16 tokens) holding random ids below 50257 that repeat with a
 *    period of PERIOD tokens (default 256 = llm.c's B*T = 4*64). train_gpt2.c reads B*T+1 tokens from
 *    a multiple of B*T (shuffled for training), so every batch it reads is the same batch; jgpt's
 *    `eval --batch 4 --seq 64` reads the same windows in file order. Same weights must then give the
 *    same loss in both.
 *
 *   java bench/peers/LlmcInputs.java OUT [PERIOD=256] [PERIODS=64] [SEED=11]
 */
public class LlmcInputs {
    static final int VOCAB = 50257, EOT = 50256, MERGES = 50000;

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: java LlmcInputs.java OUT [PERIOD] [PERIODS] [SEED]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        int period = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int periods = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 11;
        Files.createDirectories(out.resolve("shards"));
        writeAtomically(out.resolve("tokenizer.json"), tokenizerJson().getBytes(StandardCharsets.UTF_8));
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] cycle = new int[period];
        for (int i = 0; i < period; i++) cycle[i] = rnd.nextInt(VOCAB);
        int count = period * periods + 1; // + 1: the last window's final target
        ByteBuffer b = ByteBuffer.allocate(1024 + 2 * count).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 20240520).putInt(4, 1).putInt(8, count);
        for (int i = 0; i < count; i++) b.putShort(1024 + 2 * i, (short) cycle[i % period]);
        for (String split : new String[] {"train", "val"}) {
            writeAtomically(out.resolve("shards").resolve(split + "_000000.bin"), b.array());
        }
    }

    /** GPT-2's byte-to-character map (printable bytes stand for themselves, the rest move past 255). */
    static List<String> byteChars() {
        List<Integer> bs = new ArrayList<>();
        for (int c = '!'; c <= '~'; c++) bs.add(c);
        for (int c = 0xA1; c <= 0xAC; c++) bs.add(c);
        for (int c = 0xAE; c <= 0xFF; c++) bs.add(c);
        List<String> chars = new ArrayList<>();
        for (int c : bs) chars.add(new String(Character.toChars(c)));
        int n = 0;
        for (int c = 0; c < 256; c++) if (!bs.contains(c)) chars.add(new String(Character.toChars(256 + n++)));
        return chars; // chars.get(id) is the piece of byte token id (GPT-2's vocab order)
    }

    static String tokenizerJson() {
        List<String> ch = byteChars();
        StringBuilder vocab = new StringBuilder(), merges = new StringBuilder();
        for (int i = 0; i < 256; i++) vocab.append(i == 0 ? "" : ",").append(str(ch.get(i))).append(':').append(i);
        for (int m = 0; m < MERGES; m++) {
            String a = ch.get(m / 256), c = ch.get(m % 256);
            vocab.append(',').append(str(a + c)).append(':').append(256 + m);
            merges.append(m == 0 ? "" : ",").append(str(a + " " + c));
        }
        return """
            {"version":"1.0","truncation":null,"padding":null,
             "added_tokens":[{"id":%d,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
             "normalizer":null,
             "pre_tokenizer":{"type":"Sequence","pretokenizers":[
               {"type":"Split","pattern":{"Regex":"'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+| ?[^\\\\s\\\\p{L}\\\\p{N}]+|\\\\s+(?!\\\\S)|\\\\s+"},"behavior":"Isolated","invert":false},
               {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]},
             "post_processor":null,
             "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
             "model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,
                      "fuse_unk":false,"byte_fallback":false,"ignore_merges":false,
                      "vocab":{%s,"<|endoftext|>":%d},
                      "merges":[%s]}}
            """.formatted(EOT, vocab, EOT, merges);
    }

    static String str(String s) { // JSON string; the pieces have no quote, backslash or control chars
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static void writeAtomically(Path p, byte[] bytes) throws IOException {
        Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
        try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(tmp))) {
            o.write(bytes);
        }
        Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
