package dev.jgpt.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's FP32 peak, the denominator of MFU: cores x clock x FLOPs per cycle. FLOPs per
 * cycle per core come from the vector units: 2 FMA pipes x 8 lanes x 2 = 32 for AVX2 (and for AMD's
 * AVX-512 up to Zen 4, which runs on 256-bit pipes), 64 for Intel's AVX-512 and AMD Zen 5 (family 26,
 * full 512-bit FMA pipes; one Zen 5 core here ran OpenBLAS sgemm at 215 GFLOP/s). The clock is the
 * nominal one of /proc/cpuinfo, so boost clocks can still read as MFU a little above the truth.
 * Override with {@code JGPT_PEAK_GFLOPS} (per core) where the guess is wrong.
 */
public record MachinePeak(double gflopsPerCore, String how) {

    public double gflops(int threads) {
        return gflopsPerCore * threads;
    }

    public static MachinePeak detect() {
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
        return new MachinePeak(mhz / 1000.0 * perCycle,
                String.format("%.0f MHz x %d FLOP/cycle per core", mhz, perCycle));
    }

    /** Training FLOPs per token: 6 per parameter plus attention's 12 * L * C * T (PaLM's estimate). */
    public static double trainFlopsPerToken(long params, int layers, int channels, int seqLen) {
        return 6.0 * params + 12.0 * layers * channels * seqLen;
    }
}
