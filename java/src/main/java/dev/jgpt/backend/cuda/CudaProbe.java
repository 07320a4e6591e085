package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Answers "can the cuda backend run here, and if not why": driver library, cuInit, driver version,
 * devices, the fatbin in the jar, cuBLAS. Checked once per process; {@code jgpt info} prints it and
 * {@code --device auto} uses {@link #reason()} for its one-line fallback message.
 */
public record CudaProbe(boolean usable, String reason, int driverVersion, List<Device> devices,
                        Optional<Fatbin> fatbin, String cublasLibrary) {

    /** Kernels are built by CUDA 13.0: the driver must run PTX ISA 9.0 (R580+). */
    public static final int MIN_DRIVER_VERSION = 13000;

    public record Device(int ordinal, String name, int ccMajor, int ccMinor, long totalMemoryBytes,
                         int multiprocessors) {
        public String computeCapability() {
            return ccMajor + "." + ccMinor;
        }
    }

    private static CudaProbe cached;

    public static synchronized CudaProbe get() {
        if (cached == null) cached = run();
        return cached;
    }

    /** {@code 13.0} from {@code 13000}. */
    public static String versionString(int v) {
        return v <= 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }

    private static CudaProbe run() {
        Optional<Fatbin> fatbin;
        try {
            fatbin = Fatbin.readResource().map(Fatbin::parse);
        } catch (RuntimeException e) {
            fatbin = Optional.empty();
        }
        var drv = CudaLibraries.driver();
        if (!drv.ok()) return new CudaProbe(false, drv.reason(), 0, List.of(), fatbin, "");
        int version;
        List<Device> devices = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            int rc = CudaDriver.cuInit(0);
            if (rc == CudaDriver.CUDA_ERROR_NO_DEVICE) return new CudaProbe(false, "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)", 0, List.of(), fatbin, "");
            if (rc == CudaDriver.CUDA_ERROR_STUB_LIBRARY) return new CudaProbe(false, "libcuda.so.1 is the toolkit's stub, not a driver (CUDA_ERROR_STUB_LIBRARY)", 0, List.of(), fatbin, "");
            if (rc != 0) return new CudaProbe(false, "cuInit failed: " + CudaException.describe(rc), 0, List.of(), fatbin, "");
            MemorySegment i = a.allocate(ValueLayout.JAVA_INT);
            CudaException.check(CudaDriver.cuDriverGetVersion(i), "cuDriverGetVersion");
            version = i.get(ValueLayout.JAVA_INT, 0);
            CudaException.check(CudaDriver.cuDeviceGetCount(i), "cuDeviceGetCount");
            int count = i.get(ValueLayout.JAVA_INT, 0);
            MemorySegment name = a.allocate(256);
            MemorySegment bytes = a.allocate(ValueLayout.JAVA_LONG);
            for (int d = 0; d < count; d++) {
                CudaException.check(CudaDriver.cuDeviceGet(i, d), "cuDeviceGet");
                int dev = i.get(ValueLayout.JAVA_INT, 0);
                CudaException.check(CudaDriver.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
                CudaException.check(CudaDriver.cuDeviceTotalMem_v2(bytes, dev), "cuDeviceTotalMem");
                devices.add(new Device(d, name.getString(0),
                        attribute(i, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev),
                        attribute(i, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev),
                        bytes.get(ValueLayout.JAVA_LONG, 0),
                        attribute(i, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev)));
            }
        } catch (CudaException e) {
            return new CudaProbe(false, e.getMessage(), 0, List.of(), fatbin, "");
        }
        if (devices.isEmpty()) return new CudaProbe(false, "no CUDA device", version, devices, fatbin, "");
        if (version < MIN_DRIVER_VERSION) {
            return new CudaProbe(false, "the NVIDIA driver supports CUDA " + versionString(version)
                    + "; jgpt's kernels need CUDA " + versionString(MIN_DRIVER_VERSION) + " (driver R580 or newer)",
                    version, devices, fatbin, "");
        }
        if (fatbin.isEmpty()) {
            return new CudaProbe(false, "this jgpt build has no CUDA kernels (" + Fatbin.RESOURCE
                    + " missing: nvcc was not found when it was built)", version, devices, fatbin, "");
        }
        var cublas = CudaLibraries.cublas();
        if (!cublas.ok()) return new CudaProbe(false, cublas.reason(), version, devices, fatbin, "");
        Device d0 = devices.getFirst();
        if (d0.ccMajor() < 8) {
            return new CudaProbe(false, d0.name() + " has compute capability " + d0.computeCapability()
                    + "; jgpt's kernels are built for 8.0 and newer", version, devices, fatbin, cublas.path().get());
        }
        return new CudaProbe(true, "", version, devices, fatbin, cublas.path().get());
    }

    private static int attribute(MemorySegment out, int attr, int dev) {
        CudaException.check(CudaDriver.cuDeviceGetAttribute(out, attr, dev), "cuDeviceGetAttribute(" + attr + ")");
        return out.get(ValueLayout.JAVA_INT, 0);
    }

    /** For {@code jgpt info --json}: usable, reason, driver, devices, cuBLAS, the fatbin's architectures. */
    public java.util.Map<String, Object> toMap() {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("usable", usable);
        m.put("reason", reason);
        m.put("driverCudaVersion", versionString(driverVersion));
        m.put("devices", devices.stream().map(d -> {
            var dm = new java.util.LinkedHashMap<String, Object>();
            dm.put("ordinal", d.ordinal());
            dm.put("name", d.name());
            dm.put("computeCapability", d.computeCapability());
            dm.put("multiprocessors", d.multiprocessors());
            dm.put("memoryBytes", d.totalMemoryBytes());
            return dm;
        }).toList());
        m.put("cublas", cublasLibrary);
        m.put("fatbin", fatbin.map(f -> (Object) java.util.Map.of("bytes", f.byteSize(), "architectures", f.architectures()))
                .orElse("none in this build (no nvcc)"));
        return m;
    }

    /** Human-readable lines for {@code jgpt info}. */
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        lines.add("cuda: " + (usable ? "usable" : "unavailable: " + reason));
        if (driverVersion > 0) lines.add("  driver supports CUDA " + versionString(driverVersion));
        for (Device d : devices) {
            lines.add(String.format("  device %d: %s, compute capability %s, %d SMs, %.1f GiB", d.ordinal(), d.name(),
                    d.computeCapability(), d.multiprocessors(), d.totalMemoryBytes() / (double) (1L << 30)));
        }
        if (!cublasLibrary.isEmpty()) lines.add("  cuBLAS: " + cublasLibrary);
        lines.add("  kernels: " + fatbin.map(f -> String.join(", ", f.architectures()) + " (" + f.byteSize() + " bytes)")
                .orElse("none in this build (no nvcc)"));
        return lines;
    }
}
