package io.llamba.engine.cuda;

import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;

import java.util.ArrayDeque;
import java.util.Optional;
import java.util.function.IntToLongFunction;

/**
 * Device state slots, allocated together up front: {@code capacity} slots of {@code slotBytes}
 * each (Llamba: its fixed state; Llama: a KV cache at the pool's context limit), so the device
 * memory a pool commits to is known when it is created, and a pool that does not fit fails then,
 * naming its size, rather than in the middle of serving.
 */
final class CudaStatePool implements StatePool {
    /** Snapshot chunk size: a Java array holds under 2 GiB. */
    static final int CHUNK_BYTES = 1 << 30;

    private final CudaModel model;
    private final int capacity;
    private final long slotBytes;
    private final int contextLimit;
    /** Bytes of a slot in use at a position (what a snapshot copies). */
    private final IntToLongFunction liveBytes;
    private final DeviceBuffer memory;
    private final ArrayDeque<CudaState> free = new ArrayDeque<>();
    private int inUse;
    private boolean closed;

    CudaStatePool(CudaModel model, int capacity, long slotBytes, int contextLimit, IntToLongFunction liveBytes, String what) {
        if (capacity < 1) {
            throw new IllegalArgumentException("state pool capacity must be at least 1, got " + capacity);
        }
        this.model = model;
        this.capacity = capacity;
        this.slotBytes = slotBytes;
        this.contextLimit = contextLimit;
        this.liveBytes = liveBytes;
        try (Device.Scope _ = model.device().enter()) {
            this.memory = model.device().allocate(slotBytes * capacity, "a state pool of " + capacity + " sequences ("
                    + CudaDevice.mib(slotBytes) + " each" + what + ")");
        } catch (CudaException e) {
            throw new ModelException(e.getMessage() + "; ask for fewer sequences" + (what.isEmpty() ? "" : " or a lower context limit"), e);
        }
        for (int i = capacity - 1; i >= 0; i--) {
            free.push(new CudaState(this, i));
        }
    }

    CudaModel model() {
        return model;
    }

    long slotAddress(int slot) {
        return memory.at((long) slot * slotBytes);
    }

    /** The most tokens a sequence of this pool may hold. */
    int contextLimit() {
        return contextLimit;
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

    /** The device's free memory now, less a reserve for the driver and cuBLAS' workspace. */
    @Override
    public long availableBytes() {
        try (Device.Scope _ = model.device().enter()) {
            return Math.max(0, model.device().freeMemory() - (1L << 30));
        }
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
        long live = liveBytes.applyAsLong(s.position);
        int chunks = (int) ((live + CHUNK_BYTES - 1) / CHUNK_BYTES);
        byte[][] data = new byte[chunks][];
        try (Device.Scope _ = model.device().enter()) {
            for (int i = 0; i < chunks; i++) {
                long off = (long) i * CHUNK_BYTES;
                data[i] = new byte[(int) Math.min(CHUNK_BYTES, live - off)];
                model.device().copyToHost(data[i], 0, memory, (long) s.slot * slotBytes + off, data[i].length);
            }
        }
        return new CudaState.Snapshot(model, data, s.position, live);
    }

    void restore(CudaState s, StateSnapshot snapshot) {
        checkOpen();
        if (!(snapshot instanceof CudaState.Snapshot snap) || snap.model() != model) {
            throw new IllegalArgumentException("snapshot is not from a state of this model");
        }
        if (snap.position() > contextLimit) {
            throw new IllegalArgumentException("snapshot holds " + snap.position() + " positions, beyond this pool's context limit of "
                    + contextLimit + " tokens");
        }
        if (snap.data() != null) {
            try (Device.Scope _ = model.device().enter()) {
                long off = 0;
                for (byte[] chunk : snap.data()) {
                    model.device().copyToDevice(memory, (long) s.slot * slotBytes + off, chunk, 0, chunk.length);
                    off += chunk.length;
                }
            }
        }
        s.position = snap.position();
    }

    /** Device copy of one state into another of the same model (another pool's, too). */
    void copy(CudaState from, CudaState to) {
        checkOpen();
        from.pool.checkOpen();
        if (from.position > contextLimit) {
            throw new IllegalArgumentException("a state at position " + from.position + " does not fit this pool's context limit of "
                    + contextLimit + " tokens");
        }
        if (from.position > 0) {
            try (Device.Scope _ = model.device().enter()) {
                model.device().copy(memory, (long) to.slot * slotBytes, from.pool.memory, (long) from.slot * from.pool.slotBytes,
                        liveBytes.applyAsLong(from.position));
            }
        }
        to.position = from.position;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try (Device.Scope _ = model.device().enter()) {
                model.device().free(memory);
            }
            free.clear();
        }
    }
}
