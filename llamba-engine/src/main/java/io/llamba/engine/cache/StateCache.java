package io.llamba.engine.cache;

import io.llamba.engine.model.StateSnapshot;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeMap;

/**
 * Snapshots of sequence states, keyed by the token prefix each state has consumed. A recurrent
 * model's whole history is its fixed-size state, so a request whose tokens begin with a cached
 * prefix restores the snapshot and prefills only the rest: a multi-turn conversation, resent in
 * full every turn, prefills only its new turn.
 *
 * <p>Keys are SHA-256 digests of the prefix; every entry also keeps its tokens and a match is
 * confirmed by comparing them, so a digest collision can never restore a wrong state. The cache is
 * bounded by bytes (snapshots plus prefixes) and drops the least recently used entries first.
 * Thread-safe; one cache belongs to one model.
 */
public final class StateCache {
    /** A cached state whose prefix is the first {@code length} tokens of the looked-up sequence. */
    public record Hit(int length, StateSnapshot snapshot, SnapshotKind kind) {
    }

    private record Entry(int[] tokens, StateSnapshot snapshot, SnapshotKind kind, long bytes) {
    }

    /** Bookkeeping per entry beyond the snapshot and its tokens (map node, key, arrays' headers). */
    static final long ENTRY_OVERHEAD = 160;

    private final long capacityBytes;
    private final PrefixHasher hasher;
    /** In access order: iteration starts at the least recently used entry. */
    private final LinkedHashMap<PrefixKey, Entry> entries = new LinkedHashMap<>(64, 0.75f, true);
    /** Prefix length → entries of that length, so a look-up only digests lengths that can match. */
    private final TreeMap<Integer, Integer> lengths = new TreeMap<>();
    private long bytes;
    private long hits;
    private long replyHits;
    private long misses;
    private long hitTokens;
    private long stores;
    private long evictions;

    /** @param capacityBytes the most bytes to hold; must be positive */
    public StateCache(long capacityBytes) {
        this(capacityBytes, PrefixHasher.SHA_256);
    }

    StateCache(long capacityBytes, PrefixHasher hasher) {
        if (capacityBytes <= 0) {
            throw new IllegalArgumentException("state cache capacity must be positive, got " + capacityBytes + " bytes");
        }
        this.capacityBytes = capacityBytes;
        this.hasher = hasher;
    }

    public long capacityBytes() {
        return capacityBytes;
    }

    /**
     * The longest cached prefix of {@code tokens} no longer than {@code maxLength}, or null (a miss).
     * Counts a hit or a miss and marks the entry used.
     */
    public synchronized Hit lookup(int[] tokens, int maxLength) {
        int limit = Math.min(maxLength, tokens.length);
        NavigableSet<Integer> candidates = limit < 1 ? null : lengths.headMap(limit, true).navigableKeySet();
        if (candidates != null && !candidates.isEmpty()) {
            int[] ascending = candidates.stream().mapToInt(Integer::intValue).toArray();
            PrefixKey[] keys = hasher.keys(tokens, ascending);
            for (int i = keys.length - 1; i >= 0; i--) {
                Entry e = entries.get(keys[i]);
                if (e != null && samePrefix(e.tokens, tokens, ascending[i])) {
                    hits++;
                    if (e.kind == SnapshotKind.REPLY) {
                        replyHits++;
                    }
                    hitTokens += ascending[i];
                    return new Hit(ascending[i], e.snapshot, e.kind);
                }
            }
        }
        misses++;
        return null;
    }

    /** Whether the first {@code length} tokens are cached; marks the entry used. Not a look-up in the statistics. */
    public synchronized boolean contains(int[] tokens, int length) {
        if (!lengths.containsKey(length)) {
            return false;
        }
        Entry e = entries.get(hasher.key(tokens, length));
        return e != null && samePrefix(e.tokens, tokens, length);
    }

    /** Stores a {@link SnapshotKind#PROMPT} snapshot; see {@link #put(int[], int, StateSnapshot, SnapshotKind)}. */
    public boolean put(int[] tokens, int length, StateSnapshot snapshot) {
        return put(tokens, length, snapshot, SnapshotKind.PROMPT);
    }

    /**
     * Stores the state reached after the first {@code length} tokens, replacing an entry of the same
     * prefix, then drops least recently used entries until the cache fits. Returns false when the
     * entry alone exceeds the capacity (nothing is stored).
     */
    public synchronized boolean put(int[] tokens, int length, StateSnapshot snapshot, SnapshotKind kind) {
        if (length < 1 || length > tokens.length) {
            throw new IllegalArgumentException("prefix length " + length + " outside 1.." + tokens.length);
        }
        if (snapshot.position() != length) {
            throw new IllegalArgumentException("the snapshot is at position " + snapshot.position() + ", the prefix has " + length + " tokens");
        }
        long size = snapshot.bytes() + 4L * length + ENTRY_OVERHEAD;
        if (size > capacityBytes) {
            return false;
        }
        PrefixKey key = hasher.key(tokens, length);
        Entry old = entries.put(key, new Entry(Arrays.copyOf(tokens, length), snapshot, kind, size));
        if (old != null) {
            bytes -= old.bytes;
        } else {
            lengths.merge(length, 1, Integer::sum);
        }
        bytes += size;
        stores++;
        evictToFit();
        return true;
    }

    private void evictToFit() {
        Iterator<Map.Entry<PrefixKey, Entry>> it = entries.entrySet().iterator();
        while (bytes > capacityBytes && it.hasNext()) {
            Map.Entry<PrefixKey, Entry> lru = it.next();
            it.remove();
            bytes -= lru.getValue().bytes;
            lengths.computeIfPresent(lru.getKey().length(), (k, n) -> n == 1 ? null : n - 1);
            evictions++;
        }
    }

    private static boolean samePrefix(int[] cached, int[] tokens, int length) {
        return cached.length == length && Arrays.equals(cached, 0, length, tokens, 0, length);
    }

    public synchronized StateCacheStats stats() {
        return new StateCacheStats(capacityBytes, bytes, entries.size(), hits, replyHits, misses, hitTokens, stores, evictions);
    }

    /** Drops every entry (statistics are kept). */
    public synchronized void clear() {
        entries.clear();
        lengths.clear();
        bytes = 0;
    }
}
