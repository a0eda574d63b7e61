package io.llamba.engine.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face {@code Split} pre-tokenizer with behavior {@code Isolated}, run by
 * java.util.regex: every match is a piece, and so is every stretch between matches. Used for
 * patterns other than Llama 3's (which {@link Llama3PreTokenizer} scans by hand, much faster).
 *
 * <p>{@link Pattern#UNICODE_CHARACTER_CLASS} makes {@code \s}, {@code \w}, {@code \d} and
 * case-insensitivity Unicode-aware, as in the Rust regex and Oniguruma engines the reference
 * tokenizers use.
 */
final class RegexPreTokenizer implements PreTokenizer {
    /** GPT-2's pattern, which a Hugging Face ByteLevel pre-tokenizer with {@code use_regex: true} applies. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final Pattern pattern;

    RegexPreTokenizer(String regex) {
        this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    @Override
    public void split(String text, int from, int to, PieceSink sink) {
        Matcher m = pattern.matcher(text);
        m.region(from, to); // opaque, anchoring bounds: the range is a string of its own
        int at = from;
        while (at < to && m.find()) {
            if (m.end() == m.start()) {
                continue; // an empty match splits nothing; find() steps past it by itself
            }
            if (m.start() > at) {
                sink.piece(text, at, m.start());
            }
            sink.piece(text, m.start(), m.end());
            at = m.end();
        }
        if (at < to) {
            sink.piece(text, at, to);
        }
    }

    @Override
    public String toString() {
        return "regex " + pattern.pattern();
    }
}
