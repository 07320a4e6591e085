package dev.jgpt.backend.cpu;

import dev.jgpt.bindings.Cblas;
import dev.jgpt.bindings.Jgpt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What {@code jgpt info} shows about the CPU and the native libraries. */
public final class CpuInfo {
    /** Flags worth knowing for the kernels (x86-64-v3 baseline, AVX-512 paths, BF16). */
    static final List<String> FLAGS_OF_INTEREST =
            List.of("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_bf16");

    private CpuInfo() {}

    /** CPU model, logical cores and the flags of interest this CPU has. */
    public static Map<String, Object> cpu() {
        Map<String, Object> out = new LinkedHashMap<>();
        String model = "unknown";
        Set<String> flags = Set.of();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") && model.equals("unknown")) model = line.substring(line.indexOf(':') + 1).trim();
                if (line.startsWith("flags") && flags.isEmpty()) flags = Set.of(line.substring(line.indexOf(':') + 1).trim().split("\\s+"));
            }
        } catch (IOException | RuntimeException e) {
            model = "unknown (" + e.getMessage() + ")";
        }
        out.put("model", model);
        out.put("logicalCores", Runtime.getRuntime().availableProcessors());
        List<String> have = new ArrayList<>();
        for (String f : FLAGS_OF_INTEREST) if (flags.contains(f)) have.add(f);
        out.put("flags", have);
        return out;
    }

    /** OpenBLAS and libjgpt: paths, versions, threads; or why they are not loaded. */
    public static Map<String, Object> nativeLibraries() {
        Map<String, Object> out = new LinkedHashMap<>();
        NativeLibraries.Status s = NativeLibraries.status();
        out.put("available", s.available());
        if (!s.available()) out.put("reason", s.reason());
        if (s.openblasPath() != null) {
            Map<String, Object> ob = new LinkedHashMap<>();
            ob.put("path", s.openblasPath());
            ob.put("config", Cblas.openblas_get_config().reinterpret(1024).getString(0).trim());
            ob.put("coreName", Cblas.openblas_get_corename().reinterpret(256).getString(0).trim());
            ob.put("threads", Cblas.openblas_get_num_threads());
            ob.put("procs", Cblas.openblas_get_num_procs());
            int par = Cblas.openblas_get_parallel();
            ob.put("parallel", par == 0 ? "sequential" : par == 1 ? "pthreads" : par == 2 ? "openmp" : "unknown " + par);
            out.put("openblas", ob);
        }
        if (s.libjgptPath() != null) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("path", s.libjgptPath());
            j.put("abiVersion", Jgpt.jgpt_abi_version());
            j.put("ompMaxThreads", Jgpt.jgpt_get_max_threads());
            out.put("libjgpt", j);
        }
        return out;
    }
}
