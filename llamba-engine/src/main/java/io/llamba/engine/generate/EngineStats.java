package io.llamba.engine.generate;

import io.llamba.engine.cache.StateCacheStats;

/**
 * A snapshot of the engine's load, for health and metrics.
 *
 * @param running            sequences holding a state slot
 * @param waiting            requests queued for a slot
 * @param capacity           state slots (maxSequences, or fewer when the state memory budget holds fewer)
 * @param queueLimit         the most requests that may wait
 * @param stateBytesInUse    bytes of the state slots in use
 * @param stateBytesCapacity bytes all slots would hold
 * @param promptTokens       prompt tokens prefilled since start (restored ones excluded)
 * @param generatedTokens    tokens generated since start
 * @param completed          requests ended since start (any reason)
 * @param rejected           requests refused because the queue was full
 * @param failed             requests ended by an engine error
 * @param cachedPromptTokens prompt tokens restored from the state cache instead of prefilled
 * @param cache              the state cache ({@link StateCacheStats#DISABLED} when it is off)
 */
public record EngineStats(int running, int waiting, int capacity, int queueLimit, long stateBytesInUse, long stateBytesCapacity,
                          long promptTokens, long generatedTokens, long completed, long rejected, long failed,
                          long cachedPromptTokens, StateCacheStats cache) {
    public EngineStats {
        if (cache == null) {
            cache = StateCacheStats.DISABLED;
        }
    }

    /** Without state cache figures (as before the cache existed). */
    public EngineStats(int running, int waiting, int capacity, int queueLimit, long stateBytesInUse, long stateBytesCapacity,
                       long promptTokens, long generatedTokens, long completed, long rejected, long failed) {
        this(running, waiting, capacity, queueLimit, stateBytesInUse, stateBytesCapacity, promptTokens, generatedTokens, completed,
                rejected, failed, 0, StateCacheStats.DISABLED);
    }
}
