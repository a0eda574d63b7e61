package io.llamba.engine.model;

import java.util.Optional;

/**
 * State slots for the sequences a model runs at once. Sized up front from a capacity (and, for a
 * state that grows with the context, the context limit), so the most memory a server commits to is
 * known and reported; acquiring past it fails fast, never blocks.
 */
public interface StatePool extends AutoCloseable {
    int capacity();

    int inUse();

    /** Bytes of one slot's state at its largest (for a KV cache: at the pool's context limit). */
    long bytesPerState();

    /**
     * Memory that more states of this model could still take now, where the backend keeps them
     * outside the Java heap (a GPU's free memory); -1 where states live on the heap.
     */
    default long availableBytes() {
        return -1;
    }

    /** A reset state, or empty when every slot is taken. */
    Optional<SequenceState> tryAcquire();

    /** Gives a state back; it must come from this pool. */
    void release(SequenceState state);

    @Override
    void close();
}
