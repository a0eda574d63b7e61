package io.llamba.engine.generate;

/** A request the engine refuses as given; {@link #field()} names the offending input. */
public class InvalidRequestException extends IllegalArgumentException {
    private final String field;

    public InvalidRequestException(String field, String message) {
        super(message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
