package dev.jgpt.backend;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.reference.ReferenceBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Picks the backend for {@code --device auto|cuda|cpu|reference}. {@code auto} tries, in order,
 * {@code cuda} → {@code cpu} → {@code reference} and reports why each one before the chosen one
 * was not used, so a slow fallback is never silent.
 */
public final class Backends {
    /** The names {@code --device} accepts. */
    public static final List<String> DEVICES = List.of("auto", "cuda", "cpu", "reference");

    private Backends() {}

    /** The chosen backend and, for every backend tried before it, why it was not used. */
    public record Selection(Backend backend, List<String> notUsed) {
        /** One line for logs: {@code cpu (cuda: libcuda.so.1 not found)}. */
        public String summary() {
            return backend.name() + (notUsed.isEmpty() ? "" : " (" + String.join("; ", notUsed) + ")");
        }
    }

    /** Whether a backend can be used here, and if not, why. */
    public record Availability(String name, boolean available, String reason) {}

    /** Selects a backend; throws {@link JgptException} naming the reason when an explicit one is unusable. */
    public static Selection select(String device) {
        return select(device, "--device");
    }

    /** As {@link #select(String)}, naming the command-line option in errors (e.g. {@code --backend}). */
    public static Selection select(String device, String option) {
        String d = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        List<String> notUsed = new ArrayList<>();
        switch (d) {
            case "auto" -> {
                String cuda = cudaUnavailableReason();
                if (cuda == null) return new Selection(newCuda(), notUsed);
                notUsed.add("cuda: " + cuda);
                String cpu = CpuBackend.unavailableReason();
                if (cpu == null) return new Selection(new CpuBackend(), notUsed);
                notUsed.add("cpu: " + cpu);
                return new Selection(new ReferenceBackend(), notUsed);
            }
            case "cuda" -> {
                String cuda = cudaUnavailableReason();
                if (cuda != null) throw new JgptException(option + " cuda is not usable here: " + cuda);
                return new Selection(newCuda(), notUsed);
            }
            case "cpu" -> {
                String cpu = CpuBackend.unavailableReason();
                if (cpu != null) throw new JgptException(option + " cpu is not usable here: " + cpu);
                return new Selection(new CpuBackend(), notUsed);
            }
            case "reference" -> {
                return new Selection(new ReferenceBackend(), notUsed);
            }
            default -> throw new JgptException(option + ": unknown device '" + device + "', expected one of " + DEVICES);
        }
    }

    /** Every backend with whether it is usable here (for {@code jgpt info}); loads libraries, creates nothing. */
    public static List<Availability> availability() {
        String cuda = cudaUnavailableReason();
        String cpu = CpuBackend.unavailableReason();
        return List.of(
                new Availability("cuda", cuda == null, cuda == null ? "available" : cuda),
                new Availability("cpu", cpu == null, cpu == null ? "available" : cpu),
                new Availability("reference", true, "always available (plain Java, single-threaded, slow)"));
    }

    // ---- CUDA: the cuda helper plugs its backend in here ------------------------------------------

    /** Null when the CUDA backend can run here, else why not (driver, device, fatbin, cuBLAS). */
    static String cudaUnavailableReason() {
        var probe = dev.jgpt.backend.cuda.CudaProbe.get();
        return probe.usable() ? null : probe.reason();
    }

    static Backend newCuda() {
        return dev.jgpt.backend.cuda.CudaBackend.open();
    }

    // ---- precision of the matrix products (--precision) ---------------------------------------------

    /** The names {@code --precision} accepts. */
    public static final List<String> PRECISIONS = List.of("fp32", "tf32", "bf16");

    /**
     * Sets how {@code backend}'s matrix products compute: {@code fp32}, {@code tf32} or {@code bf16} (see
     * {@link dev.jgpt.backend.cuda.GemmMath}). Null or blank leaves the backend as it is (cuda: fp32 unless
     * {@code JGPT_CUDA_MATH} says otherwise). Only the cuda backend has tf32 and bf16; asking another backend
     * for them is a {@link JgptException} naming {@code option}.
     */
    public static void applyPrecision(Backend backend, String precision, String option) {
        if (precision == null || precision.isBlank()) return;
        var math = dev.jgpt.backend.cuda.GemmMath.parse(precision, option);
        if (backend instanceof dev.jgpt.backend.cuda.CudaBackend cuda) {
            cuda.setMath(math);
        } else if (math != dev.jgpt.backend.cuda.GemmMath.FP32) {
            throw new JgptException(option + " " + math.label() + " needs the cuda backend; " + backend.name()
                    + " computes in fp32 only (use " + option + " fp32 or leave it out)");
        }
    }
}
