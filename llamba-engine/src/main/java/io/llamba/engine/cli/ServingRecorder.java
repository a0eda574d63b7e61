package io.llamba.engine.cli;

import io.llamba.engine.generate.EngineObserver;

/**
 * Records what the engine reports while a measurement window is open: generated tokens,
 * inter-token and first-token latencies, steps and their batch sizes.
 */
final class ServingRecorder implements EngineObserver {
    private boolean open;
    /** First tokens since creation, window or not: tells when every client of a run is under way. */
    private final java.util.concurrent.atomic.AtomicLong firstTokensEver = new java.util.concurrent.atomic.AtomicLong();
    private long tokens;
    private long steps;
    private long stepSequences;
    private long stepNanos;
    private final LatencySamples interToken = new LatencySamples();
    private final LatencySamples firstToken = new LatencySamples();

    /** Opens a window, forgetting the previous one. */
    synchronized void open() {
        tokens = 0;
        steps = 0;
        stepSequences = 0;
        stepNanos = 0;
        interToken.clear();
        firstToken.clear();
        open = true;
    }

    synchronized void close() {
        open = false;
    }

    @Override
    public synchronized void firstToken(long nanos) {
        firstTokensEver.incrementAndGet();
        if (open) {
            tokens++;
            firstToken.add(nanos);
        }
    }

    @Override
    public synchronized void interToken(long nanos) {
        if (open) {
            tokens++;
            interToken.add(nanos);
        }
    }

    @Override
    public synchronized void step(int sequences, int tokens, long nanos) {
        if (open) {
            steps++;
            stepSequences += sequences;
            stepNanos += nanos;
        }
    }

    long firstTokensEver() {
        return firstTokensEver.get();
    }

    synchronized long tokens() {
        return tokens;
    }

    synchronized long steps() {
        return steps;
    }

    synchronized double meanBatch() {
        return steps == 0 ? 0 : (double) stepSequences / steps;
    }

    synchronized double meanStepMillis() {
        return steps == 0 ? Double.NaN : stepNanos / 1e6 / steps;
    }

    synchronized LatencySamples interTokenSamples() {
        return interToken;
    }

    synchronized LatencySamples firstTokenSamples() {
        return firstToken;
    }
}
