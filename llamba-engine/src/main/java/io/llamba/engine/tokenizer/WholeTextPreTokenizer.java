package io.llamba.engine.tokenizer;

/** No splitting: the whole text is one piece (a ByteLevel pre-tokenizer with {@code use_regex: false} alone). */
final class WholeTextPreTokenizer implements PreTokenizer {
    static final WholeTextPreTokenizer INSTANCE = new WholeTextPreTokenizer();

    private WholeTextPreTokenizer() {
    }

    @Override
    public void split(String text, int from, int to, PieceSink sink) {
        if (from < to) {
            sink.piece(text, from, to);
        }
    }

    @Override
    public String toString() {
        return "whole text";
    }
}
