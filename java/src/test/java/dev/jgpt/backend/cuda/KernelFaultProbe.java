package dev.jgpt.backend.cuda;

/**
 * A child process for {@link CudaErrorPathsTest}: a kernel fault ends the CUDA context for good, so it is provoked
 * here, not in the test JVM. Launches {@code f32_to_bf16} reading from an unmapped device address, then tries a
 * plain copy, and prints one line per outcome ({@code fault: <message>}, {@code sticky: <bool>},
 * {@code after: <message or ok>}). With {@code -Djgpt.cuda.debug=true} the launch itself synchronises and names the
 * kernel; without it the fault surfaces at the next synchronising call.
 */
public final class KernelFaultProbe {
    private KernelFaultProbe() {}

    public static void main(String[] args) {
        CudaBackend cuda = CudaBackend.open();
        long n = 1 << 20;
        long out = cuda.context().allocate(n * 2, "probe output", "none");
        long wild = 0x10L; // the null page: mapped in no address space (below mmap_min_addr even with HMM)
        try {
            cuda.context().kernel(Kernel.F32_TO_BF16, (n + 255) / 256, 256).ptr(out).ptr(wild).i64(n).go();
            cuda.context().synchronize();
            System.out.println("fault: none");
        } catch (CudaException e) {
            System.out.println("fault: " + e.getMessage());
            System.out.println("sticky: " + e.isSticky());
        }
        try {
            cuda.context().synchronize();
            System.out.println("after: ok");
        } catch (CudaException e) {
            System.out.println("after: " + e.getMessage());
        }
        System.out.flush();
        // no close(): freeing in a lost context fails; the process exit releases everything
        Runtime.getRuntime().halt(0);
    }
}
