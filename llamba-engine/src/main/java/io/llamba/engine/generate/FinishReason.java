package io.llamba.engine.generate;

/** Why a generation ended. */
public enum FinishReason {
    /** The model produced a stop token (end of turn, end of text, end of message). */
    STOP_TOKEN,
    /** The text reached one of the request's stop strings (not included in the output). */
    STOP_STRING,
    /** The request's max tokens (or the context limit) was reached. */
    LENGTH,
    /** The caller cancelled. */
    CANCELLED,
    /** The request's deadline passed. */
    DEADLINE,
    /** The engine failed while running the request. */
    ERROR;

    /** Whether the model ended on its own terms (a stop token or string). */
    public boolean isStop() {
        return this == STOP_TOKEN || this == STOP_STRING;
    }
}
