package io.llamba.engine.cuda;

import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StateSnapshot;

/**
 * One sequence's state in a device slot: per layer the conv window and the SSM state, laid out
 * as the kernels read them. Reset is free: a state at position 0 is read as zeros by the next
 * pass, so no memory is cleared.
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

    @Override
    public long bytes() {
        return pool.bytesPerState();
    }

    /** A host copy of a slot (null bytes for the empty state). */
    record Snapshot(LlambaCudaModel model, byte[] data, int position, long bytes) implements StateSnapshot {
    }
}
