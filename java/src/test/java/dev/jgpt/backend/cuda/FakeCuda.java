package dev.jgpt.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jgpt.bindings.Cublas;
import dev.jgpt.bindings.CudaDriver;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Binds {@link CudaDriver} and {@link Cublas} to {@code src/test/c/fake_cuda.c} (compiled here with
 * {@code cc}): the same C ABI with host memory as "device" memory and sequential C versions of the
 * kernels, so the cuda backend's Java side runs on machines without a GPU. Only where no real GPU is
 * usable (the bindings are bound once per JVM); skipped when there is no C compiler or no fatbin.
 */
public final class FakeCuda {
    private FakeCuda() {}

    private static String unusable;
    private static boolean bound;

    /** Skips the calling test unless the stand-in is (or can be) bound in this JVM. */
    public static synchronized void require() {
        if (!bound && unusable == null) unusable = bind();
        assumeTrue(unusable == null, () -> "skipped: " + unusable);
    }

    /** A cuda backend over the stand-in driver (call {@link #require()} first). */
    public static CudaBackend backend() {
        require();
        return backend(GemmMath.FP32);
    }

    public static CudaBackend backend(GemmMath math) {
        require();
        return new CudaBackend(0, math);
    }

    private static String bind() {
        if (CudaProbe.get().usable()) return "a real GPU is usable here; CudaBackendContractTest covers the backend";
        if (Fatbin.readResource().isEmpty()) return "no kernels.fatbin in this build (no nvcc)";
        Path src = locate("java/src/test/c/fake_cuda.c");
        if (src == null) return "fake_cuda.c not found from " + System.getProperty("user.dir");
        try {
            Path dir = Files.createTempDirectory("jgpt-fakecuda");
            Path lib = dir.resolve("libfakecuda.so");
            Process p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O2", "-o", lib.toString(), src.toString(), "-lm")
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) return "cc failed on fake_cuda.c: " + log;
            SymbolLookup symbols = SymbolLookup.libraryLookup(lib, Arena.global());
            Files.delete(lib); // mapped already; nothing is left behind in the temp folder
            Files.delete(dir);
            CudaDriver.init(symbols);
            Cublas.init(symbols);
            try {
                if (CudaDriver.cuInit(0) != 0) return "the stand-in driver's cuInit failed";
            } catch (UnsatisfiedLinkError alreadyBound) {
                return "the CUDA bindings were already bound to no library in this JVM";
            }
            bound = true;
            return null;
        } catch (IOException e) {
            return "no C compiler (cc) to build the stand-in driver: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static Path locate(String relative) {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path p = d.resolve(relative);
            if (Files.isRegularFile(p)) return p;
            Path q = d.resolve(relative.substring("java/".length()));
            if (Files.isRegularFile(q)) return q;
        }
        return null;
    }
}
