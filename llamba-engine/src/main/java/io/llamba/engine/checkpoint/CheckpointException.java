package io.llamba.engine.checkpoint;

/** A checkpoint that cannot be used: the message names the file, tensor or field and what is wrong. */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
