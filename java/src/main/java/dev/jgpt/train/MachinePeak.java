package dev.jgpt.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's FP32 peak, the denominator of MFU: cores x one core's peak. Where libjgpt is built, one core's peak is
 * measured: 30 ms of nothing but independent FMAs on its widest vectors ({@code jgpt_peak_fma_gflops}), at the clock
 * it really runs — a VM's /proc/cpuinfo shows the nominal clock (2.6 GHz on this project's Zen 4 VM, whose cores
 * run FMAs at 3.7 GHz: a nominal peak of 83 GFLOP/s a core against 118 measured, and training logs that read MFU
 * 115%). Without libjgpt it is estimated: the nominal clock x FLOPs per cycle from the vector units: 2 FMA pipes x 8
 * lanes x 2 = 32 for AVX2 (and for AMD's AVX-512 up to Zen 4, which runs on 256-bit pipes), 64 for Intel's AVX-512
 * and AMD Zen 5 (family 26, full 512-bit FMA pipes). Override with {@code JGPT_PEAK_GFLOPS} (per core).
 */
public record MachinePeak(double gflopsPerCore, String how) {

    public double gflops(int threads) {
        return gflopsPerCore * threads;
    }

    private static MachinePeak detected;

    /** The peak, measured (or estimated) once per process. */
    public static synchronized MachinePeak detect() {
        if (detected == null) detected = find();
        return detected;
    }

    private static MachinePeak find() {
        String env = System.getenv("JGPT_PEAK_GFLOPS");
        if (env != null) {
            try {
                return new MachinePeak(Double.parseDouble(env), "JGPT_PEAK_GFLOPS");
            } catch (NumberFormatException ignored) {
                // fall through to detection
            }
        }
        double mhz = 2500;
        String flags = "", vendor = "";
        int family = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("cpu MHz") && mhz == 2500) mhz = Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
                else if (line.startsWith("flags") && flags.isEmpty()) flags = " " + line.substring(line.indexOf(':') + 1) + " ";
                else if (line.startsWith("vendor_id") && vendor.isEmpty()) vendor = line.substring(line.indexOf(':') + 1).trim();
                else if (line.startsWith("cpu family") && family == 0) family = Integer.parseInt(line.substring(line.indexOf(':') + 1).trim());
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: keep the defaults
        }
        int perCycle;
        boolean fullWidthAvx512 = vendor.contains("Intel") || (vendor.contains("AMD") && family >= 26);
        if (flags.contains(" avx512f ") && fullWidthAvx512) perCycle = 64;
        else if (flags.contains(" avx2 ") && flags.contains(" fma ")) perCycle = 32;
        else if (flags.contains(" avx ")) perCycle = 16;
        else perCycle = 8;
        MachinePeak nominal = new MachinePeak(mhz / 1000.0 * perCycle,
                String.format("%.0f MHz x %d FLOP/cycle per core", mhz, perCycle));
        if (!dev.jgpt.backend.cpu.NativeLibraries.status().available()) return nominal;
        double measured = dev.jgpt.bindings.Jgpt.jgpt_peak_fma_gflops(30);
        return measured > 0 ? new MachinePeak(measured, String.format("measured %.1f GFLOP/s of FMAs on one core (nominal %s)",
                measured, nominal.how())) : nominal;
    }

    /** Training FLOPs per token: 6 per parameter plus attention's 12 * L * C * T (PaLM's estimate). */
    public static double trainFlopsPerToken(long params, int layers, int channels, int seqLen) {
        return trainFlopsPerToken(params, 0, layers, channels, seqLen);
    }

    /** {@link #trainFlopsPerToken(long, int, int, int)} with {@code frozen} weights that cost 4 FLOPs a token (no weight gradient). */
    public static double trainFlopsPerToken(long params, long frozen, int layers, int channels, int seqLen) {
        return 6.0 * params + 4.0 * frozen + 12.0 * layers * channels * seqLen;
    }
}
