package dev.jgpt.backend.cuda;

import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Dense (no sparsity) peak GFLOP/s of known NVIDIA GPUs per {@link GemmMath}, from NVIDIA's datasheets: the
 * denominator of the MFU that {@code jgpt bench train-step --backend cuda} reports. Unknown GPUs (and
 * variants whose clocks differ, such as NVL cards) give no figure: pass {@code --peak-gflops} there.
 */
public final class GpuPeak {
    private GpuPeak() {}

    /** The peak for a device name as cuDeviceGetName / nvidia-smi spell it, or empty when not known. */
    public static OptionalDouble gflops(String deviceName, GemmMath math) {
        String n = deviceName == null ? "" : deviceName.toUpperCase(Locale.ROOT);
        double[] fp32Tf32Bf16;
        if (n.contains("NVL")) return OptionalDouble.empty();
        if (n.contains("H100") && n.contains("PCIE")) fp32Tf32Bf16 = new double[] {51_200, 378_000, 756_000};
        else if (n.contains("H100") || n.contains("H200")) fp32Tf32Bf16 = new double[] {66_900, 494_700, 989_400}; // SXM
        else if (n.contains("A100")) fp32Tf32Bf16 = new double[] {19_500, 156_000, 312_000};
        else return OptionalDouble.empty();
        return OptionalDouble.of(fp32Tf32Bf16[math.ordinal()]);
    }

    /** The peak of the device the cuda backend opens (device 0), or empty. */
    public static OptionalDouble ofDevice0(GemmMath math) {
        var devices = CudaProbe.get().devices();
        return devices.isEmpty() ? OptionalDouble.empty() : gflops(devices.getFirst().name(), math);
    }
}
