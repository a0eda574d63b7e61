package io.llamba.engine.model;

import io.llamba.engine.sampling.SamplingParams;

/**
 * A request to choose one token on the device (see {@link DeviceSampling}), and its answer.
 *
 * @see DeviceSampling
 */
public final class TokenPick {
    private final SamplingParams params;
    private final long seed;
    private final long step;
    private int token = -1;

    /**
     * @param params how to choose (penalties are not applied here)
     * @param seed   the sequence's seed
     * @param step   how many tokens the sequence has drawn before: with the seed, it fixes the draw
     */
    public TokenPick(SamplingParams params, long seed, long step) {
        this.params = params;
        this.seed = seed;
        this.step = step;
    }

    public SamplingParams params() {
        return params;
    }

    public long seed() {
        return seed;
    }

    public long step() {
        return step;
    }

    /** The chosen token, or -1 before the forward pass. */
    public int token() {
        return token;
    }

    public void setToken(int token) {
        this.token = token;
    }
}
