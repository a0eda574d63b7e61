package io.llamba.engine.cache;

/**
 * What the conversation state cache holds and how it has served, for metrics and health.
 *
 * @param capacityBytes bytes the cache may hold (0: the cache is off)
 * @param bytes         bytes held now (snapshots plus their token prefixes)
 * @param entries       snapshots held now
 * @param hits          look-ups that found a cached prefix
 * @param replyHits     hits on a state taken after a generated reply ({@link SnapshotKind#REPLY}): the
 *                      client resent the reply as the same tokens, so only its new message was prefilled
 * @param misses        look-ups that found none
 * @param hitTokens     prompt tokens restored from snapshots instead of prefilled
 * @param stores        snapshots stored
 * @param evictions     snapshots dropped, least recently used first, to stay within the capacity
 */
public record StateCacheStats(long capacityBytes, long bytes, int entries, long hits, long replyHits, long misses, long hitTokens,
                              long stores, long evictions) {
    /** The statistics of a cache that is off. */
    public static final StateCacheStats DISABLED = new StateCacheStats(0, 0, 0, 0, 0, 0, 0, 0, 0);

    public boolean enabled() {
        return capacityBytes > 0;
    }

    /** Hits over look-ups, or 0 before any. */
    public double hitRate() {
        long lookups = hits + misses;
        return lookups == 0 ? 0 : (double) hits / lookups;
    }
}
