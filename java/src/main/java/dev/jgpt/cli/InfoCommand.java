package dev.jgpt.cli;

import dev.jgpt.backend.Backends;
import dev.jgpt.backend.cpu.CpuInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tools.jackson.databind.json.JsonMapper;

/** {@code jgpt info}: Java, the backends usable here (and why the others are not), native libraries, CPU. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the Java runtime, the backends available here (and why others are not), OpenBLAS and the CPU.")
public final class InfoCommand implements Runnable {

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    @Override
    public void run() {
        Map<String, Object> info = collect();
        if (json) {
            System.out.println(JsonMapper.builder().build().writeValueAsString(info));
        } else {
            System.out.print(text(info));
        }
    }

    static Map<String, Object> collect() {
        Map<String, Object> info = new LinkedHashMap<>();
        Map<String, Object> java = new LinkedHashMap<>();
        java.put("version", Runtime.version().toString());
        java.put("vm", System.getProperty("java.vm.name") + " (" + System.getProperty("java.vendor") + ")");
        java.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        java.put("maxHeapMiB", Runtime.getRuntime().maxMemory() >> 20);
        info.put("java", java);
        List<Map<String, Object>> backends = Backends.availability().stream().map(a -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", a.name());
            m.put("available", a.available());
            m.put("reason", a.reason());
            return m;
        }).toList();
        info.put("backends", backends);
        info.put("auto", backends.stream().filter(b -> (Boolean) b.get("available")).findFirst().map(b -> b.get("name")).orElse("none"));
        info.put("native", CpuInfo.nativeLibraries());
        info.put("cpu", CpuInfo.cpu());
        info.put("cuda", dev.jgpt.backend.cuda.CudaProbe.get().toMap());
        // the runtime's own footprint (JVM, native libraries loaded, nothing allocated by jgpt): the
        // baseline under every other command's RSS
        info.put("memory", dev.jgpt.memory.MemoryUsage.now().jsonFields());
        return info;
    }

    @SuppressWarnings("unchecked")
    static String text(Map<String, Object> info) {
        StringBuilder sb = new StringBuilder();
        Map<String, Object> java = (Map<String, Object>) info.get("java");
        sb.append("java      ").append(java.get("version")).append(", ").append(java.get("vm")).append(", ").append(java.get("os")).append('\n');
        sb.append("backends  (--device auto picks ").append(info.get("auto")).append(")\n");
        for (Map<String, Object> b : (List<Map<String, Object>>) info.get("backends")) {
            sb.append(String.format("  %-10s %s  %s%n", b.get("name"), (Boolean) b.get("available") ? "yes" : "no ", b.get("reason")));
        }
        Map<String, Object> nat = (Map<String, Object>) info.get("native");
        if (nat.containsKey("reason")) sb.append("native    unavailable: ").append(nat.get("reason")).append('\n');
        if (nat.get("openblas") instanceof Map<?, ?> ob) {
            sb.append("openblas  ").append(ob.get("config")).append('\n');
            sb.append("          core ").append(ob.get("coreName")).append(" (").append(ob.get("coreChoice")).append("), ")
                    .append(ob.get("parallel")).append(", threads ")
                    .append(ob.get("threads")).append(" of ").append(ob.get("procs")).append('\n');
            sb.append("          ").append(ob.get("path")).append('\n');
        }
        if (nat.get("libjgpt") instanceof Map<?, ?> j) {
            sb.append("libjgpt   ABI ").append(j.get("abiVersion")).append(", OpenMP threads ").append(j.get("ompMaxThreads"))
                    .append(", FMA peak ").append(j.get("fmaPeakGflopsPerCore")).append(" GFLOP/s a core (MFU's denominator)\n");
            sb.append("          ").append(j.get("path")).append('\n');
        }
        Map<String, Object> cpu = (Map<String, Object>) info.get("cpu");
        sb.append("cpu       ").append(cpu.get("model")).append(", ").append(cpu.get("logicalCores")).append(" logical cores\n");
        sb.append("          flags: ").append(String.join(" ", (List<String>) cpu.get("flags"))).append('\n');
        for (String line : dev.jgpt.backend.cuda.CudaProbe.get().describe()) sb.append(line).append('\n');
        // the figures of this moment (the JSON's "memory" was taken before the text was built)
        sb.append("memory    ").append(dev.jgpt.memory.MemoryUsage.now().summary()).append('\n');
        return sb.toString();
    }
}
