package dev.jgpt.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class BackendsTest {

    @Test
    void autoPrefersCpuOverReferenceAndSaysWhyNotCuda() {
        try (Backend b = Backends.select("auto").backend()) {
            String expected = CpuBackend.unavailableReason() == null ? "cpu" : "reference";
            assertThat(b.name()).isEqualTo(expected);
        }
        Backends.Selection s = Backends.select("auto");
        assertThat(s.notUsed()).anySatisfy(r -> assertThat(r).startsWith("cuda: "));
        s.backend().close();
    }

    @Test
    void explicitReference() {
        Backends.Selection s = Backends.select("reference");
        assertThat(s.backend().name()).isEqualTo("reference");
        assertThat(s.notUsed()).isEmpty();
    }

    @Test
    void unknownDeviceListsTheChoices() {
        assertThatThrownBy(() -> Backends.select("tpu")).isInstanceOf(JgptException.class)
                .hasMessageContaining("tpu").hasMessageContaining("auto").hasMessageContaining("reference");
    }

    @Test
    void cudaNotHereIsAClearError() {
        assertThatThrownBy(() -> Backends.select("cuda")).isInstanceOf(JgptException.class)
                .hasMessageContaining("--device cuda");
    }

    @Test
    void availabilityListsAllThree() {
        assertThat(Backends.availability()).extracting(Backends.Availability::name)
                .containsExactly("cuda", "cpu", "reference");
    }
}
