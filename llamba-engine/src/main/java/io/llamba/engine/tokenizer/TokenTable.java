package io.llamba.engine.tokenizer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The bytes of every token id, packed in one array, plus an open-addressing hash index from bytes
 * to id over the BPE model's tokens (not the added/special ones: a pre-tokenized piece must never
 * turn into a special token). Immutable after construction.
 *
 * <p>Lookup is the hot path of encoding (most pieces are whole tokens), so each index slot holds, next
 * to the id, the token's first 8 bytes as a long and its length: a probe reads one cache line and,
 * for the usual token of at most 8 bytes, never touches the byte array. Callers pass a buffer with at
 * least 8 bytes of room after the piece (see {@link #PAD}); what lies there is ignored.
 */
final class TokenTable {
    /** Spare bytes a lookup buffer needs after the piece, for whole-long reads. */
    static final int PAD = 8;

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final byte[] bytes;
    private final int[] offsets; // id -> bytes[offsets[id], offsets[id + 1])
    private final boolean[] present;
    /** Slot s: [2s] first 8 bytes (zero-padded), [2s + 1] id << 32 | length; length 0 = empty. */
    private final long[] slots;
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
                if (indexed[id] && tokens[id].length > 0) {
                    count++;
                }
            }
        }
        bytes = new byte[total + PAD];
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
        // Load factor at most 1/2 keeps probe runs short.
        int cap = Integer.highestOneBit(Math.max(4, count) * 2 - 1) << 1;
        slots = new long[2 * cap];
        mask = cap - 1;
        for (int id = 0; id < n; id++) {
            if (tokens[id] != null && indexed[id] && tokens[id].length > 0 && find(bytes, offsets[id], tokens[id].length) < 0) {
                int len = tokens[id].length;
                int s = hash(bytes, offsets[id], len) & mask;
                while (slots[2 * s + 1] != 0) {
                    s = (s + 1) & mask;
                }
                slots[2 * s] = head(bytes, offsets[id], len);
                slots[2 * s + 1] = (long) id << 32 | len;
            } // same bytes twice: the first id wins
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

    /** The id of the indexed token with exactly the bytes buf[off, off + len), or -1. Needs {@link #PAD} bytes after. */
    int find(byte[] buf, int off, int len) {
        if (len == 0) {
            return -1;
        }
        long head = head(buf, off, len);
        long meta = len;
        int s = hash(buf, off, len) & mask;
        long[] t = slots;
        while (true) {
            long m = t[2 * s + 1];
            if (m == 0) {
                return -1;
            }
            if ((int) m == meta && t[2 * s] == head) {
                int id = (int) (m >>> 32);
                if (len <= 8) {
                    return id;
                }
                int o = offsets[id];
                if (Arrays.equals(buf, off + 8, off + len, bytes, o + 8, o + len)) {
                    return id;
                }
            }
            s = (s + 1) & mask;
        }
    }

    /** {@link #find} for a whole array of any size (copies it; for loading and rare lookups). */
    int find(byte[] token) {
        return find(Arrays.copyOf(token, token.length + PAD), 0, token.length);
    }

    /** The first min(len, 8) bytes as a little-endian long, zero beyond len. */
    private static long head(byte[] b, int off, int len) {
        long v = (long) LONGS.get(b, off);
        return len >= 8 ? v : v & ((1L << (len << 3)) - 1);
    }

    private static int hash(byte[] b, int off, int len) {
        long h = head(b, off, len) * 0x9E3779B97F4A7C15L ^ len;
        for (int i = 8; i < len; i += 8) {
            long v = (long) LONGS.get(b, off + i);
            if (len - i < 8) {
                v &= (1L << ((len - i) << 3)) - 1;
            }
            h = (h ^ v) * 0xC2B2AE3D27D4EB4FL;
        }
        h ^= h >>> 29;
        h *= 0x94D049BB133111EBL;
        return (int) (h ^ h >>> 32);
    }
}
