package io.llamba.engine.loadtest;

/** How one load-test request ended. */
public enum Outcome {
    /** The whole reply arrived, ended properly, and matched what was expected. */
    OK(false),
    /** Refused at once with HTTP 429 or 503 (the server is at capacity): allowed. */
    REFUSED(false),
    /** Ended by an explicit error (an HTTP error status, an error event, an error finish reason): allowed. */
    ERROR(false),
    /** Ended without its finish and {@code [DONE]}, by a broken connection, or not within the request timeout. */
    LOST(true),
    /** The text (or the finish reason) differs from the expected reply, or the stream switched completion ids: mixed. */
    MISMATCHED(true),
    /** A completion id seen in an earlier response, or a second finish, a second {@code [DONE]}, content after the finish. */
    DUPLICATED(true),
    /** Not an OpenAI chat completion event stream (bad JSON, wrong content type, missing fields). */
    MALFORMED(true);

    private final boolean failure;

    Outcome(boolean failure) {
        this.failure = failure;
    }

    /** Whether this outcome breaks the service's contract (the load test fails). */
    public boolean isFailure() {
        return failure;
    }
}
