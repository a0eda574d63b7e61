package io.llamba.engine.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One forward pass over a ragged batch: each entry advances one sequence's state by a run of
 * tokens: a whole prompt or a chunk of it (prefill), or a single token (decode). Entries are
 * independent; the backend may compute them together (matrix-matrix products over all tokens).
 */
public final class ForwardBatch {
    /**
     * @param state     the sequence's state, advanced by the tokens
     * @param tokens    token ids; {@code [offset, offset + length)} are fed
     * @param logits    where logits go, or null for none: {@code vocabSize} floats for the last token,
     *                  or {@code length · vocabSize} floats when {@code allPositions}
     */
    public record Entry(SequenceState state, int[] tokens, int offset, int length, float[] logits, boolean allPositions) {
        public Entry {
            if (length < 1 || offset < 0 || offset + length > tokens.length) {
                throw new IllegalArgumentException("tokens [" + offset + ", " + (offset + length) + ") outside 0.." + tokens.length);
            }
        }

        public int token(int i) {
            return tokens[offset + i];
        }

        /** Logit rows this entry asks for. */
        public int logitRows() {
            return logits == null ? 0 : allPositions ? length : 1;
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    private int tokenCount;

    public ForwardBatch add(Entry e) {
        entries.add(e);
        tokenCount += e.length();
        return this;
    }

    /** Feeds all of {@code tokens}, writing the last position's logits (if {@code logits} is non-null). */
    public ForwardBatch add(SequenceState state, int[] tokens, float[] logits) {
        return add(new Entry(state, tokens, 0, tokens.length, logits, false));
    }

    public List<Entry> entries() {
        return Collections.unmodifiableList(entries);
    }

    /** Entry {@code i}, for walking the batch without an iterator. */
    public Entry entry(int i) {
        return entries.get(i);
    }

    public int size() {
        return entries.size();
    }

    public int tokenCount() {
        return tokenCount;
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    public void clear() {
        entries.clear();
        tokenCount = 0;
    }
}
