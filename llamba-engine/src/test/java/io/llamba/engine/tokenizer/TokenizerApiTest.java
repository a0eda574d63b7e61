package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class TokenizerApiTest {
    private static final Tokenizer T = Tokenizers.llama3();

    @Test
    void llama3SpecialIds() {
        assertEquals(128000, T.beginOfText());
        assertEquals(128001, T.endOfText());
        assertEquals(128009, T.endOfTurn());
        assertEquals(128008, T.endOfMessage());
        assertEquals(OptionalInt.of(128010), T.specialId("<|python_tag|>"));
        assertEquals(OptionalInt.of(128255), T.specialId("<|reserved_special_token_247|>"));
        assertEquals(OptionalInt.empty(), T.specialId("<|reserved_special_token_248|>"));
        assertEquals(OptionalInt.empty(), T.specialId("hello"));
        assertTrue(T.isSpecial(128006));
        assertFalse(T.isSpecial(127999));
        assertFalse(T.isSpecial(-1));
        assertFalse(T.isSpecial(1 << 20));
        assertSame(T, Tokenizers.llama3());
        assertThrows(IllegalStateException.class, () -> T.requireSpecial("<|image|>"));
    }

    @Test
    void tokenLookups() {
        assertEquals(OptionalInt.of(9906), T.tokenId("Hello"));
        assertEquals(OptionalInt.of(220), T.tokenId(" "));
        assertEquals(OptionalInt.of(128009), T.tokenId("<|eot_id|>"));
        assertEquals(OptionalInt.empty(), T.tokenId("Hellohellohello"));
        assertArrayEquals("Hello".getBytes(StandardCharsets.UTF_8), T.tokenBytes(9906));
        assertArrayEquals("<|eot_id|>".getBytes(StandardCharsets.UTF_8), T.tokenBytes(128009));
        assertEquals(128256, T.vocabSize());
        assertThrows(IllegalArgumentException.class, () -> T.tokenBytes(128256));
        assertThrows(IllegalArgumentException.class, () -> T.decode(new int[] {1, -1}));
    }

    @Test
    void specialsOnlyWithSpecials() {
        String text = "a<|eot_id|>b<|begin_of_text|><|not_special|>";
        int[] plain = T.encode(text);
        int[] special = T.encodeWithSpecials(text);
        assertFalse(java.util.Arrays.stream(plain).anyMatch(T::isSpecial));
        assertEquals(2, java.util.Arrays.stream(special).filter(T::isSpecial).count());
        assertEquals(text, T.decode(plain));
        assertEquals(text, T.decode(special));
    }

    @Test
    void loneSurrogatesEncodeAsReplacementCharacter() {
        assertEquals("a\uFFFDb\uFFFD", T.decode(T.encode("a\uD800b\uDC00")));
    }

    @Test
    void concurrentEncodingGivesTheSameIds() throws Exception {
        List<String> texts = new ArrayList<>();
        for (SharedData.GoldenRow row : SharedData.golden()) {
            texts.add(row.text());
        }
        List<int[]> expected = new ArrayList<>();
        for (String s : texts) {
            expected.add(T.encodeWithSpecials(s));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                int shift = w;
                results.add(pool.submit(() -> {
                    for (int round = 0; round < 5; round++) {
                        for (int i = 0; i < texts.size(); i++) {
                            int k = (i + shift * 31) % texts.size();
                            if (!java.util.Arrays.equals(expected.get(k), T.encodeWithSpecials(texts.get(k)))) {
                                return false;
                            }
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
