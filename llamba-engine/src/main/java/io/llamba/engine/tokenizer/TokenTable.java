package io.llamba.engine.tokenizer;

import java.util.Arrays;

/**
 * The bytes of every token id, packed in one array, plus an open-addressing hash index from bytes
 * to id over the BPE model's tokens (not the added/special ones: a pre-tokenized piece must never
 * turn into a special token). Lookups take a slice of a scratch buffer, so encoding allocates nothing
 * per piece. Immutable after construction.
 */
final class TokenTable {
    private final byte[] bytes;
    private final int[] offsets; // id -> bytes[offsets[id], offsets[id + 1])
    private final boolean[] present;
    private final int[] slots; // id + 1, 0 = empty
    private final int mask;

    /**
     * @param tokens  bytes by id; null where no token has that id
     * @param indexed which ids the bytes-to-id index holds
     */
    TokenTable(byte[][] tokens, boolean[] indexed) {
        int n = tokens.length;
        int total = 0;
        int count = 0;
        for (int id = 0; id < n; id++) {
            if (tokens[id] != null) {
                total += tokens[id].length;
                if (indexed[id]) {
                    count++;
                }
            }
        }
        bytes = new byte[total];
        offsets = new int[n + 1];
        present = new boolean[n];
        int at = 0;
        for (int id = 0; id < n; id++) {
            offsets[id] = at;
            if (tokens[id] != null) {
                present[id] = true;
                System.arraycopy(tokens[id], 0, bytes, at, tokens[id].length);
                at += tokens[id].length;
            }
        }
        offsets[n] = at;
        // Load factor at most 1/2: probes stay short for the ~90% of pieces that hit.
        int cap = Integer.highestOneBit(Math.max(4, count) * 2 - 1) << 1;
        slots = new int[cap];
        mask = cap - 1;
        for (int id = 0; id < n; id++) {
            if (tokens[id] != null && indexed[id]) {
                byte[] t = tokens[id];
                int s = hash(t, 0, t.length) & mask;
                while (slots[s] != 0) {
                    int other = slots[s] - 1;
                    if (Arrays.equals(t, 0, t.length, bytes, offsets[other], offsets[other + 1])) {
                        break; // same bytes twice: the first id wins
                    }
                    s = (s + 1) & mask;
                }
                if (slots[s] == 0) {
                    slots[s] = id + 1;
                }
            }
        }
    }

    /** Ids run from 0 to size() - 1; some may be unused. */
    int size() {
        return present.length;
    }

    boolean exists(int id) {
        return id >= 0 && id < present.length && present[id];
    }

    int length(int id) {
        return offsets[id + 1] - offsets[id];
    }

    byte[] bytes(int id) {
        return Arrays.copyOfRange(bytes, offsets[id], offsets[id + 1]);
    }

    /** Appends the bytes of {@code id} at {@code dst[at]}; returns the new end. dst must have room. */
    int copyTo(int id, byte[] dst, int at) {
        int off = offsets[id];
        int len = offsets[id + 1] - off;
        System.arraycopy(bytes, off, dst, at, len);
        return at + len;
    }

    /** The id of the indexed token with exactly these bytes, or -1. */
    int find(byte[] buf, int off, int len) {
        int s = hash(buf, off, len) & mask;
        while (true) {
            int v = slots[s];
            if (v == 0) {
                return -1;
            }
            int id = v - 1;
            int o = offsets[id];
            if (offsets[id + 1] - o == len && Arrays.equals(buf, off, off + len, bytes, o, o + len)) {
                return id;
            }
            s = (s + 1) & mask;
        }
    }

    private static int hash(byte[] b, int off, int len) {
        int h = 0x811C9DC5 ^ len;
        for (int i = off, end = off + len; i < end; i++) {
            h = (h ^ b[i]) * 0x01000193; // FNV-1a
        }
        return h ^ (h >>> 15);
    }
}
