package dev.jgpt.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code jgpt bench ...}: speed measurements that print figures (and one JSON object with --json). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure speed: matrix products, attention, a training step, Llama decoding.",
        subcommands = {BenchGemmCommand.class, BenchAttentionCommand.class, BenchTrainStepCommand.class, BenchDecodeCommand.class,
                BenchDecodeGpt2Command.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }
}
