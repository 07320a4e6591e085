package dev.jgpt.backend.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Builds CUDA kernel source for the CPU with the host emulation in {@code src/test/c/cuda_host} (every CUDA
 * thread a fiber; barriers and warp shuffles emulated and checked; see its README) into a shared library
 * that exports {@code jg_host_launch}, with {@code cuda_host/build.sh}, and loads it. The library is deleted
 * once mapped, except in a sanitizer build ({@code JG_HOST_SANITIZE}, bench/stand-in-asan.sh), whose reports read it.
 */
final class HostKernels {
    private HostKernels() {}

    /** The folder of the emulation's headers and runtime, found from the working directory, or null. */
    static Path emulationDir() {
        return locate("java/src/test/c/cuda_host/jg_host_runtime.cpp") == null ? null
                : locate("java/src/test/c/cuda_host/jg_host_runtime.cpp").getParent();
    }

    /** The kernels/ folder of this checkout, or null. */
    static Path kernelDir() {
        Path common = locate("kernels/common.cuh");
        return common == null ? null : common.getParent();
    }

    static List<Path> cudaSources(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".cu")).sorted().toList();
        }
    }

    /**
     * Compiles {@code kernels} (.cu files; they may include kernels/common.cuh) with the emulation's runtime
     * and the plain C files {@code cSources} into one library ({@code cuda_host/build.sh}) and loads it.
     *
     * @throws IOException when there is no cc (or bash) to run (callers skip)
     * @throws IllegalStateException with the compiler's output when cc fails on the sources (callers fail:
     *     a kernel the emulation cannot compile must not turn the kernel tests into skips)
     */
    static SymbolLookup compile(List<Path> kernels, List<Path> cSources) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("jgpt-hostkernels");
        Path lib = dir.resolve("libhostkernels.so");
        String sanitizers = System.getenv("JG_HOST_SANITIZE");
        boolean sanitized = sanitizers != null && !sanitizers.isBlank();
        try {
            build(kernels, cSources, lib);
            return SymbolLookup.libraryLookup(lib, Arena.global());
        } finally {
            if (!sanitized) { // a sanitizer's report names kernel source lines only while the library is still there
                Files.deleteIfExists(lib); // mapped already (or never built): nothing is left behind
                Files.deleteIfExists(dir);
            }
        }
    }

    /** As {@link #compile}, into the file {@code lib} (kept: e.g. for a jgpt process started by a test). */
    static void build(List<Path> kernels, List<Path> cSources, Path lib) throws IOException, InterruptedException {
        Path emulation = emulationDir();
        if (emulation == null) {
            throw new IOException("the host emulation (java/src/test/c/cuda_host) not found from " + System.getProperty("user.dir"));
        }
        List<String> cmd = new ArrayList<>(List.of("bash", emulation.resolve("build.sh").toString(), lib.toString()));
        cSources.forEach(c -> cmd.add(c.toString()));
        kernels.forEach(k -> cmd.add(k.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        int rc = p.waitFor();
        if (rc == 3) throw new IOException(log.strip());
        if (rc != 0) throw new IllegalStateException("cuda_host/build.sh failed on the host-compiled kernels: " + log);
    }

    static Path locate(String relative) {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path p = d.resolve(relative);
            if (Files.isRegularFile(p)) return p;
            if (!relative.startsWith("java/")) continue;
            Path q = d.resolve(relative.substring("java/".length())); // from inside java/
            if (Files.isRegularFile(q)) return q;
        }
        return null;
    }
}
