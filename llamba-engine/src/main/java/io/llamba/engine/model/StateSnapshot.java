package io.llamba.engine.model;

/** A frozen copy of a {@link SequenceState}, on the host; immutable and shareable. */
public interface StateSnapshot {
    int position();

    long bytes();
}
