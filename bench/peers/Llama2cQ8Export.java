import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Converts a llama2.c version-0 (float32) checkpoint into llama2.c's version-2 int8 file, the one
 * runq.c reads (llama2.c writes it with `export.py --version 2`, which needs PyTorch; this does the
 * same from the .bin). Written from the layout runq.c reads:
 *
 *   256-byte header: uint32 magic 0x616b3432 ("ak42"), int32 version 2, 7 x int32 config (dim,
 *   hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), uint8 shared classifier,
 *   int32 group size, zero padding; then float32 rms_att (L,dim), rms_ffn (L,dim), rms_final (dim);
 *   then int8 tensors, each as its int8 values followed by one float32 scale per group of GS:
 *   token embedding, wq[L], wk[L], wv[L], wo[L], w1[L], w2[L], w3[L], and wcls if not shared.
 *
 * Quantization (symmetric, per group): scale = max|w| / 127, q = round(w / scale). The group size is
 * 64, halved until it divides dim (as export.py does): 32 for stories15M (dim 288), 64 for 110M.
 *
 *   java bench/peers/Llama2cQ8Export.java IN.bin OUT.bin     # prints the group size used
 */
public class Llama2cQ8Export {
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: java Llama2cQ8Export.java IN.bin OUT.bin");
            System.exit(2);
        }
        Path in = Path.of(args[0]), out = Path.of(args[1]);
        try (FileChannel ch = FileChannel.open(in, StandardOpenOption.READ)) {
            ByteBuffer all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            int dim = all.getInt(0), hidden = all.getInt(4), layers = all.getInt(8), heads = all.getInt(12),
                kvHeads = all.getInt(16), vocabSigned = all.getInt(20), seq = all.getInt(24);
            boolean shared = vocabSigned > 0;
            int vocab = Math.abs(vocabSigned), headSize = dim / heads, kvDim = kvHeads * headSize;
            int gs = 64;
            while (dim % gs != 0) gs /= 2;
            FloatBuffer f = all.position(28).slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            long o = 0;
            long emb = o; o += (long) vocab * dim;
            long rmsAtt = o; o += (long) layers * dim;
            long wq = o; o += (long) layers * dim * dim;
            long wk = o; o += (long) layers * dim * kvDim;
            long wv = o; o += (long) layers * dim * kvDim;
            long wo = o; o += (long) layers * dim * dim;
            long rmsFfn = o; o += (long) layers * dim;
            long w1 = o; o += (long) layers * dim * hidden;
            long w2 = o; o += (long) layers * hidden * dim;
            long w3 = o; o += (long) layers * dim * hidden;
            long rmsFinal = o; o += dim;
            o += (long) seq * headSize; // freq_cis_real and freq_cis_imag (seq_len * head_size / 2 each)
            long wcls = shared ? emb : o;
            if (!shared) o += (long) vocab * dim;
            if (28 + 4 * o != ch.size()) {
                throw new IllegalArgumentException(in + ": " + ch.size() + " bytes, the header's shape needs " + (28 + 4 * o));
            }
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                ByteBuffer h = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
                h.putInt(0x616b3432).putInt(2).putInt(dim).putInt(hidden).putInt(layers).putInt(heads).putInt(kvHeads)
                 .putInt(vocab).putInt(seq).put((byte) (shared ? 1 : 0)).putInt(gs);
                os.write(h.array());
                writeFloats(os, f, rmsAtt, (long) layers * dim);
                writeFloats(os, f, rmsFfn, (long) layers * dim);
                writeFloats(os, f, rmsFinal, dim);
                quantize(os, f, emb, (long) vocab * dim, gs);
                long[][] perLayer = {{wq, (long) dim * dim}, {wk, (long) dim * kvDim}, {wv, (long) dim * kvDim},
                        {wo, (long) dim * dim}, {w1, (long) dim * hidden}, {w2, (long) hidden * dim}, {w3, (long) dim * hidden}};
                for (long[] t : perLayer) {
                    for (int l = 0; l < layers; l++) quantize(os, f, t[0] + l * t[1], t[1], gs);
                }
                if (!shared) quantize(os, f, wcls, (long) vocab * dim, gs);
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            System.out.println(gs);
        }
    }

    static void writeFloats(OutputStream os, FloatBuffer f, long at, long n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) (4 * n)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) b.putFloat(f.get((int) (at + i)));
        os.write(b.array());
    }

    /** One tensor of n floats at `at`: n int8 values, then n / gs float32 scales. */
    static void quantize(OutputStream os, FloatBuffer f, long at, long n, int gs) throws IOException {
        byte[] q = new byte[(int) n];
        ByteBuffer s = ByteBuffer.allocate((int) (4 * (n / gs))).order(ByteOrder.LITTLE_ENDIAN);
        for (long g = 0; g < n / gs; g++) {
            float max = 0;
            for (int i = 0; i < gs; i++) max = Math.max(max, Math.abs(f.get((int) (at + g * gs + i))));
            float scale = max / 127f;
            for (int i = 0; i < gs; i++) {
                float v = f.get((int) (at + g * gs + i));
                q[(int) (g * gs + i)] = (byte) (scale == 0 ? 0 : Math.rint(v / scale)); // half to even, as torch.round in export.py
            }
            s.putFloat(scale);
        }
        os.write(q);
        os.write(s.array());
    }
}
