package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.llamba.engine.json.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The hand-written Llama 3 scanner against java.util.regex running the same pattern. */
class PreTokenizerTest {
    /** Characters at the edges of the regex classes, in Java's and the Rust regex crate's view. */
    private static final String[] ALPHABET = {
        "a", "Z", "s", "S", "t", "l", "L", "r", "R", "e", "E", "v", "m", "d", "D", "x", "'", "'", "'",
        "\u017F", // LATIN SMALL LETTER LONG S: (?i)'s matches it
        "0", "7", "\u00B2", "\u216B", "\u0663", // digits, superscript two (No), roman numeral (Nl), Arabic-Indic
        " ", " ", " ", "\t", "\n", "\r", "\u000B", "\u000C", "\u0085", "\u00A0", "\u1680", "\u2007",
        "\u2028", "\u2029", "\u202F", "\u205F", "\u3000",
        "\u001C", "\u180E", "\u200B", "\uFEFF", // whitespace to Java but not White_Space, or neither
        ".", ",", "!", "?", "-", "_", "(", "<", "|", ">", "\"", "#", "\u2026",
        "\u0301", "\u0308", "\u200D", // combining marks and ZWJ: not letters
        "\u00E9", "\u00DF", "\u4E2D", "\u6587", "\u30C6", "\uD55C", "\u0436", "\u03B1", "\u01C5", // letters, titlecase
        "\u02B0", "\u3005", // modifier letters
        "\uD83D\uDE00", "\uD83D\uDC4D\uD83C\uDFFD", "\uD83C\uDDEF\uD83C\uDDF5", // emoji, skin tone, flag
        "\uD835\uDFD8", // MATHEMATICAL DOUBLE-STRUCK DIGIT ZERO (Nd, supplementary)
        "\uD801\uDC00", // DESERET CAPITAL LETTER LONG I (Lu, supplementary)
        "\uD800", "\uDC00", // lone surrogates
    };

    private static List<String> pieces(PreTokenizer pre, String text) {
        List<String> out = new ArrayList<>();
        pre.split(text, 0, text.length(), (s, a, b) -> out.add(s.substring(a, b)));
        return out;
    }

    @Test
    void scannerMatchesJavaRegexOnRandomText() {
        PreTokenizer regex = new RegexPreTokenizer(Llama3PreTokenizer.PATTERN);
        SplittableRandom random = new SplittableRandom(42);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder sb = new StringBuilder();
            int len = random.nextInt(30);
            for (int i = 0; i < len; i++) {
                String c = ALPHABET[random.nextInt(ALPHABET.length)];
                int repeat = random.nextInt(8) == 0 ? 1 + random.nextInt(5) : 1;
                sb.append(c.repeat(repeat));
            }
            String text = sb.toString();
            assertEquals(pieces(regex, text), pieces(Llama3PreTokenizer.INSTANCE, text), () -> Json.quote(text));
        }
    }

    @Test
    void scannerMatchesJavaRegexOnGoldenTexts() {
        PreTokenizer regex = new RegexPreTokenizer(Llama3PreTokenizer.PATTERN);
        for (SharedData.GoldenRow row : SharedData.golden()) {
            assertEquals(pieces(regex, row.text()), pieces(Llama3PreTokenizer.INSTANCE, row.text()), "line " + row.line());
        }
    }

    @Test
    void examples() {
        assertEquals(List.of("Hello", ",", " world", "!"), pieces(Llama3PreTokenizer.INSTANCE, "Hello, world!"));
        assertEquals(List.of("I", "'m", " fine", "'S"), pieces(Llama3PreTokenizer.INSTANCE, "I'm fine'S"));
        assertEquals(List.of("123", "456", "7", " ", " x"), pieces(Llama3PreTokenizer.INSTANCE, "1234567  x"));
        assertEquals(List.of("a", " \n\n", "  ", " b", "   "), pieces(Llama3PreTokenizer.INSTANCE, "a \n\n   b   "));
        assertEquals(List.of("!!!\n", "\tx", " ?\r\n"), pieces(Llama3PreTokenizer.INSTANCE, "!!!\n\tx ?\r\n"));
        // a range is a string of its own: the lookahead does not see past its end
        List<String> out = new ArrayList<>();
        Llama3PreTokenizer.INSTANCE.split("ab  cd", 0, 4, (s, a, b) -> out.add(s.substring(a, b)));
        assertEquals(List.of("ab", "  "), out);
    }

    @Test
    void classesFollowUnicodeNotJavaWhitespace() {
        assertEquals(Llama3PreTokenizer.SPACE, Llama3PreTokenizer.classOf(0xA0));
        assertEquals(Llama3PreTokenizer.SPACE, Llama3PreTokenizer.classOf(0x202F));
        assertEquals(Llama3PreTokenizer.OTHER, Llama3PreTokenizer.classOf(0x1C));
        assertEquals(Llama3PreTokenizer.OTHER, Llama3PreTokenizer.classOf(0x180E));
        assertEquals(Llama3PreTokenizer.NUMBER, Llama3PreTokenizer.classOf(0xB2));
        assertEquals(Llama3PreTokenizer.NUMBER, Llama3PreTokenizer.classOf(0x1D7D8));
        assertEquals(Llama3PreTokenizer.LETTER, Llama3PreTokenizer.classOf(0x10400));
        assertEquals(Llama3PreTokenizer.OTHER, Llama3PreTokenizer.classOf(0x301));
        assertEquals(Llama3PreTokenizer.NEWLINE, Llama3PreTokenizer.classOf('\r'));
    }
}
