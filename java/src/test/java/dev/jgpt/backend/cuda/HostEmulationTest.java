package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The host emulation that runs kernels/ on the CPU in tests (src/test/c/cuda_host) must not pass what a GPU
 * would not: kernels in cuda_host/emulation_selftest.cu break CUDA's rules on purpose (a missing
 * __syncthreads, barriers and shuffles in divergent code, a shuffle from an exited lane) and each must end in
 * an error naming the kernel and the threads, or in a visibly wrong result; one correct kernel must give the
 * right sum. The WMMA stand-in (cuda_host/mma.h): a product of fragments equals the plain product, and a
 * misaligned pointer, a bad ldm, a half warp and code that assumes a fragment layout are caught. The PTX primitives
 * (cuda_host/jg_host_ptx.h): cp.async, ldmatrix (plain and .trans) and mma.sync composed in the documented layouts give
 * the plain product; a copy not waited for has not landed; a misaligned ldmatrix row and a half-warp mma are caught.
 */
class HostEmulationTest {
    private static MethodHandle launch, lastError;

    @BeforeAll
    static void build() throws Throwable {
        SymbolLookup lib;
        try {
            lib = HostKernels.compile(List.of(HostKernels.emulationDir().resolve("emulation_selftest.cu")), List.of());
        } catch (IOException noCompiler) {
            Assumptions.abort("no C/C++ compiler (cc): " + noCompiler.getMessage());
            return;
        }
        Linker linker = Linker.nativeLinker();
        ValueLayout.OfInt u32 = ValueLayout.JAVA_INT;
        launch = linker.downcallHandle(lib.findOrThrow("jg_host_launch"), FunctionDescriptor.of(u32,
                ValueLayout.ADDRESS, u32, u32, u32, u32, u32, u32, u32, ValueLayout.ADDRESS));
        lastError = linker.downcallHandle(lib.findOrThrow("jg_host_last_error"), FunctionDescriptor.of(ValueLayout.ADDRESS));
    }

    /** Launches {@code kernel} on one block of {@code threads} with the given pointer arguments. */
    private static int run(String kernel, int threads, int sharedBytes, MemorySegment... pointers) throws Throwable {
        return run(kernel, 1, threads, sharedBytes, pointers);
    }

    private static int run(String kernel, int blocks, int threads, int sharedBytes, MemorySegment... pointers) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(ValueLayout.ADDRESS, Math.max(1, pointers.length));
            for (int i = 0; i < pointers.length; i++) {
                MemorySegment slot = arena.allocate(ValueLayout.ADDRESS);
                slot.set(ValueLayout.ADDRESS, 0, pointers[i]);
                params.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            return (int) launch.invokeExact(arena.allocateFrom(kernel), blocks, 1, 1, threads, 1, 1, sharedBytes, params);
        }
    }

    private static String error() throws Throwable {
        return ((MemorySegment) lastError.invokeExact()).reinterpret(4096).getString(0);
    }

    private static MemorySegment floats(Arena arena, int n, float value) {
        MemorySegment m = arena.allocate(ValueLayout.JAVA_FLOAT, n);
        for (int i = 0; i < n; i++) m.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
        return m;
    }

    @Test
    void correctBlockReductionSums() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(ValueLayout.JAVA_FLOAT, 256), out = floats(arena, 1, 0);
            for (int i = 0; i < 256; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            assertThat(run("selftest_block_sum", 256, 0, out, in)).isZero();
            assertThat(out.get(ValueLayout.JAVA_FLOAT, 0)).isEqualTo(255 * 256 / 2f);
        }
    }

    @Test
    void missingSyncthreadsGivesWrongValues() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            int n = 128, wrong = 0;
            MemorySegment in = arena.allocate(ValueLayout.JAVA_FLOAT, n), out = floats(arena, n, 0);
            for (int i = 0; i < n; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            for (int launchNo = 0; launchNo < 4; launchNo++) { // warps run in a fresh random order each launch
                assertThat(run("selftest_missing_barrier", n, n * 4, out, in)).isZero();
                for (int i = 0; i < n; i++) if (out.getAtIndex(ValueLayout.JAVA_FLOAT, i) != (i + 32) % n) wrong++;
            }
            assertThat(wrong).as("values read before their warp wrote them (unwritten shared memory is NaN)").isPositive();
        }
    }

    @Test
    void staticSharedMemoryIsUndefinedInEveryBlock() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = floats(arena, 64, 0);
            assertThat(run("selftest_stale_static_shared", 2, 32, 0, out)).isZero();
            for (int i = 0; i < 32; i++) assertThat(out.getAtIndex(ValueLayout.JAVA_FLOAT, i)).isEqualTo(1f);
            for (int i = 32; i < 64; i++) {
                assertThat(out.getAtIndex(ValueLayout.JAVA_FLOAT, i)).as("block 1 reads what block 0 wrote").isNaN();
            }
        }
    }

    @Test
    void syncthreadsInDivergentCodeIsAnError() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            assertThat(run("selftest_divergent_barrier", 64, 0, floats(arena, 64, 0))).isEqualTo(719);
            assertThat(error()).contains("selftest_divergent_barrier", "different __syncthreads", "emulation_selftest.cu:");
        }
    }

    @Test
    void shuffleByHalfAWarpIsAnError() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            assertThat(run("selftest_divergent_shuffle", 64, 0, floats(arena, 64, 0))).isEqualTo(719);
            assertThat(error()).contains("selftest_divergent_shuffle", "divergent warp primitive", "block (0,0,0)");
        }
    }

    @Test
    void warpBarriersInDivergentCodeAreAnError() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            assertThat(run("selftest_divergent_syncwarp", 32, 0, floats(arena, 32, 0))).isEqualTo(719);
            assertThat(error()).contains("selftest_divergent_syncwarp", "different warp primitives", "divergent warp primitive");
        }
    }

    @Test
    void shuffleFromAnExitedLaneIsNaN() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = floats(arena, 32, 0);
            assertThat(run("selftest_shuffle_from_exited_lane", 32, 0, out)).isZero();
            for (int i = 0; i < 16; i++) assertThat(out.getAtIndex(ValueLayout.JAVA_FLOAT, i)).isNaN();
        }
    }

    @Test
    void writingPastTheDynamicSharedMemoryIsAnError() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            assertThat(run("selftest_shared_overrun", 64, 64 * 4, floats(arena, 64, 0))).isEqualTo(719);
            assertThat(error()).contains("selftest_shared_overrun", "outside the launch's 256 bytes of dynamic shared memory");
            assertThat(run("selftest_missing_barrier", 64, 64 * 4, floats(arena, 64, 0), floats(arena, 64, 1))).as("in bounds").isZero();
        }
    }

    // ---- WMMA (mma.h) ---------------------------------------------------------------------------------

    /** bf16 bits of small multiples of 1/8: exact in bf16, so the products and sums below are exact in fp32. */
    private static MemorySegment bf16(Arena arena, float[] values) {
        MemorySegment m = arena.allocate(2L * values.length, 32);
        for (int i = 0; i < values.length; i++) m.setAtIndex(ValueLayout.JAVA_SHORT, i, dev.jgpt.memory.DType.toBf16(values[i]));
        return m;
    }

    /** c + row i of a (16 x 32, row-major) times b's elements b[at(0)], b[at(1)], ...: summed in k order, as the emulation does. */
    private static float rowTimes(float c, float[] a, int i, float[] b, java.util.function.IntUnaryOperator at) {
        float s = c;
        for (int k = 0; k < 32; k++) s += a[i * 32 + k] * b[at.applyAsInt(k)];
        return s;
    }

    @Test
    void wmmaProductEqualsThePlainProduct() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            java.util.Random r = new java.util.Random(2);
            float[] a = new float[16 * 32], b = new float[32 * 16], c = new float[256];
            for (int i = 0; i < a.length; i++) a[i] = (r.nextInt(17) - 8) / 8f;
            for (int i = 0; i < b.length; i++) b[i] = (r.nextInt(17) - 8) / 8f;
            for (int i = 0; i < c.length; i++) c[i] = r.nextInt(9) - 4;
            MemorySegment d = arena.allocate(4L * 512, 32), dc = arena.allocate(4L * 256, 32);
            for (int i = 0; i < 256; i++) dc.setAtIndex(ValueLayout.JAVA_FLOAT, i, c[i]);
            assertThat(run("selftest_wmma_product", 32, 0, d, bf16(arena, a), bf16(arena, b), dc)).isZero();
            for (int i = 0; i < 16; i++) {
                for (int j = 0; j < 16; j++) {
                    int jj = j;
                    float col = rowTimes(c[i * 16 + j], a, i, b, k -> jj * 32 + k); // b as column-major 32x16, ldm 32
                    float row = rowTimes(c[i * 16 + j], a, i, b, k -> k * 16 + jj); // b as row-major 32x16, ldm 16
                    assertThat(d.getAtIndex(ValueLayout.JAVA_FLOAT, i * 16 + j)).as("A B(col) + C at %d,%d", i, j).isEqualTo(col);
                    assertThat(d.getAtIndex(ValueLayout.JAVA_FLOAT, 256 + j * 16 + i)).as("A B(row) + C at %d,%d (stored col-major)", i, j)
                            .isEqualTo(row);
                }
            }
        }
    }

    @Test
    void wmmaMisusesAreErrors() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(4L * 64, 32), a = bf16(arena, new float[16 * 32 + 16]);
            assertThat(run("selftest_wmma_misaligned", 32, 0, d, a)).isEqualTo(719);
            assertThat(error()).contains("selftest_wmma_misaligned", "not 256-bit (32-byte) aligned");
            assertThat(run("selftest_wmma_bad_ldm", 32, 0, d, a)).isEqualTo(719);
            assertThat(error()).contains("selftest_wmma_bad_ldm", "ldm 12 is not a multiple of 8");
            assertThat(run("selftest_wmma_half_warp", 32, 0, d, a)).isEqualTo(719);
            assertThat(error()).contains("selftest_wmma_half_warp", "without every lane of the warp");
            assertThat(run("selftest_wmma_product", 16, 0, d, a, a, d)).as("a 16-thread block: no whole warp").isEqualTo(719);
            assertThat(error()).contains("without every lane of the warp");
        }
    }

    @Test
    void ptxFragmentsInTheDocumentedLayoutsGiveThePlainProduct() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            java.util.Random r = new java.util.Random(3);
            float[] a = new float[16 * 32], bt = new float[16 * 32], bk = new float[32 * 16], c = new float[256];
            for (int i = 0; i < a.length; i++) a[i] = (r.nextInt(17) - 8) / 8f;
            for (int i = 0; i < bt.length; i++) bt[i] = (r.nextInt(17) - 8) / 8f;
            for (int i = 0; i < bk.length; i++) bk[i] = (r.nextInt(17) - 8) / 8f;
            for (int i = 0; i < c.length; i++) c[i] = r.nextInt(9) - 4;
            MemorySegment d = arena.allocate(4L * 512, 32), dc = arena.allocate(4L * 256, 32);
            for (int i = 0; i < 256; i++) dc.setAtIndex(ValueLayout.JAVA_FLOAT, i, c[i]);
            assertThat(run("selftest_ptx_product", 32, 2 * 16 * 40 * 2 + 32 * 24 * 2, d, bf16(arena, a), bf16(arena, bt),
                    bf16(arena, bk), dc)).as(errorOrEmpty()).isZero();
            for (int i = 0; i < 16; i++) {
                for (int j = 0; j < 16; j++) {
                    int jj = j;
                    float xyt = rowTimes(c[i * 16 + j], a, i, bt, k -> jj * 32 + k);
                    float xy = rowTimes(c[i * 16 + j], a, i, bk, k -> k * 16 + jj);
                    assertThat(d.getAtIndex(ValueLayout.JAVA_FLOAT, i * 16 + j)).as("A Bt^T + C at %d,%d", i, j).isEqualTo(xyt);
                    assertThat(d.getAtIndex(ValueLayout.JAVA_FLOAT, 256 + i * 16 + j)).as("A Bk + C at %d,%d (ldmatrix.trans)", i, j)
                            .isEqualTo(xy);
                }
            }
        }
    }

    @Test
    void cpAsyncCopiesLandOnlyWhenWaitedFor() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(4L * 12, 16), out = floats(arena, 12, 0);
            for (int i = 0; i < 12; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, i + 1);
            assertThat(run("selftest_cp_async_groups", 32, 64, out, in)).isZero();
            for (int i = 0; i < 12; i++) {
                float v = out.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                if (i < 4) assertThat(v).as("group 0, waited for").isEqualTo(i + 1);
                else assertThat(v).as("element %d: its group was not waited for", i).isNaN();
            }
        }
    }

    @Test
    void ptxMisusesAreErrors() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(4L * 64, 32), a = bf16(arena, new float[16 * 32]);
            assertThat(run("selftest_ldmatrix_misaligned", 32, 0, d, a)).isEqualTo(719);
            assertThat(error()).contains("selftest_ldmatrix_misaligned", "not 16-byte aligned");
            assertThat(run("selftest_mma_half_warp", 32, 0, d)).isEqualTo(719);
            assertThat(error()).contains("selftest_mma_half_warp", "mma.sync without every lane of the warp");
        }
    }

    private static String errorOrEmpty() throws Throwable {
        return error();
    }

    @Test
    void codeThatAssumesAFragmentLayoutGetsWrongValues() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(4L * 256, 32);
            assertThat(run("selftest_wmma_layout_assumption", 32, 0, d)).isZero();
            int wrong = 0;
            for (int i = 0; i < 256; i++) if (d.getAtIndex(ValueLayout.JAVA_FLOAT, i) != i) wrong++;
            assertThat(wrong).as("elements not where the assumed layout puts them").isGreaterThan(200);
        }
    }

    @Test
    void launchConfigurationsCudaRefusesAreRefused() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = floats(arena, 1, 0), in = floats(arena, 2048, 1);
            assertThat(run("selftest_block_sum", 2048, 0, out, in)).as("2048 threads per block").isEqualTo(1);
            assertThat(run("selftest_block_sum", 64, 300_000, out, in)).as("300 kB shared memory").isEqualTo(1);
            assertThat(run("no_such_kernel", 32, 0, out)).isEqualTo(500);
        }
    }
}
