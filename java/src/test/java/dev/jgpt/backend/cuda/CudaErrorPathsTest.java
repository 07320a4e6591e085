package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CUDA error paths on a real GPU (skipped with the reason elsewhere; run by bench/gpu-check.sh and gpu-quick.sh):
 * <ul>
 *   <li>running out of device memory is one {@link CudaException} saying how much and for what, and the context
 *       stays usable (a later allocation and product work);</li>
 *   <li>a kernel that faults (reads an unmapped device address) is, in a child process ({@link KernelFaultProbe}: a
 *       fault ends the CUDA context for good), one CudaException naming CUDA_ERROR_ILLEGAL_ADDRESS, sticky, whose
 *       message says the context is lost and how to find the kernel; with {@code jgpt.cuda.debug} the launch itself
 *       names the kernel ({@code f32_to_bf16}); every later call in that process fails the same way.</li>
 * </ul>
 * The stand-in driver cannot show these: its kernels run on the host, where a wild pointer is a crash, not an error.
 */
class CudaErrorPathsTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Test
    void outOfMemoryIsOneClearErrorAndTheContextLivesOn() {
        try (CudaBackend cuda = CudaBackend.open()) {
            long tooMuch = 1L << 50; // 1 PiB
            assertThatThrownBy(() -> cuda.context().allocate(tooMuch, "a test's impossible tensor", "ask for less"))
                    .isInstanceOf(CudaException.class)
                    .hasMessage("out of GPU memory allocating " + (tooMuch >> 20) + " MiB for a test's impossible tensor; ask for less")
                    .satisfies(e -> assertThat(((CudaException) e).isSticky()).isFalse());
            try (TensorArena arena = cuda.newArena(); TensorArena host = TensorArena.host()) {
                Tensor a = arena.allocate(DType.F32, 4, 4), b = arena.allocate(DType.F32, 4, 4), c = arena.allocate(DType.F32, 4, 4);
                Tensor ones = host.allocate(DType.F32, 4, 4);
                for (int i = 0; i < 16; i++) ones.setFloat(i, 1f);
                cuda.copy(a, ones);
                cuda.copy(b, ones);
                cuda.matmulForward(c, a, b, null, 4, 4, 4);
                Tensor back = host.allocate(DType.F32, 4, 4);
                cuda.copy(back, c);
                assertThat(back.getFloat(0)).as("a product after the failed allocation").isEqualTo(4f);
            }
        }
    }

    @Test
    void aKernelFaultIsOneStickyErrorThatNamesTheKernelInDebugMode() throws Exception {
        // gpu-check's dry run puts the stand-in driver behind these classes: its kernels run on the host, where the
        // wild read is a segmentation fault of the child, not a CUDA error
        org.junit.jupiter.api.Assumptions.assumeFalse(CudaProbe.get().devices().get(0).name().startsWith("jgpt fake GPU"),
                "the stand-in driver (a dry run): a kernel fault needs a GPU");
        List<String> debug = probe(true);
        assertThat(line(debug, "fault: ")).contains("kernel f32_to_bf16 failed", "CUDA_ERROR_ILLEGAL_ADDRESS",
                "CUDA context is lost", "JGPT_CUDA_DEBUG=1");
        assertThat(line(debug, "sticky: ")).isEqualTo("true");
        assertThat(line(debug, "after: ")).as("the context stays lost").contains("CUDA_ERROR_ILLEGAL_ADDRESS");

        List<String> plain = probe(false);
        assertThat(line(plain, "fault: ")).as("without debug mode the next synchronising call reports it")
                .contains("cuStreamSynchronize failed", "CUDA_ERROR_ILLEGAL_ADDRESS", "JGPT_CUDA_DEBUG=1");
        assertThat(line(plain, "sticky: ")).isEqualTo("true");
    }

    /** Runs {@link KernelFaultProbe} in a new JVM with this one's class path; its output lines. */
    private static List<String> probe(boolean debugMode) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "-Djgpt.cuda.debug=" + debugMode, KernelFaultProbe.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("JGPT_CUDA_DEBUG"); // the property alone says which mode (gpu-check sets the variable)
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the probe finished").isTrue();
        System.out.println("kernel fault probe (debug " + debugMode + "):\n" + out);
        assertThat(p.exitValue()).as(out).isZero();
        return out.lines().toList();
    }

    private static String line(List<String> lines, String prefix) {
        return lines.stream().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + prefix + "' line in " + lines));
    }
}
