package io.llamba.engine.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code java --add-modules jdk.incubator.vector -jar llamba-engine.jar COMMAND [options]}. */
public final class Main {
    /** Option names that take no value, across all commands. */
    static final Set<String> FLAGS = Set.of("help", "all-positions", "allow-special", "raw", "quiet", "skip-concurrency",
            "skip-conversation", "verbose", "no-max-batch", "profile");

    private static List<Command> commands() {
        return List.of(new GenerateCommand(), new LogitsCommand(), new PullCommand(), new TokenizeCommand(), new RandomModelCommand(),
                new BenchTokenizerCommand(), new BenchCommand(), new QuantQualityCommand(), new BenchServingCommand(), new LoadTestCommand(),
                new EvalDemoCommand(), new HeadToHeadCommand(), new BenchGpuCommand());
    }

    public static void main(String[] args) {
        // Warnings (a download retried, a fallback tokenizer) as one plain line on stderr.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        }
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, System.getenv());
    }

    /** Runs with the given environment variables in place of the process's (for tests). */
    public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
        Map<String, Command> byName = new LinkedHashMap<>();
        for (Command c : commands()) {
            byName.put(c.name(), c);
        }
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            out.println(overview(byName));
            return args.length == 0 ? 2 : 0;
        }
        Command cmd = byName.get(args[0]);
        if (cmd == null) {
            err.println("llamba: unknown command '" + args[0] + "'");
            err.println(overview(byName));
            return 2;
        }
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        try {
            Options options = Options.parse(rest, FLAGS).withEnvironment(env);
            if (options.flag("help")) {
                out.println(cmd.help());
                return 0;
            }
            return cmd.run(options, out, err);
        } catch (UsageException e) {
            err.println("llamba " + cmd.name() + ": " + e.getMessage());
            err.println();
            err.println(cmd.help());
            return 2;
        } catch (Exception e) {
            // Engine errors carry messages meant for users (file, tensor, field); print them, not a trace.
            err.println("llamba " + cmd.name() + ": " + messageOf(e));
            if (System.getenv("LLAMBA_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    static String messageOf(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static String overview(Map<String, Command> byName) {
        StringBuilder sb = new StringBuilder();
        sb.append("Usage: java --add-modules jdk.incubator.vector -jar llamba-engine.jar COMMAND [options]\n\n");
        sb.append("Commands:\n");
        for (Command c : byName.values()) {
            sb.append(String.format("  %-16s %s%n", c.name(), c.summary()));
        }
        sb.append("\nRun a command with --help for its options.");
        return sb.toString();
    }
}
