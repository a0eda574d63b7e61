package io.llamba.engine.llamba;

import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StateSnapshot;

import java.util.Arrays;

/**
 * One sequence's Llamba state on the CPU, in float32: per layer the conv window (the last K-1 xBC
 * inputs, oldest first, {@code (K-1) × C}) and the SSM state ({@code H × N × P}: per head, per state
 * index n, the head's P values side by side, which is what the vectorised step streams).
 */
final class LlambaCpuState implements SequenceState {
    final LlambaConfig config;
    final float[][] conv;
    final float[][] ssm;
    int position;
    /** The forward pass that last saw this state, to reject a state twice in one batch without a set. */
    long pass;
    /** Whether a pool has handed this state out and not yet taken it back. */
    boolean leased;
    /** The pool that handed this state out, so a release into another pool is caught. */
    final Object owner;

    LlambaCpuState(LlambaConfig config, Object owner) {
        this.config = config;
        this.owner = owner;
        this.conv = new float[config.nLayer()][config.convChannels() * (config.dConv() - 1)];
        this.ssm = new float[config.nLayer()][config.nVHeads() * config.headDim() * config.dState()];
    }

    @Override
    public int position() {
        return position;
    }

    @Override
    public void reset() {
        for (float[] a : conv) {
            Arrays.fill(a, 0f);
        }
        for (float[] a : ssm) {
            Arrays.fill(a, 0f);
        }
        position = 0;
    }

    @Override
    public StateSnapshot snapshot() {
        float[][] c = new float[conv.length][];
        float[][] s = new float[ssm.length][];
        for (int i = 0; i < conv.length; i++) {
            c[i] = conv[i].clone();
            s[i] = ssm[i].clone();
        }
        return new Snapshot(config, c, s, position);
    }

    @Override
    public void restore(StateSnapshot snapshot) {
        if (!(snapshot instanceof Snapshot snap) || !snap.config.equals(config)) {
            throw new IllegalArgumentException("snapshot is not from a Llamba state of this model");
        }
        for (int i = 0; i < conv.length; i++) {
            System.arraycopy(snap.conv[i], 0, conv[i], 0, conv[i].length);
            System.arraycopy(snap.ssm[i], 0, ssm[i], 0, ssm[i].length);
        }
        position = snap.position;
    }

    @Override
    public long bytes() {
        return config.stateBytesPerSequence();
    }

    record Snapshot(LlambaConfig config, float[][] conv, float[][] ssm, int position) implements StateSnapshot {
        @Override
        public long bytes() {
            return config.stateBytesPerSequence();
        }
    }
}
