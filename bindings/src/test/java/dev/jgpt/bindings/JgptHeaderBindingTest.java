package dev.jgpt.bindings;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The hand-kept {@link Jgpt} binding must match {@code native/include/jgpt.h} exactly. */
class JgptHeaderBindingTest {

    record CFunction(String name, Class<?> returnType, List<Class<?>> params) {}

    static Path header() {
        Path p = Path.of("..", "native", "include", "jgpt.h");
        if (!Files.exists(p)) p = Path.of("native", "include", "jgpt.h");
        return p;
    }

    /** The declarations {@code JGPT_API <type> <name>(<params>);} of a header, with C types mapped to Java's. */
    static Map<String, CFunction> parse(String text) {
        String noComments = text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
        Pattern decl = Pattern.compile("JGPT_API\\s+([\\w\\s*]+?)\\s*\\b(\\w+)\\s*\\(([^)]*)\\)\\s*;");
        Map<String, CFunction> out = new LinkedHashMap<>();
        Matcher m = decl.matcher(noComments);
        while (m.find()) {
            List<Class<?>> params = new ArrayList<>();
            String ps = m.group(3).trim();
            if (!ps.isEmpty() && !ps.equals("void")) {
                for (String p : ps.split(",")) {
                    String t = p.trim().replaceAll("\\s+", " ");
                    String type = t.substring(0, t.length() - t.replaceAll("^.*?(\\w+)$", "$1").length()).trim();
                    params.add(javaType(type, m.group(2)));
                }
            }
            out.put(m.group(2), new CFunction(m.group(2), javaType(m.group(1).trim(), m.group(2)), params));
        }
        return out;
    }

    static Class<?> javaType(String cType, String where) {
        if (cType.contains("*")) return MemorySegment.class;
        String t = cType.replace("const", "").trim();
        return switch (t) {
            case "void" -> void.class;
            case "int", "int32_t" -> int.class;
            case "long", "int64_t", "size_t" -> long.class;
            case "float" -> float.class;
            case "double" -> double.class;
            default -> throw new AssertionError("jgpt.h: unmapped C type '" + cType + "' in " + where
                    + " (add it to JgptHeaderBindingTest.javaType and to the binding)");
        };
    }

    @Test
    void everyHeaderFunctionHasAMatchingBinding() throws IOException {
        Map<String, CFunction> declared = parse(Files.readString(header()));
        assertThat(declared).as("functions parsed from " + header()).hasSizeGreaterThan(10);
        List<String> problems = new ArrayList<>();
        for (CFunction f : declared.values()) {
            Method bound = Arrays.stream(Jgpt.class.getMethods())
                    .filter(mm -> mm.getName().equals(f.name()) && Modifier.isStatic(mm.getModifiers()))
                    .findFirst().orElse(null);
            if (bound == null) {
                problems.add(f.name() + ": declared in jgpt.h but has no binding in Jgpt");
                continue;
            }
            if (!bound.getReturnType().equals(f.returnType())) {
                problems.add(f.name() + ": returns " + f.returnType() + " in C but " + bound.getReturnType() + " in Jgpt");
            }
            List<Class<?>> javaParams = Arrays.asList(bound.getParameterTypes());
            if (!javaParams.equals(f.params())) {
                problems.add(f.name() + ": parameters " + f.params() + " in C but " + javaParams + " in Jgpt");
            }
        }
        // and nothing bound that the header no longer declares
        for (Method mm : Jgpt.class.getDeclaredMethods()) {
            if (Modifier.isPublic(mm.getModifiers()) && mm.getName().startsWith("jgpt_") && !mm.getName().contains("$")
                    && !declared.containsKey(mm.getName())) {
                problems.add(mm.getName() + ": bound in Jgpt but not declared in jgpt.h");
            }
        }
        assertThat(problems).as("binding vs header").isEmpty();
    }

    @Test
    void abiVersionConstantMatchesHeader() throws IOException {
        Matcher m = Pattern.compile("#define\\s+JGPT_ABI_VERSION\\s+(\\d+)").matcher(Files.readString(header()));
        assertThat(m.find()).isTrue();
        assertThat(Jgpt.JGPT_ABI_VERSION).isEqualTo(Integer.parseInt(m.group(1)));
    }

    @Test
    void parserMapsTypesAndNoticesAMismatch() {
        Map<String, CFunction> f = parse("JGPT_API double jgpt_x(float *a, const int32_t *b,\n int n, long m);");
        assertThat(f.get("jgpt_x").params()).containsExactly(MemorySegment.class, MemorySegment.class, int.class, long.class);
        assertThat(f.get("jgpt_x").returnType()).isEqualTo(double.class);
    }

    @Test
    void callingBeforeInitSaysSo() {
        if (Jgpt.isInitialized()) return;
        org.assertj.core.api.Assertions.assertThatThrownBy(Jgpt::jgpt_abi_version)
                .hasStackTraceContaining("Jgpt.init(SymbolLookup) was not called");
    }
}
