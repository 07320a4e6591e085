package dev.jgpt.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CpuInfoTest {
    @Test
    void parsesTheFirstProcessorOfProcCpuinfo() {
        CpuInfo.Cpu cpu = CpuInfo.parse(List.of(
                "processor\t: 0", "vendor_id\t: AuthenticAMD", "cpu family\t: 26", "model name\t: AMD EPYC",
                "flags\t\t: fpu avx2 fma avx512f avx512_bf16", "", "processor\t: 1", "vendor_id\t: Other"));
        assertThat(cpu.vendor()).isEqualTo("AuthenticAMD");
        assertThat(cpu.family()).isEqualTo(26);
        assertThat(cpu.model()).isEqualTo("AMD EPYC");
        assertThat(cpu.flags()).contains("avx2", "avx512f", "avx512_bf16");
    }

    @Test
    void reportsOnlyTheFlagsOfInterestThatExist() {
        @SuppressWarnings("unchecked")
        List<String> flags = (List<String>) CpuInfo.cpu().get("flags");
        assertThat(CpuInfo.FLAGS_OF_INTEREST).containsAll(flags);
    }
}
