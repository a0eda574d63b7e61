package io.llamba.engine.model;

import java.util.Optional;

/**
 * Fixed-size state slots for the sequences a model runs at once. Sized up front from a capacity, so
 * the memory a server commits to is known and reported; acquiring past it fails fast, never blocks.
 */
public interface StatePool extends AutoCloseable {
    int capacity();

    int inUse();

    long bytesPerState();

    /** A reset state, or empty when every slot is taken. */
    Optional<SequenceState> tryAcquire();

    /** Gives a state back; it must come from this pool. */
    void release(SequenceState state);

    @Override
    void close();
}
