package io.llamba.engine.generate;

/**
 * How the engine serves.
 *
 * @param maxSequences     the most sequences computed at once; the state memory budget may allow fewer
 * @param maxQueued        requests waiting beyond those; more are refused at once
 * @param maxContext       longest prompt plus output in tokens; 0 for the model's limit
 * @param maxBatchTokens   tokens per engine step: decode tokens of running sequences plus a chunk of
 *                         a waiting prompt, so a long prompt does not stall running streams
 * @param stateMemoryBytes bytes for sequence state slots: the slot count is the smaller of
 *                         {@code maxSequences} and this budget over one state's size; {@link #AUTO}
 *                         for a quarter of the maximum heap on the CPU backend (on other backends the
 *                         budget is left to the backend's own pool)
 * @param stateCacheBytes  bytes for the conversation state cache (snapshots at turn boundaries,
 *                         reused by requests that resend a conversation); 0 turns it off;
 *                         {@link #AUTO} for a quarter of the maximum heap
 */
public record EngineOptions(int maxSequences, int maxQueued, int maxContext, int maxBatchTokens, long stateMemoryBytes,
                            long stateCacheBytes) {
    /** Pick the default for a memory budget. */
    public static final long AUTO = -1;

    public EngineOptions {
        require(maxSequences >= 1, "maxSequences must be at least 1, got " + maxSequences);
        require(maxQueued >= 0, "maxQueued must not be negative, got " + maxQueued);
        require(maxContext >= 0, "maxContext must not be negative, got " + maxContext);
        require(maxBatchTokens >= maxSequences, "maxBatchTokens (" + maxBatchTokens + ") must be at least maxSequences (" + maxSequences + ")");
        require(stateMemoryBytes > 0 || stateMemoryBytes == AUTO, "stateMemoryBytes must be positive or AUTO (-1), got " + stateMemoryBytes);
        require(stateCacheBytes >= 0 || stateCacheBytes == AUTO, "stateCacheBytes must be 0 (off), positive or AUTO (-1), got " + stateCacheBytes);
    }

    /** Automatic memory budgets: a quarter of the heap for state slots, a quarter for the state cache. */
    public EngineOptions(int maxSequences, int maxQueued, int maxContext, int maxBatchTokens) {
        this(maxSequences, maxQueued, maxContext, maxBatchTokens, AUTO, AUTO);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public static EngineOptions defaults() {
        return new EngineOptions(16, 256, 0, 256, AUTO, AUTO);
    }

    public EngineOptions withMaxSequences(int n) {
        return new EngineOptions(n, maxQueued, maxContext, Math.max(maxBatchTokens, n), stateMemoryBytes, stateCacheBytes);
    }

    public EngineOptions withMaxQueued(int n) {
        return new EngineOptions(maxSequences, n, maxContext, maxBatchTokens, stateMemoryBytes, stateCacheBytes);
    }

    public EngineOptions withMaxContext(int n) {
        return new EngineOptions(maxSequences, maxQueued, n, maxBatchTokens, stateMemoryBytes, stateCacheBytes);
    }

    public EngineOptions withMaxBatchTokens(int n) {
        return new EngineOptions(maxSequences, maxQueued, maxContext, n, stateMemoryBytes, stateCacheBytes);
    }

    public EngineOptions withStateMemoryBytes(long bytes) {
        return new EngineOptions(maxSequences, maxQueued, maxContext, maxBatchTokens, bytes, stateCacheBytes);
    }

    public EngineOptions withStateCacheBytes(long bytes) {
        return new EngineOptions(maxSequences, maxQueued, maxContext, maxBatchTokens, stateMemoryBytes, bytes);
    }
}
