package io.llamba.engine.generate;

/**
 * Hooks for metrics; called on the engine thread, so implementations must be quick (counters,
 * timers). All methods default to nothing.
 */
public interface EngineObserver {
    /** A request got a state slot after waiting {@code queueNanos}. */
    default void admitted(long queueNanos) {
    }

    /** A request produced its first token, {@code nanos} after submission. */
    default void firstToken(long nanos) {
    }

    /** A request produced a further token, {@code nanos} after its previous one. */
    default void interToken(long nanos) {
    }

    /** An engine step ran {@code tokens} tokens of {@code sequences} sequences in {@code nanos}. */
    default void step(int sequences, int tokens, long nanos) {
    }

    /** A request ended. */
    default void finished(GenerationResult result) {
    }

    /** A request was refused because the queue was full. */
    default void rejected() {
    }

    EngineObserver NONE = new EngineObserver() {
    };
}
