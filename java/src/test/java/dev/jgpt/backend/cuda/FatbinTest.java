package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * CI check without a GPU: the fatbin the build packaged holds SASS for sm_80 and sm_90a and PTX for
 * compute_90, and every kernel the Java side launches ({@link Kernel}) is in every SASS entry (and in
 * the PTX when it is stored uncompressed). Skipped, with the reason, only when the build had no nvcc.
 */
class FatbinTest {

    static Fatbin packaged() {
        Optional<byte[]> image = Fatbin.readResource();
        Assumptions.assumeTrue(image.isPresent(), Fatbin.RESOURCE + " is not on the classpath: this build had no nvcc, "
                + "so no CUDA kernels were compiled (CI has nvcc and must not skip this)");
        return Fatbin.parse(image.get());
    }

    @Test
    void holdsSm80AndSm90aSassAndCompute90Ptx() {
        Fatbin f = packaged();
        assertThat(f.architectures()).contains("sm_80", "sm_90a", "compute_90");
        assertThat(f.find(Fatbin.Kind.ELF, "sm_80")).isPresent();
        assertThat(f.find(Fatbin.Kind.ELF, "sm_90a")).get().matches(Fatbin.Entry::archSpecific);
        assertThat(f.find(Fatbin.Kind.PTX, "compute_90")).isPresent();
    }

    @Test
    void everyBoundKernelIsInEverySassEntry() {
        Fatbin f = packaged();
        List<String> bound = Arrays.stream(Kernel.values()).map(Kernel::symbol).toList();
        for (Fatbin.Entry e : f.entries()) {
            if (e.kind() == Fatbin.Kind.ELF || !e.compressed()) {
                assertThat(e.kernels()).as(e.archName() + " kernels").containsAll(bound);
            }
        }
    }

    /** The same checks against the kernels/ sources, so a renamed kernel fails even where no fatbin exists. */
    @Test
    void everyBoundKernelIsDefinedExternCInKernelsSources() throws Exception {
        Path dir = Path.of(System.getProperty("user.dir"));
        Path kernels = Files.isDirectory(dir.resolve("kernels")) ? dir.resolve("kernels") : dir.resolve("../kernels").normalize();
        Assumptions.assumeTrue(Files.isDirectory(kernels), "no kernels/ folder in or next to " + dir);
        StringBuilder all = new StringBuilder();
        try (var files = Files.list(kernels)) {
            for (Path p : files.filter(p -> p.toString().endsWith(".cu")).toList()) all.append(Files.readString(p));
        }
        for (Kernel k : Kernel.values()) {
            assertThat(all.toString()).as(k.symbol()).containsPattern(
                    "extern \"C\" __global__ (__launch_bounds__\\([^)]*\\) )?void " + k.symbol() + "\\(");
        }
    }

    @Test
    void rejectsWhatIsNotAFatbin() {
        assertThatThrownBy(() -> Fatbin.parse(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a fatbin");
        byte[] truncated = new byte[16];
        java.nio.ByteBuffer.wrap(truncated).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(Fatbin.MAGIC).putShort((short) 1)
                .putShort((short) 16).putLong(1000);
        assertThatThrownBy(() -> Fatbin.parse(truncated)).hasMessageContaining("truncated");
    }
}
