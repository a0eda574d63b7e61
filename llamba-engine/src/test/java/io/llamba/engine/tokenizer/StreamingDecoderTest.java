package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {
    private static final Tokenizer T = Tokenizers.llama3();

    private static final String[] TEXTS = {
        "Emoji: \uD83D\uDE00\uD83D\uDC4D\uD83C\uDFFD\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67 \uD83C\uDDEF\uD83C\uDDF5!",
        "\u4E2D\u6587\u5206\u8BCD\u6D4B\u8BD5\uFF0C\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8\u3002\uD55C\uAD6D\uC5B4",
        "Combining: e\u0301 a\u0308 n\u0303\u0301\u0308 \u0915\u094D\u0937 \u0e01\u0e33",
        "Rare: \uD800\uDF48 \uD83E\uDDEC\uD83E\uDEE0 \uD834\uDD1E \u2603\uFE0F",
        "plain ascii, with <|eot_id|> text",
    };

    private static boolean isBroken(String delta) {
        if (delta.indexOf('\uFFFD') >= 0) {
            return true;
        }
        if (!delta.isEmpty() && (Character.isLowSurrogate(delta.charAt(0))
                || Character.isHighSurrogate(delta.charAt(delta.length() - 1)))) {
            return true;
        }
        return false;
    }

    @Test
    void deltasNeverSplitACharacterAndConcatenateToTheText() {
        for (String text : TEXTS) {
            int[] ids = T.encode(text);
            StreamingDecoder d = T.newStreamingDecoder();
            StringBuilder all = new StringBuilder();
            int held = 0;
            for (int id : ids) {
                String delta = d.push(id);
                assertFalse(isBroken(delta), () -> "broken delta " + io.llamba.engine.json.Json.quote(delta));
                if (d.hasPending()) {
                    held++;
                }
                all.append(delta);
            }
            assertEquals("", d.flush());
            assertEquals(text, all.toString());
            if (text.startsWith("Emoji") || text.startsWith("Rare")) {
                assertTrue(held > 0, "expected some token to end inside a character in " + text);
            }
        }
    }

    @Test
    void byteTokensOneAtATime() {
        // Feed the single-byte tokens of each UTF-8 byte: every character is held until its last byte.
        String text = "\u00E9\u4E2D\uD83D\uDE00x";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StreamingDecoder d = T.newStreamingDecoder();
        StringBuilder all = new StringBuilder();
        for (byte b : bytes) {
            String delta = d.push(byteToken(b));
            assertFalse(isBroken(delta), delta);
            all.append(delta);
        }
        assertEquals(text, all.append(d.flush()).toString());
    }

    private static int byteToken(byte b) {
        return T.model().byteTokens()[b & 0xFF];
    }

    @Test
    void incompleteTailBecomesReplacementOnFlush() {
        StreamingDecoder d = T.newStreamingDecoder();
        byte[] emoji = "\uD83D\uDE00".getBytes(StandardCharsets.UTF_8);
        assertEquals("a", d.push(T.tokenId("a").getAsInt()));
        assertEquals("", d.push(byteToken(emoji[0])));
        assertEquals("", d.push(byteToken(emoji[1])));
        assertEquals("\uFFFD", d.flush());
        assertFalse(d.hasPending());
    }

    @Test
    void specialTokensDecodeToTheirText() {
        StreamingDecoder d = T.newStreamingDecoder();
        assertEquals("<|eot_id|>", d.push(T.endOfTurn()));
    }

    @Test
    void randomBytesDecodeLikeTheWholeSequence() {
        // Arbitrary byte tokens, valid UTF-8 or not: deltas + flush equal decoding everything at once.
        SplittableRandom random = new SplittableRandom(3);
        byte[] interesting = {(byte) 0x41, (byte) 0xC3, (byte) 0xA9, (byte) 0xE4, (byte) 0xB8, (byte) 0xAD,
            (byte) 0xF0, (byte) 0x9F, (byte) 0x98, (byte) 0x80, (byte) 0xE0, (byte) 0xED, (byte) 0xA0,
            (byte) 0xF4, (byte) 0x90, (byte) 0xC0, (byte) 0xFF, (byte) 0xBF, (byte) 0xF8};
        for (int n = 0; n < 5_000; n++) {
            int[] ids = new int[random.nextInt(12)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(4) == 0 ? random.nextInt(128000) : byteToken(interesting[random.nextInt(interesting.length)]);
            }
            StreamingDecoder d = T.newStreamingDecoder();
            StringBuilder all = new StringBuilder();
            for (int id : ids) {
                all.append(d.push(id));
            }
            all.append(d.flush());
            assertEquals(T.decode(ids), all.toString(), () -> java.util.Arrays.toString(ids));
        }
    }
}
