import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a made-up llama2.c {@code tokenizer.bin} with VOCAB pieces, so that llama2.c's run.c can
 * decode a random-weight checkpoint (it reads one piece per vocabulary entry before it starts).
 * Piece i is " i" (a space and the decimal id), so run.c's stdout is the list of greedy token ids,
 * which bench/decode-vs-llama2c.sh counts and compares with jgpt's. Scores are 0: nothing is encoded.
 *
 * Layout (run.c's reader): int32 max_token_length, then per piece float32 score, int32 length,
 * the bytes; little endian.
 *
 *   java bench/peers/Llama2cTokenizerFile.java OUT.bin [VOCAB=32000]
 */
public class Llama2cTokenizerFile {
    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: java Llama2cTokenizerFile.java OUT.bin [VOCAB]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        int vocab = args.length > 1 ? Integer.parseInt(args[1]) : 32000;
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        int maxLen = (" " + (vocab - 1)).length();
        ByteBuffer le = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        try (DataOutputStream o = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
            o.write(le.putInt(0, maxLen).array());
            for (int i = 0; i < vocab; i++) {
                byte[] piece = (" " + i).getBytes(StandardCharsets.US_ASCII);
                o.write(le.putFloat(0, 0f).array());
                o.write(le.putInt(0, piece.length).array());
                o.write(piece);
            }
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
