package io.llamba.engine.tokenizer;

/** A tokenizer file that cannot be used; the message starts with the file and says what is wrong. */
public final class TokenizerFormatException extends IllegalArgumentException {
    public TokenizerFormatException(String message) {
        super(message);
    }

    public TokenizerFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
