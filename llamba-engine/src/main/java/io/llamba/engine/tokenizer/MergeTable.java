package io.llamba.engine.tokenizer;

/**
 * BPE merge rules: the pair of token ids (left, right), packed in a long, maps to the merge's rank
 * and the id of the merged token, packed in a long as {@code rank << 32 | mergedId}, so comparing
 * the packed values compares ranks. Open addressing with linear probing over plain arrays: a lookup
 * is a multiply, a shift and usually one or two array reads. Filled by a loader, then only read
 * (the tokenizer publishes it through a final field), so concurrent lookups are safe.
 */
final class MergeTable {
    /** What {@link #get} returns for a pair that does not merge; larger than every real value. */
    static final long NONE = Long.MAX_VALUE;
    private static final long EMPTY = -1L;

    private long[] keys;
    private long[] values;
    private int shift;
    private int size;

    /** @param expected how many rules will be put (a hint; the table grows) */
    MergeTable(int expected) {
        allocate(Integer.highestOneBit(Math.max(8, expected + expected / 2) - 1) << 1);
    }

    private void allocate(int cap) {
        keys = new long[cap];
        values = new long[cap];
        java.util.Arrays.fill(keys, EMPTY);
        shift = 64 - Integer.numberOfTrailingZeros(cap);
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        allocate(oldKeys.length * 2);
        int mask = keys.length - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                int s = slot(oldKeys[i]);
                while (keys[s] != EMPTY) {
                    s = (s + 1) & mask;
                }
                keys[s] = oldKeys[i];
                values[s] = oldValues[i];
            }
        }
    }

    int size() {
        return size;
    }

    private static long key(int left, int right) {
        return (long) left << 32 | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> shift);
    }

    /** Adds or replaces a rule (a later duplicate replaces an earlier one, as Hugging Face does). */
    void put(int left, int right, int rank, int merged) {
        if (size + 1 > keys.length / 3 * 2) { // keep the load at most 2/3
            grow();
        }
        long k = key(left, right);
        int mask = keys.length - 1;
        int s = slot(k);
        while (keys[s] != EMPTY && keys[s] != k) {
            s = (s + 1) & mask;
        }
        if (keys[s] == EMPTY) {
            size++;
            keys[s] = k;
        }
        values[s] = (long) rank << 32 | (merged & 0xFFFFFFFFL);
    }

    /** Puts a rule only when the pair has none yet. */
    void putIfAbsent(int left, int right, int rank, int merged) {
        if (get(left, right) == NONE) {
            put(left, right, rank, merged);
        }
    }

    /** {@code rank << 32 | mergedId} for the pair, or {@link #NONE}. */
    long get(int left, int right) {
        long k = key(left, right);
        int mask = keys.length - 1;
        int s = slot(k);
        while (true) {
            long kk = keys[s];
            if (kk == k) {
                return values[s];
            }
            if (kk == EMPTY) {
                return NONE;
            }
            s = (s + 1) & mask;
        }
    }

    static int rank(long value) {
        return (int) (value >>> 32);
    }

    static int merged(long value) {
        return (int) value;
    }
}
