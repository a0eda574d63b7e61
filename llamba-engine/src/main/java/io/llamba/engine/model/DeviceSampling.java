package io.llamba.engine.model;

import io.llamba.engine.sampling.SamplingParams;

/**
 * Optionally implemented by a {@link Model} that can choose next tokens where its logits are, so
 * that a large batch's logits (vocabSize floats per sequence) never cross to the host. The engine
 * uses it for sequences whose sampling parameters the model supports and samples on the host
 * otherwise. Draws come from the model's own generator: reproducible for a seed, but not the
 * same tokens as the host {@link io.llamba.engine.sampling.Sampler} at a temperature above 0;
 * greedy picks are the same (the first largest logit).
 */
public interface DeviceSampling {
    /** Whether {@link #forward(ForwardBatch, TokenPick[])} can apply these parameters. */
    boolean supportsDeviceSampling(SamplingParams params);

    /**
     * Runs the batch as {@link Model#forward}, and for every entry {@code i} with a non-null
     * {@code picks[i]} chooses the token that follows the entry's last position and stores it in
     * that pick. Such an entry's own logits array may be null.
     */
    void forward(ForwardBatch batch, TokenPick[] picks);
}
