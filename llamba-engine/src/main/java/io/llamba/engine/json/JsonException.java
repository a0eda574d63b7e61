package io.llamba.engine.json;

/** Malformed JSON, or JSON whose content does not have the expected shape; the message says where. */
public final class JsonException extends IllegalArgumentException {
    public JsonException(String message) {
        super(message);
    }
}
