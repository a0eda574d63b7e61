package io.llamba.engine.llamba;

import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;

import java.util.ArrayDeque;
import java.util.Optional;

/** CPU state slots: allocated on first use up to the capacity, then recycled. */
final class LlambaCpuStatePool implements StatePool {
    private final LlambaConfig config;
    private final int capacity;
    private final ArrayDeque<LlambaCpuState> free = new ArrayDeque<>();
    private int inUse;

    LlambaCpuStatePool(LlambaConfig config, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("state pool capacity must be at least 1, got " + capacity);
        }
        this.config = config;
        this.capacity = capacity;
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
        return config.stateBytesPerSequence();
    }

    @Override
    public synchronized Optional<SequenceState> tryAcquire() {
        if (inUse >= capacity) {
            return Optional.empty();
        }
        LlambaCpuState s = free.poll();
        if (s == null) {
            s = new LlambaCpuState(config, this);
        } else {
            s.reset();
        }
        s.leased = true;
        inUse++;
        return Optional.of(s);
    }

    @Override
    public synchronized void release(SequenceState state) {
        if (!(state instanceof LlambaCpuState s) || s.owner != this) {
            throw new IllegalArgumentException("state does not belong to this pool");
        }
        if (!s.leased) {
            throw new IllegalStateException("state released twice");
        }
        s.leased = false;
        inUse--;
        free.push(s);
    }

    @Override
    public synchronized void close() {
        free.clear();
    }
}
