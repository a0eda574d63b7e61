package io.llamba.engine.cli;

import java.io.PrintStream;

/** One subcommand of the {@code llamba-engine.jar} command line. */
public interface Command {
    /** The word after the jar: {@code generate}, {@code logits}, ... */
    String name();

    /** One line for the command list. */
    String summary();

    /** The {@code --help} text: usage line and every option. */
    String help();

    /** Runs with parsed options; returns the process exit code. Bad usage throws {@link UsageException}. */
    int run(Options options, PrintStream out, PrintStream err) throws Exception;
}
