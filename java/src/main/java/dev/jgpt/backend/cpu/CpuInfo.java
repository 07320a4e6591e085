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
@SuppressWarnings("restricted") // reads C strings returned by OpenBLAS
public final class CpuInfo {
    /** Flags worth knowing for the kernels (x86-64-v3 baseline, AVX-512 paths, BF16). */
    static final List<String> FLAGS_OF_INTEREST =
            List.of("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_bf16");

    private CpuInfo() {}

    /** Vendor, family and flags from the first processor of /proc/cpuinfo. */
    public record Cpu(String vendor, int family, String model, Set<String> flags) {}

    /** This machine's CPU, or null where /proc/cpuinfo cannot be read. */
    public static Cpu cpuinfo() {
        try {
            return parse(Files.readAllLines(Path.of("/proc/cpuinfo")));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static Cpu parse(List<String> lines) {
        String vendor = "", model = "unknown";
        int family = -1;
        Set<String> flags = Set.of();
        for (String line : lines) {
            if (line.isBlank()) break; // end of the first processor's block
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String key = line.substring(0, colon).trim(), value = line.substring(colon + 1).trim();
            switch (key) {
                case "vendor_id" -> vendor = value;
                case "cpu family" -> family = Integer.parseInt(value);
                case "model name" -> model = value;
                case "flags" -> flags = Set.of(value.split("\\s+"));
                default -> { }
            }
            if (!flags.isEmpty() && family >= 0 && !vendor.isEmpty() && !model.equals("unknown")) break;
        }
        return new Cpu(vendor, family, model, flags);
    }

    /** CPU model, logical cores and the flags of interest this CPU has. */
    public static Map<String, Object> cpu() {
        Map<String, Object> out = new LinkedHashMap<>();
        Cpu cpu = cpuinfo();
        String model = cpu == null ? "unknown (/proc/cpuinfo unreadable)" : cpu.model();
        Set<String> flags = cpu == null ? Set.of() : cpu.flags();
        out.put("model", model);
        if (cpu != null) {
            out.put("vendor", cpu.vendor());
            out.put("family", cpu.family());
        }
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
            // an inherited OPENBLAS_CORETYPE overrides OpenBLAS's own detection (and can halve sgemm speed)
            String coreType = System.getenv("OPENBLAS_CORETYPE");
            ob.put("coreChoice", coreType != null ? "OPENBLAS_CORETYPE=" + coreType + " from the environment"
                    : "detected by OpenBLAS");
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
            // MFU's denominator in train and bench train-step (MachinePeak): one core's FMAs timed, at the clock it runs
            j.put("fmaPeakGflopsPerCore", Math.round(Jgpt.jgpt_peak_fma_gflops(30) * 10) / 10.0);
            out.put("libjgpt", j);
        }
        return out;
    }
}
