package io.llamba.engine.tokenizer;

import java.util.Arrays;

/**
 * One encode call's working state: takes pre-tokenized pieces, writes their UTF-8 bytes to a scratch
 * buffer, and appends token ids. Not shared between threads; the model it reads is immutable.
 *
 * <p>Short pieces merge by rescanning an array of adjacent-pair values (tiktoken's approach: for the
 * usual few bytes that beats any structure); pieces longer than {@link #SCAN_LIMIT} parts use a
 * linked list and a binary heap so that a megabyte of one letter stays O(n log n), not O(n^2).
 */
final class PieceEncoder implements PreTokenizer.PieceSink {
    static final int SCAN_LIMIT = 128;

    private final BpeModel model;
    private final TokenTable tokens;
    private final MergeTable merges;
    private final int[] byteTokens;
    private final int scanLimit;

    private byte[] buf = new byte[256];
    private int[] parts = new int[256];
    private long[] pairs = new long[256];
    private int[] out;
    private int size;

    PieceEncoder(BpeModel model, int expectedTokens) {
        this(model, expectedTokens, SCAN_LIMIT);
    }

    /** With a chosen limit between the two merge algorithms (tests compare them). */
    PieceEncoder(BpeModel model, int expectedTokens, int scanLimit) {
        this.model = model;
        this.tokens = model.tokens();
        this.merges = model.merges();
        this.byteTokens = model.byteTokens();
        this.scanLimit = scanLimit;
        this.out = new int[Math.max(16, expectedTokens)];
    }

    int[] toArray() {
        return Arrays.copyOf(out, size);
    }

    void add(int id) {
        if (size == out.length) {
            out = Arrays.copyOf(out, size * 2);
        }
        out[size++] = id;
    }

    @Override
    public void piece(String text, int start, int end) {
        int n = utf8(text, start, end);
        if (n == 1) {
            addByte(buf[0]);
            return;
        }
        if (model.ignoreMerges()) {
            int id = tokens.find(buf, 0, n);
            if (id >= 0) {
                add(id);
                return;
            }
        }
        merge(n);
    }

    private void addByte(byte b) {
        int id = byteTokens[b & 0xFF];
        if (id >= 0) {
            add(id);
        } else if (model.unknownId() >= 0) {
            add(model.unknownId());
        }
    }

    /** UTF-8 of text[start, end) into buf; returns the length. A lone surrogate becomes U+FFFD. */
    private int utf8(String s, int start, int end) {
        int need = (end - start) * 3 + TokenTable.PAD;
        if (buf.length < need) {
            buf = new byte[Math.max(need, buf.length * 2)];
        }
        byte[] b = buf;
        int n = 0;
        for (int i = start; i < end; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                b[n++] = (byte) c;
            } else if (c < 0x800) {
                b[n++] = (byte) (0xC0 | c >> 6);
                b[n++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, s.charAt(++i));
                    b[n++] = (byte) (0xF0 | cp >> 18);
                    b[n++] = (byte) (0x80 | cp >> 12 & 0x3F);
                    b[n++] = (byte) (0x80 | cp >> 6 & 0x3F);
                    b[n++] = (byte) (0x80 | cp & 0x3F);
                } else {
                    b[n++] = (byte) 0xEF;
                    b[n++] = (byte) 0xBF;
                    b[n++] = (byte) 0xBD;
                }
            } else {
                b[n++] = (byte) (0xE0 | c >> 12);
                b[n++] = (byte) (0x80 | c >> 6 & 0x3F);
                b[n++] = (byte) (0x80 | c & 0x3F);
            }
        }
        return n;
    }

    /** BPE over buf[0, n): start from single bytes, apply the lowest-ranked merge until none applies. */
    private void merge(int n) {
        if (parts.length < n) {
            parts = new int[Math.max(n, parts.length * 2)];
            pairs = new long[parts.length];
        }
        int[] p = parts;
        long[] q = pairs;
        int m = 0;
        boolean allBytesKnown = true;
        boolean lastUnknown = false;
        for (int k = 0; k < n; k++) {
            int id = byteTokens[buf[k] & 0xFF];
            if (id < 0) {
                allBytesKnown = false;
                int unk = model.unknownId();
                if (unk < 0 || (lastUnknown && model.fuseUnknown())) {
                    continue;
                }
                p[m++] = unk;
                lastUnknown = true;
            } else {
                p[m++] = id;
                lastUnknown = false;
            }
        }
        if (m > scanLimit) {
            mergeWithHeap(m);
            return;
        }
        if (allBytesKnown) {
            long[] bytePairs = model.bytePairs();
            for (int k = 0; k + 1 < m; k++) {
                q[k] = bytePairs[(buf[k] & 0xFF) << 8 | buf[k + 1] & 0xFF];
            }
        } else {
            for (int k = 0; k + 1 < m; k++) {
                q[k] = merges.get(p[k], p[k + 1]);
            }
        }
        while (m > 1) {
            long best = MergeTable.NONE;
            int at = -1;
            for (int k = 0; k + 1 < m; k++) {
                if (q[k] < best) { // strict: the leftmost of equal ranks wins
                    best = q[k];
                    at = k;
                }
            }
            if (at < 0) {
                break;
            }
            p[at] = MergeTable.merged(best);
            m--;
            System.arraycopy(p, at + 2, p, at + 1, m - at - 1);
            if (m - at - 2 > 0) {
                System.arraycopy(q, at + 2, q, at + 1, m - at - 2);
            }
            if (at > 0) {
                q[at - 1] = merges.get(p[at - 1], p[at]);
            }
            if (at + 1 < m) {
                q[at] = merges.get(p[at], p[at + 1]);
            }
        }
        for (int k = 0; k < m; k++) {
            add(p[k]);
        }
    }

    /**
     * The same merge order for long pieces: parts form a linked list; a min-heap holds candidate
     * merges as {@code rank << 32 | position}, so ties go to the leftmost. Entries made stale by an
     * earlier merge are recognised on removal (the pair there no longer has that rank) and skipped.
     */
    private void mergeWithHeap(int m) {
        int[] p = parts;
        int[] next = new int[m];
        int[] prev = new int[m];
        long[] heap = new long[Math.max(16, m)];
        int heapSize = 0;
        for (int k = 0; k < m; k++) {
            next[k] = k + 1;
            prev[k] = k - 1;
        }
        for (int k = 0; k + 1 < m; k++) {
            long v = merges.get(p[k], p[k + 1]);
            if (v != MergeTable.NONE) {
                heap[heapSize++] = (long) MergeTable.rank(v) << 32 | k;
            }
        }
        for (int k = heapSize / 2 - 1; k >= 0; k--) {
            siftDown(heap, heapSize, k);
        }
        while (heapSize > 0) {
            long top = heap[0];
            heap[0] = heap[--heapSize];
            siftDown(heap, heapSize, 0);
            int at = (int) top;
            int right = next[at];
            if (p[at] < 0 || right >= m) {
                continue;
            }
            long v = merges.get(p[at], p[right]);
            if (v == MergeTable.NONE || MergeTable.rank(v) != (int) (top >>> 32)) {
                continue; // stale
            }
            p[at] = MergeTable.merged(v);
            p[right] = -1;
            int after = next[right];
            next[at] = after;
            if (after < m) {
                prev[after] = at;
            }
            int before = prev[at];
            if (heapSize + 2 > heap.length) {
                heap = Arrays.copyOf(heap, heap.length * 2);
            }
            if (before >= 0) {
                long w = merges.get(p[before], p[at]);
                if (w != MergeTable.NONE) {
                    heap[heapSize] = (long) MergeTable.rank(w) << 32 | before;
                    siftUp(heap, heapSize++);
                }
            }
            if (after < m) {
                long w = merges.get(p[at], p[after]);
                if (w != MergeTable.NONE) {
                    heap[heapSize] = (long) MergeTable.rank(w) << 32 | at;
                    siftUp(heap, heapSize++);
                }
            }
        }
        for (int k = 0; k < m; k = next[k]) {
            add(p[k]);
        }
    }

    private static void siftUp(long[] h, int k) {
        long x = h[k];
        while (k > 0) {
            int parent = (k - 1) >>> 1;
            if (h[parent] <= x) {
                break;
            }
            h[k] = h[parent];
            k = parent;
        }
        h[k] = x;
    }

    private static void siftDown(long[] h, int n, int k) {
        long x = h[k];
        while (true) {
            int c = 2 * k + 1;
            if (c >= n) {
                break;
            }
            if (c + 1 < n && h[c + 1] < h[c]) {
                c++;
            }
            if (x <= h[c]) {
                break;
            }
            h[k] = h[c];
            k = c;
        }
        h[k] = x;
    }
}
