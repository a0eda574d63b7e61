package io.llamba.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated token ids into text deltas as they come. A token may end in the middle of a
 * multi-byte UTF-8 character (emoji and CJK often span two or three byte tokens), so the bytes of
 * an unfinished character are held back until the token that completes it: no delta ever contains
 * half a character, and the deltas concatenate to {@code tokenizer.decode(allIds)}.
 *
 * <p>One per generated sequence; not thread-safe. Special tokens decode to their text; skipping
 * them is the caller's choice (check {@link Tokenizer#isSpecial} before pushing).
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int size;

    public StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds one token; returns the text completed by it (often empty for a partial character). */
    public String push(int id) {
        int len = tokenizer.tokenLength(id);
        if (size + len > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(size + len, pending.length * 2));
        }
        size = tokenizer.copyTokenBytes(id, pending, size);
        int complete = completeLength(pending, size);
        if (complete == 0) {
            return "";
        }
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, size - complete);
        size -= complete;
        return text;
    }

    /** Ends the sequence: returns what is held back, with an unfinished character as U+FFFD. */
    public String flush() {
        String text = new String(pending, 0, size, StandardCharsets.UTF_8);
        size = 0;
        return text;
    }

    /** Whether bytes of an unfinished character are held back. */
    public boolean hasPending() {
        return size > 0;
    }

    /**
     * How many leading bytes can be decoded now: all, unless the buffer ends with the start of a
     * character that more bytes could still complete. Such a tail is a lead byte followed by fewer
     * continuation bytes than it announces, each allowed where it stands (so overlong forms, surrogates
     * and code points past U+10FFFF are never held: they are U+FFFD whatever follows).
     */
    static int completeLength(byte[] b, int n) {
        for (int k = 1; k <= 3 && k <= n; k++) {
            int p = n - k;
            int lead = b[p] & 0xFF;
            if (lead < 0x80) {
                return n;
            }
            if (lead < 0xC0) {
                continue; // continuation byte: look further back for its lead
            }
            int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (lead < 0xC2 || lead > 0xF4 || k >= need) {
                return n; // never valid, or complete
            }
            if (k >= 2 && !validSecond(lead, b[p + 1] & 0xFF)) {
                return n;
            }
            return p;
        }
        return n;
    }

    private static boolean validSecond(int lead, int second) {
        return switch (lead) {
            case 0xE0 -> second >= 0xA0 && second <= 0xBF;
            case 0xED -> second >= 0x80 && second <= 0x9F;
            case 0xF0 -> second >= 0x90 && second <= 0xBF;
            case 0xF4 -> second >= 0x80 && second <= 0x8F;
            default -> second >= 0x80 && second <= 0xBF;
        };
    }
}
