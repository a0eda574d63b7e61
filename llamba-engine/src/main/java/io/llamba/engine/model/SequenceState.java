package io.llamba.engine.model;

/**
 * The state of one sequence (for Llamba: the conv window and the SSM state of every layer; for a
 * Transformer such as Llama: the KV cache of the positions seen so far).
 * Owned by exactly one sequence at a time; obtained from a {@link StatePool} of the model that runs it.
 */
public interface SequenceState {
    /** Tokens consumed so far. */
    int position();

    /** Back to the empty state (position 0). */
    void reset();

    /** A host copy of this state, independent of later steps (for prefix caching). */
    StateSnapshot snapshot();

    /** Replaces this state with a snapshot taken from a state of the same model. */
    void restore(StateSnapshot snapshot);

    /** Bytes this state holds. */
    long bytes();

    /**
     * Makes this state a copy of {@code source}, a state of the same model (for instance to start
     * many sequences from one prefilled prompt). The same as {@code restore(source.snapshot())};
     * a backend may copy in place instead of through the host.
     */
    default void copyFrom(SequenceState source) {
        restore(source.snapshot());
    }
}
