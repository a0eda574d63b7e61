package io.llamba.engine.cuda;

import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;

import java.util.ArrayDeque;
import java.util.Optional;

/**
 * Device state slots, allocated together up front: {@code capacity} sequences of
 * {@link LlambaCudaModel#stateBytes()} each, whatever their context length.
 */
final class CudaStatePool implements StatePool {
    private final LlambaCudaModel model;
    private final int capacity;
    private final long slotBytes;
    private final DeviceBuffer memory;
    private final ArrayDeque<CudaState> free = new ArrayDeque<>();
    private int inUse;
    private boolean closed;

    CudaStatePool(LlambaCudaModel model, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("state pool capacity must be at least 1, got " + capacity);
        }
        this.model = model;
        this.capacity = capacity;
        this.slotBytes = model.stateBytes();
        try {
            this.memory = model.device().allocate(slotBytes * capacity, "a state pool of " + capacity + " sequences ("
                    + CudaDevice.mib(slotBytes) + " each)");
        } catch (CudaException e) {
            throw new ModelException(e.getMessage() + "; ask for fewer sequences", e);
        }
        for (int i = capacity - 1; i >= 0; i--) {
            free.push(new CudaState(this, i));
        }
    }

    LlambaCudaModel model() {
        return model;
    }

    long slotAddress(int slot) {
        return memory.at((long) slot * slotBytes);
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public synchronized int inUse() {
        return inUse;
    }

    @Override
    public long bytesPerState() {
        return slotBytes;
    }

    @Override
    public synchronized Optional<SequenceState> tryAcquire() {
        if (closed) {
            throw new IllegalStateException("state pool is closed");
        }
        CudaState s = free.poll();
        if (s == null) {
            return Optional.empty();
        }
        s.reset();
        s.leased = true;
        inUse++;
        return Optional.of(s);
    }

    @Override
    public synchronized void release(SequenceState state) {
        if (!(state instanceof CudaState s) || s.pool != this) {
            throw new IllegalArgumentException("state does not belong to this pool");
        }
        if (!s.leased) {
            throw new IllegalStateException("state released twice");
        }
        s.leased = false;
        inUse--;
        free.push(s);
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("state pool is closed");
        }
    }

    StateSnapshot snapshot(CudaState s) {
        checkOpen();
        if (s.position == 0) {
            return new CudaState.Snapshot(model, null, 0, slotBytes);
        }
        if (slotBytes > Integer.MAX_VALUE - 16) {
            throw new ModelException("a state of " + slotBytes + " bytes is too large to snapshot");
        }
        byte[] data = new byte[(int) slotBytes];
        try (Device.Scope _ = model.device().enter()) {
            model.device().copyToHost(data, 0, memory, (long) s.slot * slotBytes, data.length);
        }
        return new CudaState.Snapshot(model, data, s.position, slotBytes);
    }

    void restore(CudaState s, StateSnapshot snapshot) {
        checkOpen();
        if (!(snapshot instanceof CudaState.Snapshot snap) || snap.model() != model) {
            throw new IllegalArgumentException("snapshot is not from a state of this model");
        }
        if (snap.data() != null) {
            try (Device.Scope _ = model.device().enter()) {
                model.device().copyToDevice(memory, (long) s.slot * slotBytes, snap.data(), 0, snap.data().length);
            }
        }
        s.position = snap.position();
    }

    /** Device copy of one state into another (the benchmark fills a pool from one long prompt). */
    void copy(CudaState from, CudaState to) {
        checkOpen();
        try (Device.Scope _ = model.device().enter()) {
            model.device().copy(memory, (long) to.slot * slotBytes, memory, (long) from.slot * slotBytes, slotBytes);
        }
        to.position = from.position;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            model.device().free(memory);
            free.clear();
        }
    }
}
