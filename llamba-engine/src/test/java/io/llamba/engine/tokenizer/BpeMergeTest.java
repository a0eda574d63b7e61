package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The heap merge loop (long pieces) gives the same tokens as the scanning loop, and both loaders agree. */
class BpeMergeTest {
    private static String randomText(SplittableRandom random, String alphabet, int maxLen) {
        StringBuilder sb = new StringBuilder();
        int len = 1 + random.nextInt(maxLen);
        for (int i = 0; i < len; i++) {
            sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    @Test
    void heapAndScanAgree() {
        SplittableRandom random = new SplittableRandom(7);
        String[] alphabets = {"abcdefghijklmnopqrstuvwxyz", "aab", "ab ", " \t\n", "=-*#", "th e", "\u4E2D\u6587\u00E9"};
        for (Tokenizer t : new Tokenizer[] {SharedData.huggingFace(), Tokenizers.llama3()}) {
            for (int n = 0; n < 300; n++) {
                String text = randomText(random, alphabets[n % alphabets.length], 600);
                assertArrayEquals(t.encodeForTest(text, Integer.MAX_VALUE), t.encodeForTest(text, 1), text);
                assertArrayEquals(t.encode(text), t.encodeForTest(text, 1), text);
            }
        }
    }

    @Test
    void longRunsStayFast() {
        Tokenizer t = Tokenizers.llama3();
        String text = "a".repeat(200_000) + " " + "\u4E2D".repeat(50_000) + "=".repeat(100_000);
        long start = System.nanoTime();
        int[] ids = t.encode(text);
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(text, t.decode(ids));
        assertEquals(true, ms < 5_000, "took " + ms + " ms");
    }

    @Test
    void huggingFaceAndTiktokenAgreeOnRandomText() {
        Tokenizer hf = SharedData.huggingFace();
        Tokenizer tt = Tokenizers.llama3();
        SplittableRandom random = new SplittableRandom(11);
        String alphabet = "abcdeilnorst ETAOIN'.,;!?-_()[]{}<>|0123456789\n\t  \u00E9\u00E8\u00FC\u00DF\u4E2D\u6587\u65E5\u672C"
                + "\u0436\u0432\u03B1\u03B2\uD55C\u30C6\u0301\u200D";
        int differ = 0;
        StringBuilder first = new StringBuilder();
        for (int n = 0; n < 5_000; n++) {
            String text = randomText(random, alphabet, 60);
            int[] a = hf.encodeWithSpecials(text);
            int[] b = tt.encodeWithSpecials(text);
            if (!java.util.Arrays.equals(a, b)) {
                if (differ++ < 5) {
                    first.append(io.llamba.engine.json.Json.quote(text)).append('\n');
                }
            }
        }
        assertEquals(0, differ, first::toString);
    }
}
