import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * Copies a llama2.c checkpoint whose classifier is tied to the token embedding (vocab_size > 0 in
 * the header) and gives it its own random classifier (vocab_size negated, a (vocab, dim) float32
 * matrix appended, N(0, 0.02) from a fixed seed).
 *
 * Why: with random weights and a tied classifier, greedy decoding from BOS (id 1) predicts id 1
 * again at every step (the residual stream stays close to the input token's own embedding), and
 * llama2.c's run.c stops as soon as it samples BOS. An untied random classifier costs the same per
 * token (the same vocab x dim matrix-vector product) but gives varied greedy tokens, so run.c
 * decodes the full length. jgpt reads both forms.
 *
 *   java bench/peers/UntiedClassifier.java IN.bin OUT.bin [SEED=7]
 */
public class UntiedClassifier {
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: java UntiedClassifier.java IN.bin OUT.bin [SEED]");
            System.exit(2);
        }
        Path in = Path.of(args[0]), out = Path.of(args[1]);
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 7;
        ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(in, StandardOpenOption.READ)) {
            ch.read(header, 0);
        }
        int dim = header.getInt(0), vocab = header.getInt(20);
        if (vocab <= 0) throw new IllegalArgumentException(in + ": classifier is already untied (vocab_size " + vocab + ")");
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            header.putInt(20, -vocab);
            o.write(header.array());
            try (var src = Files.newInputStream(in)) {
                src.skipNBytes(28);
                src.transferTo(o);
            }
            SplittableRandom rnd = new SplittableRandom(seed);
            ByteBuffer row = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int v = 0; v < vocab; v++) {
                row.clear();
                for (int i = 0; i < dim; i++) row.putFloat((float) (0.02 * gaussian(rnd)));
                o.write(row.array());
            }
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static double gaussian(SplittableRandom r) { // Box-Muller, one value per call
        double u = 1.0 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
