package dev.jgpt.backend;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link TimingBackend} must forward every op of the contract, default methods included: an op it does not
 * override runs the interface's default on the wrapper, so a backend's own (fused) version would silently
 * not run while profiling (as happened to residualLayernormForward).
 */
class TimingBackendTest {
    @Test
    void overridesEveryBackendMethod() throws Exception {
        List<String> missing = new ArrayList<>();
        for (Method m : Backend.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) continue;
            Method impl = TimingBackend.class.getMethod(m.getName(), m.getParameterTypes());
            if (impl.getDeclaringClass() != TimingBackend.class) missing.add(m.getName());
        }
        assertThat(missing).as("Backend methods TimingBackend leaves to the interface").isEmpty();
    }
}
