package io.llamba.engine.cli;

/** Wrong command-line usage: the message names the option; the CLI prints it with the command's help. */
public final class UsageException extends IllegalArgumentException {
    public UsageException(String message) {
        super(message);
    }
}
