package io.llamba.engine.generate;

/**
 * Receives a generation as it happens. Called on the engine's thread: return quickly (hand the
 * text to a queue or a reactive sink), never block. Exactly one of {@link #onComplete} and
 * {@link #onError} ends every request that was accepted.
 */
public interface GenerationListener {
    /** New text; concatenated deltas are the result's text. Never splits a character. */
    default void onDelta(String text) {
    }

    /** The request ended (for any reason but an engine failure; see {@link GenerationResult#finishReason()}). */
    default void onComplete(GenerationResult result) {
    }

    /** The engine failed while running the request. */
    default void onError(Throwable error) {
    }

    GenerationListener NONE = new GenerationListener() {
    };
}
