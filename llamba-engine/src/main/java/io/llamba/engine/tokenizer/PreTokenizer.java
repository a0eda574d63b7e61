package io.llamba.engine.tokenizer;

/**
 * Splits text into the pieces that BPE encodes one by one (no merge crosses a piece boundary).
 * Pieces tile the range given, in order. Implementations are stateless and thread-safe.
 */
sealed interface PreTokenizer permits Llama3PreTokenizer, RegexPreTokenizer, WholeTextPreTokenizer {

    /** Receives each piece as a range of the text. */
    interface PieceSink {
        void piece(String text, int start, int end);
    }

    /** Feeds the pieces of {@code text[from, to)} to the sink; the range is treated as a whole string. */
    void split(String text, int from, int to, PieceSink sink);
}
