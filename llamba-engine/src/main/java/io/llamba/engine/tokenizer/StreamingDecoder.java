package io.llamba.engine.tokenizer;

import java.util.Arrays;

/**
 * Turns generated token ids into text deltas as they come. A token may end in the middle of a
 * multi-byte UTF-8 character (emoji and CJK often span two or three byte tokens), so the bytes of
 * an unfinished character are held back until the token that completes it: no delta ever contains
 * half a character, and the deltas concatenate to {@code tokenizer.decode(allIds)}, invalid bytes
 * included (see {@link Utf8}).
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
        int complete = Utf8.completeLength(pending, size);
        if (complete == 0) {
            return "";
        }
        String text = Utf8.decode(pending, 0, complete);
        System.arraycopy(pending, complete, pending, 0, size - complete);
        size -= complete;
        return text;
    }

    /** Ends the sequence: returns what is held back, with an unfinished character as U+FFFD. */
    public String flush() {
        String text = Utf8.decode(pending, 0, size);
        size = 0;
        return text;
    }

    /** Whether bytes of an unfinished character are held back. */
    public boolean hasPending() {
        return size > 0;
    }
}
