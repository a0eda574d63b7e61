package io.llamba.engine.cuda;

import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StateSnapshot;

/**
 * One sequence's state in a device slot, laid out as its model's kernels read it (Llamba: per layer
 * the conv window and the SSM state; Llama: the KV cache, position by position). Reset is free: a
 * state at position 0 is read as empty by the next pass, so no memory is cleared.
 */
final class CudaState implements SequenceState {
    final CudaStatePool pool;
    final int slot;
    int position;
    boolean leased;

    CudaState(CudaStatePool pool, int slot) {
        this.pool = pool;
        this.slot = slot;
    }

    /** The device address of this slot. */
    long address() {
        return pool.slotAddress(slot);
    }

    @Override
    public int position() {
        return position;
    }

    @Override
    public void reset() {
        position = 0;
    }

    @Override
    public StateSnapshot snapshot() {
        return pool.snapshot(this);
    }

    @Override
    public void restore(StateSnapshot snapshot) {
        pool.restore(this, snapshot);
    }

    /** A device-to-device copy when {@code source} is a state of the same model; otherwise through a snapshot. */
    @Override
    public void copyFrom(SequenceState source) {
        if (source instanceof CudaState s && s.pool.model() == pool.model()) {
            pool.copy(s, this);
        } else {
            SequenceState.super.copyFrom(source);
        }
    }

    @Override
    public long bytes() {
        return pool.bytesPerState();
    }

    /**
     * A host copy of the part of a slot in use (null chunks for the empty state), in chunks of at
     * most {@link CudaStatePool#CHUNK_BYTES} (a Java array holds under 2 GiB).
     */
    record Snapshot(CudaModel model, byte[][] data, int position, long bytes) implements StateSnapshot {
    }
}
