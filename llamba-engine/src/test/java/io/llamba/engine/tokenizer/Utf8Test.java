package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Lossy decoding as Python's {@code bytes.decode("utf-8", "replace")} (and Rust's from_utf8_lossy) does it. */
class Utf8Test {
    private static String decode(String hex) {
        byte[] b = HexFormat.of().parseHex(hex);
        return Utf8.decode(b, 0, b.length);
    }

    @Test
    void maximalSubpartsBecomeOneReplacementEach() {
        // Expected values printed by CPython 3.
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFDlua\uFFFD", decode("eda998c36c7561f0"));
        assertEquals("\uFFFD", decode("e4b8"));
        assertEquals("\uFFFDa", decode("e4b861"));
        assertEquals("\uFFFD", decode("f09f98"));
        assertEquals("\uD83D\uDE00", decode("f09f9880"));
        assertEquals("\uFFFD\uFFFD", decode("c0af"));
        assertEquals("\uFFFD\uFFFD\uFFFD", decode("e080af"));
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", decode("f4908080"));
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD", decode("f888808080"));
        assertEquals("\uFFFD\uFFFD\uFFFD", decode("eda080"));
        assertEquals("a\uFFFD\uFFFDb", decode("61808062"));
        assertEquals("\uFFFD\uFFFD\uFFFD", decode("f18080e180c2"));
        assertEquals("h\u00E9\u4E2D", decode("68c3a9e4b8ad"));
        assertEquals("", decode(""));
    }

    @Test
    void completeLengthHoldsOnlyProperPrefixes() {
        assertEquals(1, complete("61e4")); // E4 waits
        assertEquals(1, complete("61e4b8"));
        assertEquals(4, complete("61e4b8ad"));
        assertEquals(1, complete("61ed")); // ED alone may still become U+D7FF
        assertEquals(3, complete("61eda0")); // ED A0 is a surrogate: never valid, decode now
        assertEquals(1, complete("61f09f98"));
        assertEquals(3, complete("61f08f")); // overlong
        assertEquals(2, complete("61c0")); // never a lead
        assertEquals(2, complete("6180"));
    }

    private static int complete(String hex) {
        byte[] b = HexFormat.of().parseHex(hex);
        return Utf8.completeLength(b, b.length);
    }
}
