package io.llamba.engine.tokenizer;

/**
 * A hand-written scanner equivalent to the Llama 3 split regex {@link #PATTERN} (leftmost-first
 * alternation with backtracking, as the Rust regex / Oniguruma engines of tiktoken and Hugging Face
 * run it), several times faster than java.util.regex.
 *
 * <p>The alternatives, tried in order at each position:
 * <ol>
 *   <li>{@code (?i:'s|'t|'re|'ve|'m|'ll|'d)}: English contractions, any case;</li>
 *   <li>{@code [^\r\n\p{L}\p{N}]?\p{L}+}: a word with at most one leading non-letter (space, quote...);</li>
 *   <li>{@code \p{N}{1,3}}: up to three digits;</li>
 *   <li>{@code  ?[^\s\p{L}\p{N}]+[\r\n]*}: punctuation/symbols, maybe after a space, with trailing newlines;</li>
 *   <li>{@code \s*[\r\n]+}: whitespace up to and including its last newline;</li>
 *   <li>{@code \s+(?!\S)}: whitespace, leaving the last one to prefix the next word;</li>
 *   <li>{@code \s+}: the rest of the whitespace.</li>
 * </ol>
 * Classes follow Unicode as those engines do: {@code \p{L}} and {@code \p{N}} are general categories
 * L* and N* (Java's {@code Character.isLetter} matches L*, but {@code isDigit} is only Nd), and
 * {@code \s} is the White_Space property (not {@code Character.isWhitespace}, which leaves out
 * U+00A0, U+2007, U+202F and adds U+001C..U+001F). Iteration is by code point, so a surrogate pair
 * is one character; a lone surrogate counts as a symbol.
 */
final class Llama3PreTokenizer implements PreTokenizer {
    static final String PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    static final Llama3PreTokenizer INSTANCE = new Llama3PreTokenizer();

    static final byte OTHER = 0;
    static final byte LETTER = 1;
    static final byte NUMBER = 2;
    /** White_Space except CR and LF. */
    static final byte SPACE = 3;
    /** CR or LF. */
    static final byte NEWLINE = 4;

    /** Class of every BMP char (64 KiB); supplementary code points are classified on the fly. */
    private static final byte[] BMP = new byte[0x10000];

    static {
        for (int c = 0; c < BMP.length; c++) {
            BMP[c] = classify(c);
        }
    }

    private Llama3PreTokenizer() {
    }

    static byte classify(int cp) {
        if (cp == '\r' || cp == '\n') {
            return NEWLINE;
        }
        if (isWhiteSpace(cp)) {
            return SPACE;
        }
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            default -> OTHER;
        };
    }

    /** The Unicode White_Space property, which is what {@code \s} means in the Rust regex crate. */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    static int classOf(int cp) {
        return cp < 0x10000 ? BMP[cp] : classify(cp);
    }

    /** The code point at i (a lone surrogate stands for itself), reading no further than {@code to}. */
    private static int codePointAt(String s, int i, int to) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < to) {
            char d = s.charAt(i + 1);
            if (Character.isLowSurrogate(d)) {
                return Character.toCodePoint(c, d);
            }
        }
        return c;
    }

    @Override
    public void split(String text, int from, int to, PieceSink sink) {
        int i = from;
        while (i < to) {
            int end = pieceEnd(text, i, to);
            sink.piece(text, i, end);
            i = end;
        }
    }

    /** The end of the piece that starts at {@code i} (i < to). */
    static int pieceEnd(String s, int i, int to) {
        int c = codePointAt(s, i, to);
        int next = i + Character.charCount(c);
        int cls = classOf(c);

        // 1. Contractions. Only 's' has a non-ASCII case variant: U+017F LATIN SMALL LETTER LONG S.
        if (c == '\'' && next < to) {
            char a = s.charAt(next);
            switch (a) {
                case 's', 'S', '\u017F', 't', 'T', 'm', 'M', 'd', 'D' -> {
                    return next + 1;
                }
                case 'r', 'R', 'v', 'V' -> {
                    if (next + 1 < to && (s.charAt(next + 1) | 0x20) == 'e') {
                        return next + 2;
                    }
                }
                case 'l', 'L' -> {
                    if (next + 1 < to && (s.charAt(next + 1) | 0x20) == 'l') {
                        return next + 2;
                    }
                }
                default -> {
                }
            }
        }
        // 2. A word, with one optional leading character that is not a newline, letter or digit.
        if (cls == LETTER) {
            return letters(s, next, to);
        }
        if (cls != NUMBER && cls != NEWLINE && next < to) {
            int d = codePointAt(s, next, to);
            if (classOf(d) == LETTER) {
                return letters(s, next + Character.charCount(d), to);
            }
        }
        // 3. One to three digits.
        if (cls == NUMBER) {
            int end = next;
            for (int k = 1; k < 3 && end < to; k++) {
                int d = codePointAt(s, end, to);
                if (classOf(d) != NUMBER) {
                    break;
                }
                end += Character.charCount(d);
            }
            return end;
        }
        // 4. Symbols, after an optional space, then any newlines.
        int symbols = -1;
        if (cls == OTHER) {
            symbols = i;
        } else if (c == ' ' && next < to && classOf(codePointAt(s, next, to)) == OTHER) {
            symbols = next;
        }
        if (symbols >= 0) {
            int end = symbols;
            while (end < to) {
                int d = codePointAt(s, end, to);
                if (classOf(d) != OTHER) {
                    break;
                }
                end += Character.charCount(d);
            }
            while (end < to && (s.charAt(end) == '\n' || s.charAt(end) == '\r')) {
                end++;
            }
            return end;
        }
        // 5-7. Whitespace (all White_Space characters are in the BMP, one char each).
        int end = i;
        int lastNewline = -1;
        while (end < to) {
            int k = BMP[s.charAt(end)];
            if (k == NEWLINE) {
                lastNewline = end;
            } else if (k != SPACE) {
                break;
            }
            end++;
        }
        if (lastNewline >= 0) {
            return lastNewline + 1; // \s*[\r\n]+ : backtracks to the last newline of the run
        }
        if (end == to || end - i == 1) {
            return end; // \s+(?!\S) at the end of the text, or \s+ for a single space before a word
        }
        return end - 1; // \s+(?!\S) : leave one space to start the next piece
    }

    private static int letters(String s, int i, int to) {
        while (i < to) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if (BMP[c] != LETTER) {
                    return i;
                }
                i++;
            } else {
                int d = codePointAt(s, i, to);
                if (classOf(d) != LETTER) {
                    return i;
                }
                i += Character.charCount(d);
            }
        }
        return i;
    }

    @Override
    public String toString() {
        return "Llama 3 split regex";
    }
}
