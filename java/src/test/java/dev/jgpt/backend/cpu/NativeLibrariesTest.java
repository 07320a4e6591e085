package dev.jgpt.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLibrariesTest {

    @Test
    void missingOpenBlasFileIsNamedInTheReason() {
        NativeLibraries.Status s = NativeLibraries.load(Map.of("JGPT_OPENBLAS", "/nonexistent/libopenblas.so.0"));
        assertThat(s.available()).isFalse();
        assertThat(s.reason()).contains("OpenBLAS").contains("/nonexistent/libopenblas.so.0");
    }

    @Test
    void aFileThatIsNotALibraryGivesTheLoadersReason(@TempDir Path dir) throws IOException {
        Path bogus = Files.writeString(dir.resolve("libopenblas.so.0"), "not an ELF file");
        NativeLibraries.Status s = NativeLibraries.load(Map.of("JGPT_OPENBLAS", bogus.toString()));
        assertThat(s.available()).isFalse();
        assertThat(s.reason()).startsWith("OpenBLAS (libopenblas.so.0) could not be loaded").contains(bogus.toString());
    }

    @Test
    void aBadLibjgptIsNamed(@TempDir Path dir) throws IOException {
        Path bogus = Files.writeString(dir.resolve("libjgpt.so"), "garbage");
        NativeLibraries.Status s = NativeLibraries.load(Map.of("JGPT_LIBJGPT", bogus.toString()));
        assertThat(s.available()).isFalse();
        assertThat(s.reason()).startsWith("libjgpt.so could not be loaded").contains(bogus.toString());
    }

    @Test
    void extractionIsAtomicWhenProcessesRace(@TempDir Path dir) throws Exception {
        URL url = NativeLibraries.class.getClassLoader()
                .getResource(NativeLibraries.OPENBLAS_RESOURCE_DIR + "libquadmath.so.0");
        assertThat(url).isNotNull();
        long size = NativeLibraries.crcAndSize(url)[1];
        Path target = dir.resolve("libquadmath.so.0");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Path>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) futures.add(pool.submit((Callable<Path>) () -> NativeLibraries.extract(url, target)));
            for (Future<Path> f : futures) assertThat(f.get()).isEqualTo(target);
        } finally {
            pool.shutdown();
        }
        assertThat(Files.size(target)).isEqualTo(size);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("libquadmath.so.0"); // no temp left
        }
    }

    @Test
    void cacheDirectoryNameFollowsTheContent() {
        URL url = NativeLibraries.class.getClassLoader()
                .getResource(NativeLibraries.OPENBLAS_RESOURCE_DIR + "libopenblas.so.0");
        assertThat(NativeLibraries.cacheDirFor("openblas", url).getFileName().toString()).matches("openblas-[0-9a-f]{8}-\\d+");
    }
}
