package io.llamba.engine.cache;

import io.llamba.engine.model.StateSnapshot;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StateCacheTest {
    /** A snapshot of {@code bytes} bytes at {@code position}, told apart by its tag. */
    record Snap(int position, long bytes, String tag) implements StateSnapshot {
    }

    static final long SNAP = 1000;

    static long entrySize(int length) {
        return SNAP + 4L * length + StateCache.ENTRY_OVERHEAD;
    }

    static int[] tokens(int... t) {
        return t;
    }

    static int[] seq(int n, int seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(128256);
        }
        return t;
    }

    @Test
    void findsTheLongestCachedPrefixWithinTheLimit() {
        StateCache cache = new StateCache(1 << 20);
        int[] conv = seq(100, 1);
        cache.put(conv, 10, new Snap(10, SNAP, "10"));
        cache.put(conv, 40, new Snap(40, SNAP, "40"));
        cache.put(conv, 90, new Snap(90, SNAP, "90"));

        int[] longer = Arrays.copyOf(conv, 150);
        StateCache.Hit hit = cache.lookup(longer, longer.length - 1);
        assertThat(hit.length()).isEqualTo(90);
        assertThat(hit.kind()).isEqualTo(SnapshotKind.PROMPT);
        assertThat(((Snap) hit.snapshot()).tag()).isEqualTo("90");

        // The limit excludes longer prefixes (the engine keeps one token to prefill).
        assertThat(cache.lookup(conv, 89).length()).isEqualTo(40);
        // A sequence that diverges at token 20 shares only the 10-token prefix.
        int[] branch = conv.clone();
        branch[20] ^= 1;
        assertThat(cache.lookup(branch, 99).length()).isEqualTo(10);
        // Nothing in common.
        int[] other = seq(100, 2);
        assertThat(cache.lookup(other, 99)).isNull();

        StateCacheStats s = cache.stats();
        assertThat(s.hits()).isEqualTo(3);
        assertThat(s.misses()).isEqualTo(1);
        assertThat(s.hitTokens()).isEqualTo(90 + 40 + 10);
        assertThat(s.entries()).isEqualTo(3);
        assertThat(s.bytes()).isEqualTo(entrySize(10) + entrySize(40) + entrySize(90));
        assertThat(s.hitRate()).isEqualTo(0.75);
    }

    @Test
    void storedPrefixIsACopy() {
        StateCache cache = new StateCache(1 << 20);
        int[] t = tokens(5, 6, 7, 8);
        cache.put(t, 3, new Snap(3, SNAP, "a"));
        t[1] = 99; // the caller reuses its array
        assertThat(cache.lookup(tokens(5, 6, 7, 8), 4).length()).isEqualTo(3);
        assertThat(cache.lookup(t, 4)).isNull();
    }

    @Test
    void evictsLeastRecentlyUsedFirstToStayWithinBytes() {
        int[] a = seq(10, 1);
        int[] b = seq(10, 2);
        int[] c = seq(10, 3);
        StateCache cache = new StateCache(2 * entrySize(10));
        cache.put(a, 10, new Snap(10, SNAP, "a"));
        cache.put(b, 10, new Snap(10, SNAP, "b"));
        assertThat(cache.lookup(a, 10)).isNotNull(); // a is now more recent than b
        cache.put(c, 10, new Snap(10, SNAP, "c"));   // over capacity: b goes
        assertThat(cache.contains(a, 10)).isTrue();
        assertThat(cache.contains(b, 10)).isFalse();
        assertThat(cache.contains(c, 10)).isTrue();
        StateCacheStats s = cache.stats();
        assertThat(s.evictions()).isEqualTo(1);
        assertThat(s.entries()).isEqualTo(2);
        assertThat(s.bytes()).isLessThanOrEqualTo(s.capacityBytes());
        // An evicted length is no longer a candidate, a kept one still is.
        assertThat(cache.lookup(b, 10)).isNull();
        assertThat(cache.lookup(c, 10).length()).isEqualTo(10);
    }

    @Test
    void replacingAnEntryKeepsTheByteCountRight() {
        StateCache cache = new StateCache(1 << 20);
        int[] a = seq(10, 1);
        cache.put(a, 10, new Snap(10, SNAP, "old"));
        cache.put(a, 10, new Snap(10, SNAP, "new"));
        assertThat(cache.stats().entries()).isEqualTo(1);
        assertThat(cache.stats().bytes()).isEqualTo(entrySize(10));
        assertThat(((Snap) cache.lookup(a, 10).snapshot()).tag()).isEqualTo("new");
    }

    @Test
    void anEntryLargerThanTheCacheIsNotStored() {
        StateCache cache = new StateCache(entrySize(10) - 1);
        assertThat(cache.put(seq(10, 1), 10, new Snap(10, SNAP, "x"))).isFalse();
        assertThat(cache.stats().entries()).isZero();
        assertThat(cache.stats().bytes()).isZero();
    }

    @Test
    void digestCollisionsNeverRestoreAWrongState() {
        // A hasher that gives every prefix of a length the same key: only the stored tokens tell them apart.
        PrefixHasher colliding = (tokens, lengths) -> Arrays.stream(lengths).mapToObj(n -> new PrefixKey(n, 0, 0, 0, 0))
                .toArray(PrefixKey[]::new);
        StateCache cache = new StateCache(1 << 20, colliding);
        int[] a = seq(20, 1);
        int[] b = seq(20, 2);
        cache.put(a, 20, new Snap(20, SNAP, "a"));
        assertThat(cache.lookup(b, 20)).isNull();
        assertThat(cache.contains(b, 20)).isFalse();
        assertThat(cache.lookup(a, 20).length()).isEqualTo(20);
    }

    @Test
    void sha256KeysDifferForDifferentPrefixesAndLengths() {
        int[] t = seq(50, 7);
        PrefixKey[] keys = PrefixHasher.SHA_256.keys(t, new int[]{1, 2, 49, 50});
        assertThat(keys).doesNotHaveDuplicates();
        // Incremental keys equal keys computed from scratch.
        assertThat(keys[2]).isEqualTo(PrefixHasher.SHA_256.key(t, 49));
        assertThat(keys[2]).isEqualTo(PrefixHasher.SHA_256.key(Arrays.copyOf(t, 49), 49));
        int[] u = t.clone();
        u[0] = t[0] + 1;
        assertThat(PrefixHasher.SHA_256.key(u, 50)).isNotEqualTo(keys[3]);
        // Long prefixes cross the digest's internal buffer.
        int[] big = seq(5000, 3);
        assertThat(PrefixHasher.SHA_256.keys(big, new int[]{1500, 5000})[0]).isEqualTo(PrefixHasher.SHA_256.key(big, 1500));
    }

    @Test
    void badArgumentsAreRefusedWithTheNumbers() {
        assertThatThrownBy(() -> new StateCache(0)).hasMessageContaining("must be positive");
        StateCache cache = new StateCache(1 << 20);
        assertThatThrownBy(() -> cache.put(tokens(1, 2), 3, new Snap(3, SNAP, "x"))).hasMessageContaining("prefix length 3 outside 1..2");
        assertThatThrownBy(() -> cache.put(tokens(1, 2), 2, new Snap(1, SNAP, "x")))
                .hasMessageContaining("snapshot is at position 1, the prefix has 2 tokens");
    }

    @Test
    void clearDropsEverything() {
        StateCache cache = new StateCache(1 << 20);
        int[] a = seq(10, 1);
        cache.put(a, 5, new Snap(5, SNAP, "x"));
        cache.clear();
        assertThat(cache.lookup(a, 10)).isNull();
        assertThat(cache.stats().bytes()).isZero();
        assertThat(cache.stats().entries()).isZero();
    }
}
