package dev.jgpt.model;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ParameterLayoutTest {

    @Test
    void viewsAreContiguousInLlmCOrder() {
        GptConfig c = new GptConfig(50, 16, 2, 2, 8);
        ParameterLayout layout = ParameterLayout.of(c);
        assertThat(layout.views().stream().map(ParameterLayout.View::name).toList()).isEqualTo(List.of(
                "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
                "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"));
        long next = 0;
        for (ParameterLayout.View v : layout.views()) {
            assertThat(v.offset()).as(v.name()).isEqualTo(next);
            next += v.numel();
        }
        assertThat(next).isEqualTo(layout.size()).isEqualTo(c.parameterCount());
        assertThat(layout.view("qkvw").shape()).containsExactly(2, 24, 8);
        assertThat(layout.view("fcprojw").layerShape()).containsExactly(8, 32);
    }

    @Test
    void huggingFaceNamesTranspositionAndDecay() {
        ParameterLayout layout = ParameterLayout.of(new GptConfig(50, 16, 2, 2, 8));
        assertThat(layout.view("wte").hfName(0)).isEqualTo("transformer.wte.weight");
        assertThat(layout.view("qkvw").hfName(1)).isEqualTo("transformer.h.1.attn.c_attn.weight");
        assertThat(layout.view("fcprojb").hfName(0)).isEqualTo("transformer.h.0.mlp.c_proj.bias");
        assertThat(layout.view("lnfw").hfName(3)).isEqualTo("transformer.ln_f.weight");
        assertThat(layout.views().stream().filter(ParameterLayout.View::hfTransposed).map(ParameterLayout.View::name))
                .containsExactly("qkvw", "attprojw", "fcw", "fcprojw");
        assertThat(layout.view("fcw").hfShape()).containsExactly(8, 32);      // (C, 4C): Conv1D's (in, out)
        assertThat(layout.view("fcprojw").hfShape()).containsExactly(32, 8);
        assertThat(layout.view("qkvb").hfShape()).containsExactly(24);
        assertThat(layout.view("wpe").hfShape()).containsExactly(16, 8);
        assertThat(layout.views().stream().filter(ParameterLayout.View::weightDecay).map(ParameterLayout.View::name))
                .containsExactly("wte", "qkvw", "attprojw", "fcw", "fcprojw");
    }

    @Test
    void boundViewsAddressTheFlatBuffer() {
        GptConfig c = new GptConfig(5, 4, 2, 1, 2);
        ParameterLayout layout = ParameterLayout.of(c);
        try (TensorArena arena = TensorArena.host()) {
            var flat = arena.allocate(DType.F32, layout.size());
            ParameterTensors p = layout.bind(flat);
            p.qkvw(1).setFloat(0, 7f);
            long expected = layout.view("qkvw").offset() + 3L * 2 * 2; // layer 1 starts after one (3C, C) slice
            assertThat(flat.getFloat(expected)).isEqualTo(7f);
            p.lnfb().setFloat(1, 9f);
            assertThat(flat.getFloat(layout.size() - 1)).isEqualTo(9f);
        }
    }
}
