package io.llamba.engine.llama;

import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StateSnapshot;

import java.util.Arrays;

import static io.llamba.engine.llama.LlamaCpuStatePool.BLOCK_TOKENS;

/**
 * One sequence's KV cache on the CPU, in float32, paged: {@code keys[layer][b]} and
 * {@code values[layer][b]} hold positions {@code [b·64, (b+1)·64)}, laid out
 * {@code [kv head][position in block][head_dim]} so that attention reads one head's positions
 * contiguously. Blocks come from the pool as the sequence grows and go back on reset.
 */
final class LlamaCpuState implements SequenceState {
    final LlamaCpuStatePool pool;
    final LlamaConfig config;
    float[][][] keys;
    float[][][] values;
    /** Blocks held per layer. */
    int blocks;
    int position;
    /** Whether the pool has handed this state out and not yet taken it back. */
    boolean leased;

    LlamaCpuState(LlamaCpuStatePool pool) {
        this.pool = pool;
        this.config = pool.config;
        int layers = config.numLayers();
        this.keys = new float[layers][0][];
        this.values = new float[layers][0][];
    }

    /** Positions this sequence may hold: the pool's context limit. */
    int contextLimit() {
        return pool.maxContext;
    }

    /** Makes room for positions [0, tokens). */
    void ensureCapacity(int tokens) {
        int needed = (tokens + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
        if (needed <= blocks) {
            return;
        }
        if (needed > keys[0].length) {
            int cap = Math.max(needed, Math.min(2 * keys[0].length, (contextLimit() + BLOCK_TOKENS - 1) / BLOCK_TOKENS));
            for (int l = 0; l < keys.length; l++) {
                keys[l] = Arrays.copyOf(keys[l], cap);
                values[l] = Arrays.copyOf(values[l], cap);
            }
        }
        for (int b = blocks; b < needed; b++) {
            for (int l = 0; l < keys.length; l++) {
                keys[l][b] = pool.takeBlock();
                values[l][b] = pool.takeBlock();
            }
            blocks = b + 1;
        }
    }

    @Override
    public int position() {
        return position;
    }

    @Override
    public void reset() {
        for (int l = 0; l < keys.length; l++) {
            for (int b = 0; b < blocks; b++) {
                pool.giveBack(keys[l][b]);
                pool.giveBack(values[l][b]);
                keys[l][b] = null;
                values[l][b] = null;
            }
        }
        blocks = 0;
        position = 0;
    }

    @Override
    public StateSnapshot snapshot() {
        int used = (position + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
        float[][][] k = new float[keys.length][used][];
        float[][][] v = new float[keys.length][used][];
        for (int l = 0; l < keys.length; l++) {
            for (int b = 0; b < used; b++) {
                k[l][b] = keys[l][b].clone();
                v[l][b] = values[l][b].clone();
            }
        }
        return new Snapshot(config, position, k, v, 2L * keys.length * used * pool.blockFloats * Float.BYTES);
    }

    @Override
    public void restore(StateSnapshot snapshot) {
        if (!(snapshot instanceof Snapshot snap) || !snap.config.equals(config)) {
            throw new IllegalArgumentException("snapshot is not from a Llama state of this model");
        }
        if (snap.position > contextLimit()) {
            throw new IllegalArgumentException("snapshot holds " + snap.position + " positions, beyond this pool's context limit of "
                    + contextLimit() + " tokens");
        }
        reset();
        ensureCapacity(snap.position);
        for (int l = 0; l < keys.length; l++) {
            for (int b = 0; b < snap.keys[l].length; b++) {
                System.arraycopy(snap.keys[l][b], 0, keys[l][b], 0, pool.blockFloats);
                System.arraycopy(snap.values[l][b], 0, values[l][b], 0, pool.blockFloats);
            }
        }
        position = snap.position;
    }

    /** Bytes of the blocks this sequence holds now (it grows with the tokens, up to the pool's bytesPerState). */
    @Override
    public long bytes() {
        return 2L * keys.length * blocks * pool.blockFloats * Float.BYTES;
    }

    record Snapshot(LlamaConfig config, int position, float[][][] keys, float[][][] values, long bytes) implements StateSnapshot {
    }
}
