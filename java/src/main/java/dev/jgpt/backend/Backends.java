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

    /** Null when the CUDA backend can run here, else why not. TODO(cuda): probe libcuda/cuBLAS/fatbin. */
    static String cudaUnavailableReason() {
        return "the CUDA backend is not part of this build yet";
    }

    /** TODO(cuda): return new dev.jgpt.backend.cuda.CudaBackend(). */
    static Backend newCuda() {
        throw new IllegalStateException("no CUDA backend in this build");
    }
}
