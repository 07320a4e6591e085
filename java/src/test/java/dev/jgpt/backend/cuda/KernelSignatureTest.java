package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The argument list {@link Kernel} declares for each kernel (and that every launch is checked against)
 * is the C parameter list in kernels/*.cu. A kernel parameter changed on one side only would otherwise
 * give wrong numbers on the GPU, with no error anywhere.
 */
class KernelSignatureTest {
    private static final Pattern KERNEL = Pattern.compile(
            "extern \"C\" __global__ (?:__launch_bounds__\\([^)]*\\) )?void (\\w+)\\(([^)]*)\\)");

    static Map<String, String> sourceSignatures() throws Exception {
        Path dir = Path.of(System.getProperty("user.dir"));
        Path kernels = Files.isDirectory(dir.resolve("kernels")) ? dir.resolve("kernels") : dir.resolve("../kernels").normalize();
        Assumptions.assumeTrue(Files.isDirectory(kernels), "no kernels/ folder in or next to " + dir);
        Map<String, String> out = new HashMap<>();
        try (var files = Files.list(kernels)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".cu")).toList()) {
                Matcher m = KERNEL.matcher(Files.readString(p));
                while (m.find()) out.put(m.group(1), encode(m.group(1), m.group(2)));
            }
        }
        return out;
    }

    static String encode(String kernel, String params) {
        StringBuilder sig = new StringBuilder();
        for (String raw : params.split(",")) {
            String p = raw.replaceAll("\\s+", " ").trim();
            if (p.contains("*")) sig.append('p');
            else if (p.startsWith("long long ") || p.startsWith("const long long ")) sig.append('l');
            else if (p.startsWith("int ") || p.startsWith("const int ")) sig.append('i');
            else if (p.startsWith("float ") || p.startsWith("const float ")) sig.append('f');
            else if (p.matches("(const )?jg_\\w+ \\w+")) sig.append('s'); // one of the kernels' own structs, by value
            else throw new AssertionError(kernel + ": parameter type not understood: " + p);
        }
        return sig.toString();
    }

    @Test
    void everyKernelDeclaresItsCParameterList() throws Exception {
        Map<String, String> source = sourceSignatures();
        for (Kernel k : Kernel.values()) {
            assertThat(source).as("kernels/*.cu defines " + k.symbol()).containsKey(k.symbol());
            assertThat(k.signature()).as(k.symbol() + " parameters").isEqualTo(source.get(k.symbol()));
        }
    }

    @Test
    void theEncoderUnderstandsEveryParameterKind() {
        assertThat(encode("k", "float* a, const int* b, long long n, int c, float d, const jg_rows r")).isEqualTo("pplifs");
    }
}
