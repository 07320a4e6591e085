package dev.jgpt.data;

import dev.jgpt.JgptException;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenShardsTest {
    @TempDir Path dir;

    private Path shard(String name, int vocab, int from, int count) {
        Path p = dir.resolve(name);
        try (ShardWriter w = new ShardWriter(p, vocab)) {
            for (int i = 0; i < count; i++) w.write((from + i) % vocab);
            w.commit();
        }
        return p;
    }

    @Test
    void writesLlmcLayout() throws IOException {
        Path p = shard("train_000000.bin", 50257, 0, 10);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.capacity()).isEqualTo(1024 + 20);
        assertThat(b.getInt(0)).isEqualTo(20240520);
        assertThat(b.getInt(4)).isEqualTo(1);
        assertThat(b.getInt(8)).isEqualTo(10);
        assertThat(b.getInt(12)).isZero();
        assertThat(Short.toUnsignedInt(b.getShort(1024 + 2 * 7))).isEqualTo(7);
        assertThat(Files.list(dir).toList()).containsExactly(p); // no temp file left behind
    }

    @Test
    void bigVocabularyUsesUint32() throws IOException {
        Path p = shard("train_000000.bin", 100_000, 70_000, 5);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(4)).isEqualTo(2);
        assertThat(b.capacity()).isEqualTo(1024 + 20);
        try (TokenShards s = TokenShards.open(List.of(p), 1); TensorArena a = TensorArena.host()) {
            Tensor in = a.allocate(DType.I32, 1, 4), tg = a.allocate(DType.I32, 1, 4);
            assertThat(s.nextEvalBatch(1, 4, in, tg)).isTrue();
            assertThat(in.getInt(0)).isEqualTo(70_000);
            assertThat(tg.getInt(3)).isEqualTo(70_004);
        }
    }

    @Test
    void uncommittedWriterLeavesNothing() throws IOException {
        Path p = dir.resolve("x.bin");
        try (ShardWriter w = new ShardWriter(p, 10)) {
            w.write(3);
        }
        assertThat(Files.list(dir).toList()).isEmpty();
        try (ShardWriter w = new ShardWriter(p, 10)) {
            assertThatThrownBy(() -> w.write(10)).isInstanceOf(JgptException.class).hasMessageContaining("outside the vocabulary");
        }
    }

    @Test
    void randomBatchesAreWindowsWithShiftedTargetsAndResumeExactly() {
        Path a = shard("train_000000.bin", 1000, 0, 300);
        Path b = shard("train_000001.bin", 1000, 500, 50);
        int B = 4, T = 16;
        try (TokenShards s = TokenShards.open(List.of(a, b), 42); TensorArena ar = TensorArena.host()) {
            assertThat(s.tokenCount()).isEqualTo(350);
            Tensor in = ar.allocate(DType.I32, B, T), tg = ar.allocate(DType.I32, B, T);
            for (int step = 0; step < 20; step++) {
                s.nextBatch(B, T, in, tg);
                for (int r = 0; r < B; r++) {
                    int first = in.getInt((long) r * T);
                    for (int t = 0; t < T; t++) {
                        // tokens are consecutive within a shard, so a window is first, first+1, ...
                        assertThat(in.getInt((long) r * T + t)).isEqualTo(first + t);
                        assertThat(tg.getInt((long) r * T + t)).isEqualTo(first + t + 1);
                    }
                    // never across the shard boundary: shard a holds 0..299, shard b 500..549
                    assertThat(first + T).satisfiesAnyOf(v -> assertThat(v).isLessThanOrEqualTo(299),
                            v -> assertThat(v).isBetween(500, 549));
                }
            }
            TokenShards.State st = s.state();
            s.nextBatch(B, T, in, tg);
            int[] expected = toArray(in);
            s.restore(st);
            s.nextBatch(B, T, in, tg);
            assertThat(toArray(in)).containsExactly(expected);
            try (TokenShards fresh = TokenShards.open(List.of(a, b), 0)) {
                fresh.restore(st);
                fresh.nextBatch(B, T, in, tg);
                assertThat(toArray(in)).containsExactly(expected);
            }
            s.randomBatch(new SplittableRandom(1), B, T, in, tg);
            assertThat(tg.getInt(0)).isEqualTo(in.getInt(0) + 1);
        }
    }

    @Test
    void randomStartsCoverTheWholeRange() {
        Path a = shard("train_000000.bin", 1000, 0, 40);
        int T = 8;
        boolean[] seen = new boolean[40];
        try (TokenShards s = TokenShards.open(List.of(a), 7); TensorArena ar = TensorArena.host()) {
            Tensor in = ar.allocate(DType.I32, 1, T), tg = ar.allocate(DType.I32, 1, T);
            for (int i = 0; i < 2000; i++) {
                s.nextBatch(1, T, in, tg);
                seen[in.getInt(0)] = true;
            }
        }
        for (int i = 0; i < 40; i++) assertThat(seen[i]).as("start " + i).isEqualTo(i <= 40 - T - 1);
    }

    @Test
    void shardsTooShortForAWindowAreSkipped() {
        Path a = shard("train_000000.bin", 1000, 0, 12);
        Path b = shard("train_000001.bin", 1000, 300, 5);   // shorter than T+1: never drawn
        Path c = shard("train_000002.bin", 1000, 600, 12);
        int T = 8;
        java.util.Set<Integer> firsts = new java.util.TreeSet<>();
        try (TokenShards s = TokenShards.open(List.of(a, b, c), 3); TensorArena ar = TensorArena.host()) {
            assertThat(s.windowStarts(T)).isEqualTo(8);
            Tensor in = ar.allocate(DType.I32, 2, T), tg = ar.allocate(DType.I32, 2, T);
            for (int i = 0; i < 500; i++) {
                s.nextBatch(2, T, in, tg);
                firsts.add(in.getInt(0));
                firsts.add(in.getInt(T));
            }
        }
        assertThat(firsts).containsExactly(0, 1, 2, 3, 600, 601, 602, 603);
    }

    @Test
    void evalWalksShardsInOrder() {
        Path a = shard("val_000000.bin", 1000, 0, 33);
        Path b = shard("val_000001.bin", 1000, 100, 20);
        int B = 2, T = 8;
        try (TokenShards s = TokenShards.open(dir, "val", 0); TensorArena ar = TensorArena.host()) {
            assertThat(s.files()).containsExactly(a.toAbsolutePath(), b.toAbsolutePath());
            assertThat(s.evalBatches(B, T)).isEqualTo(2 + 1);
            Tensor in = ar.allocate(DType.I32, B, T), tg = ar.allocate(DType.I32, B, T);
            int[] firsts = new int[3];
            for (int i = 0; i < 3; i++) {
                assertThat(s.nextEvalBatch(B, T, in, tg)).isTrue();
                firsts[i] = in.getInt(0);
                assertThat(in.getInt(T)).isEqualTo(firsts[i] + T);
                assertThat(tg.getInt(2 * T - 1)).isEqualTo(firsts[i] + 2 * T);
            }
            assertThat(firsts).containsExactly(0, 16, 100);
            assertThat(s.nextEvalBatch(B, T, in, tg)).isFalse();
            s.resetEval();
            assertThat(s.nextEvalBatch(B, T, in, tg)).isTrue();
            assertThat(in.getInt(0)).isZero();
        }
    }

    @Test
    void badShardsGiveOneClearError() throws IOException {
        Path good = shard("train_000000.bin", 1000, 0, 10);
        Path truncated = dir.resolve("t.bin");
        Files.copy(good, truncated);
        try (RandomAccessFile f = new RandomAccessFile(truncated.toFile(), "rw")) {
            f.setLength(f.length() - 1);
        }
        assertThatThrownBy(() -> TokenShards.open(List.of(truncated), 0)).isInstanceOf(JgptException.class)
                .hasMessageContaining("t.bin").hasMessageContaining("header says 10 tokens");
        Path magic = dir.resolve("m.bin");
        byte[] bytes = Files.readAllBytes(good);
        bytes[0] = 1;
        Files.write(magic, bytes);
        assertThatThrownBy(() -> TokenShards.open(List.of(magic), 0)).isInstanceOf(JgptException.class)
                .hasMessageContaining("m.bin").hasMessageContaining("magic");
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[10]);
        assertThatThrownBy(() -> TokenShards.open(List.of(tiny), 0)).isInstanceOf(JgptException.class)
                .hasMessageContaining("tiny.bin");
        assertThatThrownBy(() -> TokenShards.open(List.of(dir.resolve("none.bin")), 0))
                .isInstanceOf(JgptException.class).hasMessageContaining("none.bin");
        try (TokenShards s = TokenShards.open(List.of(good), 0); TensorArena ar = TensorArena.host()) {
            Tensor in = ar.allocate(DType.I32, 1, 16), tg = ar.allocate(DType.I32, 1, 16);
            assertThatThrownBy(() -> s.nextBatch(1, 16, in, tg)).isInstanceOf(JgptException.class)
                    .hasMessageContaining("17 tokens");
        }
    }

    @Test
    void checksVocabularyAndManifestAgreement() throws IOException {
        Path a = shard("train_000000.bin", 1000, 0, 600);
        try (TokenShards s = TokenShards.open(List.of(a), 0)) {
            s.checkVocabulary(1000);
            assertThatThrownBy(() -> s.checkVocabulary(500)).isInstanceOf(JgptException.class)
                    .hasMessageContaining("train_000000.bin").hasMessageContaining("token 500");
        }
        new ShardManifest(ShardManifest.FORMAT, 1, new ShardManifest.TokenizerInfo("t.json", "x", 1000, 999), 1,
                java.util.Map.of("train", new ShardManifest.Split(700, 1, List.of(new ShardManifest.Shard("train_000000.bin", 700, "x")))),
                List.of(), List.of(), "now").write(dir.resolve("manifest.json"));
        assertThatThrownBy(() -> TokenShards.open(dir, "train", 0)).isInstanceOf(JgptException.class)
                .hasMessageContaining("different runs");
        assertThatThrownBy(() -> TokenShards.open(dir, "val", 0)).isInstanceOf(JgptException.class)
                .hasMessageContaining("no split named 'val'");
    }

    private static int[] toArray(Tensor t) {
        int[] out = new int[(int) t.numel()];
        for (int i = 0; i < out.length; i++) out[i] = t.getInt(i);
        return out;
    }
}
