package io.llamba.engine.model;

/** A model that cannot be loaded or run as asked; the message names the file, field or limit. */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
