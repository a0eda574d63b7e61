package io.llamba.engine.generate;

/**
 * How the engine serves.
 *
 * @param maxSequences    sequences computed at once (state slots)
 * @param maxQueued       requests waiting beyond those; more are refused at once
 * @param maxContext      longest prompt plus output in tokens; 0 for the model's limit
 * @param maxBatchTokens  tokens per engine step: decode tokens of running sequences plus a chunk of
 *                        a waiting prompt, so a long prompt does not stall running streams
 */
public record EngineOptions(int maxSequences, int maxQueued, int maxContext, int maxBatchTokens) {
    public EngineOptions {
        require(maxSequences >= 1, "maxSequences must be at least 1, got " + maxSequences);
        require(maxQueued >= 0, "maxQueued must not be negative, got " + maxQueued);
        require(maxContext >= 0, "maxContext must not be negative, got " + maxContext);
        require(maxBatchTokens >= maxSequences, "maxBatchTokens (" + maxBatchTokens + ") must be at least maxSequences (" + maxSequences + ")");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public static EngineOptions defaults() {
        return new EngineOptions(16, 256, 0, 256);
    }

    public EngineOptions withMaxSequences(int n) {
        return new EngineOptions(n, maxQueued, maxContext, Math.max(maxBatchTokens, n));
    }

    public EngineOptions withMaxQueued(int n) {
        return new EngineOptions(maxSequences, n, maxContext, maxBatchTokens);
    }

    public EngineOptions withMaxContext(int n) {
        return new EngineOptions(maxSequences, maxQueued, n, maxBatchTokens);
    }

    public EngineOptions withMaxBatchTokens(int n) {
        return new EngineOptions(maxSequences, maxQueued, maxContext, n);
    }
}
