package io.llamba.spring.autoconfigure;

import org.jspecify.annotations.Nullable;

/** The configured model could not be loaded; the message says which file or field is wrong. */
public class LlambaModelLoadException extends RuntimeException {
    private final @Nullable String model;

    public LlambaModelLoadException(@Nullable String model, String message, @Nullable Throwable cause) {
        super(message, cause);
        this.model = model;
    }

    /** The model as configured (a directory), or null when none was. */
    public @Nullable String model() {
        return model;
    }
}
