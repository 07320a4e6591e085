package dev.jgpt.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jgpt} command line: one binary, picocli subcommands. Errors reach the user as one
 * line naming what went wrong and where ({@link UserErrorHandler}); set {@code JGPT_DEBUG=1} for
 * the stack trace.
 */
@Command(name = "jgpt",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Train small GPT language models from scratch and chat with them.",
        subcommands = {
                CommandLine.HelpCommand.class,
                GenerateCommand.class,
                ChatCommand.class,
                DataCommand.class,
                TokenizerCommand.class,
                InfoCommand.class,
                BenchCommand.class,
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"jgpt " + (v == null ? "dev" : v) + " on Java " + Runtime.version()};
        }
    }
}
