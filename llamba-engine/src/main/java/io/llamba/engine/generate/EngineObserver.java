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

    /**
     * An admitted request's prompt was looked up in the state cache: {@code cachedTokens} of its
     * {@code promptTokens} were restored from a snapshot (0: a miss). Only while the cache is on.
     */
    default void cacheLookup(int promptTokens, int cachedTokens) {
    }

    /** The number of state slots in use changed (requests admitted or slots freed). */
    default void stateSlots(int inUse, int capacity) {
    }

    EngineObserver NONE = new EngineObserver() {
    };
}
