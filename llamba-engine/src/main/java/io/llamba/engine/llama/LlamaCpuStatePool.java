package io.llamba.engine.llama;

import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;

import java.util.ArrayDeque;
import java.util.Optional;

/**
 * Sequence slots for the Llama KV cache on the CPU. The cache is paged: a sequence holds, per layer,
 * blocks of {@link #BLOCK_TOKENS} positions for keys and for values, taken from this pool's free
 * list as it grows and given back when it is released, so memory follows the tokens actually held
 * rather than the context limit. A sequence never holds more than {@code maxContext} positions, so
 * the pool never holds more than {@code capacity · bytesPerState()}: that is the figure it reports.
 */
final class LlamaCpuStatePool implements StatePool {
    /** Positions per block: 64 keeps a block of Llama-3.2-1B (8 kv heads × 64) at 128 KiB. */
    static final int BLOCK_TOKENS = 64;

    final LlamaConfig config;
    final int maxContext;
    /** Floats of one block: every kv head's keys (or values) for BLOCK_TOKENS positions. */
    final int blockFloats;
    private final int capacity;
    private final ArrayDeque<LlamaCpuState> freeStates = new ArrayDeque<>();
    private final ArrayDeque<float[]> freeBlocks = new ArrayDeque<>();
    private int inUse;
    private long blocksAllocated;

    LlamaCpuStatePool(LlamaConfig config, int capacity, int maxContext) {
        if (capacity < 1) {
            throw new IllegalArgumentException("state pool capacity must be at least 1, got " + capacity);
        }
        if (maxContext < 1) {
            throw new IllegalArgumentException("context limit must be at least 1 token, got " + maxContext);
        }
        this.config = config;
        this.capacity = capacity;
        this.maxContext = maxContext;
        this.blockFloats = config.numKvHeads() * BLOCK_TOKENS * config.headDim();
        long worst = capacity * bytesPerState();
        long heap = Runtime.getRuntime().maxMemory();
        if (worst > heap) {
            // Blocks are taken as sequences grow, so this only fails if they all grow long; say so up front.
            System.getLogger(LlamaCpuStatePool.class.getName()).log(System.Logger.Level.WARNING,
                    "KV cache: {0} sequences of up to {1} tokens may need {2} MB, more than the {3} MB Java heap;"
                            + " a forward pass that runs out fails its sequences. Lower the context limit or the sequences,"
                            + " or raise -Xmx.", capacity, maxContext, worst / 1_000_000, heap / 1_000_000);
        }
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public synchronized int inUse() {
        return inUse;
    }

    /** The KV cache of one sequence at the context limit (what a slot may grow to). */
    @Override
    public long bytesPerState() {
        return config.kvBytes(maxContext);
    }

    @Override
    public synchronized Optional<SequenceState> tryAcquire() {
        if (inUse >= capacity) {
            return Optional.empty();
        }
        LlamaCpuState s = freeStates.poll();
        if (s == null) {
            s = new LlamaCpuState(this);
        }
        s.leased = true;
        inUse++;
        return Optional.of(s);
    }

    @Override
    public synchronized void release(SequenceState state) {
        if (!(state instanceof LlamaCpuState s) || s.pool != this) {
            throw new IllegalArgumentException("state does not belong to this pool");
        }
        if (!s.leased) {
            throw new IllegalStateException("state released twice");
        }
        s.reset();
        s.leased = false;
        inUse--;
        freeStates.push(s);
    }

    /** A block for a growing sequence: recycled, or new. Contents are arbitrary (positions are written before read). */
    synchronized float[] takeBlock() {
        float[] b = freeBlocks.poll();
        if (b != null) {
            return b;
        }
        try {
            b = new float[blockFloats];
        } catch (OutOfMemoryError e) {
            throw new ModelException("KV cache: the Java heap has no room for another block (" + blocksAllocated + " blocks of "
                    + blockFloats * 4L / 1024 + " KiB held by " + inUse + " sequences); lower the number of sequences or the context"
                    + " limit, or give the JVM more memory (-Xmx)", e);
        }
        blocksAllocated++;
        return b;
    }

    synchronized void giveBack(float[] block) {
        freeBlocks.push(block);
    }

    /** Blocks this pool has allocated so far (held by sequences or free). */
    synchronized long blocksAllocated() {
        return blocksAllocated;
    }

    @Override
    public synchronized void close() {
        freeStates.clear();
        freeBlocks.clear();
    }
}
