package dev.jgpt.backend.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Builds CUDA kernel source for the CPU with the host emulation in {@code src/test/c/cuda_host} (every CUDA
 * thread a fiber; barriers and warp shuffles emulated and checked; see its README) into a shared library
 * that exports {@code jg_host_launch}, and loads it. The library and its generated source are deleted once
 * mapped.
 */
final class HostKernels {
    private HostKernels() {}

    private static final Pattern KERNEL = Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+(?:__launch_bounds__\\([^)]*\\)\\s+)?void\\s+(\\w+)\\s*\\(");

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
     * and the plain C files {@code cSources} into one library and loads it.
     *
     * @throws IOException when there is no cc to run (callers skip)
     * @throws IllegalStateException with the compiler's output when cc fails on the sources (callers fail:
     *     a kernel the emulation cannot compile must not turn the kernel tests into skips)
     */
    static SymbolLookup compile(List<Path> kernels, List<Path> cSources) throws IOException, InterruptedException {
        Path emulation = emulationDir(), kernelDir = kernelDir();
        if (emulation == null || kernelDir == null) {
            throw new IOException("the host emulation (java/src/test/c/cuda_host) or kernels/ not found from "
                    + System.getProperty("user.dir"));
        }
        Path dir = Files.createTempDirectory("jgpt-hostkernels");
        Path unit = dir.resolve("kernels_host.cpp");
        Path lib = dir.resolve("libhostkernels.so");
        try {
            Files.writeString(unit, translationUnit(kernels));
            List<String> cmd = new ArrayList<>(List.of("cc", "-shared", "-fPIC", "-O3", "-march=native",
                    // the kernels' extern "C" names must bind inside this library, not to a same-named symbol
                    "-Wl,-Bsymbolic", "-o", lib.toString(), "-I", emulation.toString(), "-I", kernelDir.toString()));
            if (!cSources.isEmpty()) {
                cmd.addAll(List.of("-x", "c"));
                cSources.forEach(c -> cmd.add(c.toString()));
            }
            cmd.addAll(List.of("-x", "c++", unit.toString(), emulation.resolve("jg_host_runtime.cpp").toString(),
                    "-lstdc++", "-lm"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) throw new IllegalStateException("cc failed on the host-compiled kernels: " + log);
            return SymbolLookup.libraryLookup(lib, Arena.global());
        } finally {
            Files.deleteIfExists(lib); // mapped already (or never built): nothing is left behind
            Files.deleteIfExists(unit);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * One C++ translation unit holding the given .cu files (as nvcc sees kernels/ in kernels_all.cu) and the
     * table of their kernels' names for jg_host_runtime.cpp, found in the source: a kernel added to kernels/ is
     * emulated without a list to keep.
     */
    static String translationUnit(List<Path> kernels) throws IOException {
        StringBuilder units = new StringBuilder("#include <cuda_runtime.h>\n");
        StringBuilder table = new StringBuilder("#include \"jg_host_table.h\"\nJG_HOST_TABLE_BEGIN\n");
        for (Path cu : kernels) {
            units.append("#include \"").append(cu.toAbsolutePath()).append("\"\n");
            Matcher m = KERNEL.matcher(Files.readString(cu));
            while (m.find()) table.append("    JG_HOST_KERNEL(").append(m.group(1)).append("),\n");
        }
        return units.append(table).append("JG_HOST_TABLE_END\n").toString();
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
