package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.llamba.engine.json.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every golden row, both modes, for the tokenizer.json loader and the tiktoken loader (file and bundled copy). */
class GoldenEncodingTest {
    private static Tokenizer tiktokenFile;

    private static synchronized Tokenizer tiktokenFile() throws IOException {
        if (tiktokenFile == null) {
            tiktokenFile = Tokenizers.load(SharedData.llama3Dir().resolve("tokenizer.model"));
        }
        return tiktokenFile;
    }

    static Stream<Arguments> loaders() {
        return Stream.of(
                Arguments.of("tokenizer.json"),
                Arguments.of("tokenizer.model"),
                Arguments.of("bundled llama3 tokenizer.model"));
    }

    private static Tokenizer tokenizer(String which) throws IOException {
        return switch (which) {
            case "tokenizer.json" -> SharedData.huggingFace();
            case "tokenizer.model" -> tiktokenFile();
            default -> Tokenizers.llama3();
        };
    }

    @ParameterizedTest(name = "{0}: ids")
    @MethodSource("loaders")
    void goldenIds(String which) throws IOException {
        Tokenizer t = tokenizer(which);
        check(which, "ids", t::encode, SharedData.GoldenRow::ids);
    }

    @ParameterizedTest(name = "{0}: ids_with_specials")
    @MethodSource("loaders")
    void goldenIdsWithSpecials(String which) throws IOException {
        Tokenizer t = tokenizer(which);
        check(which, "ids_with_specials", t::encodeWithSpecials, SharedData.GoldenRow::idsWithSpecials);
    }

    private static void check(String which, String mode, Function<String, int[]> encode,
                              Function<SharedData.GoldenRow, int[]> expected) {
        List<SharedData.GoldenRow> rows = SharedData.golden();
        assertTrue(rows.size() > 100, "golden file has only " + rows.size() + " rows");
        List<String> mismatches = new ArrayList<>();
        int failed = 0;
        for (SharedData.GoldenRow row : rows) {
            int[] got = encode.apply(row.text());
            if (!Arrays.equals(got, expected.apply(row))) {
                failed++;
                if (mismatches.size() < 5) {
                    mismatches.add("line " + row.line() + " text " + Json.quote(row.text()) + "\n  expected "
                            + Arrays.toString(expected.apply(row)) + "\n  got      " + Arrays.toString(got));
                }
            }
        }
        if (failed > 0) {
            fail(which + " " + mode + ": " + failed + " of " + rows.size() + " golden rows differ; first ones:\n"
                    + String.join("\n", mismatches));
        }
    }

    @ParameterizedTest(name = "{0}: decode(encode(x)) == x")
    @MethodSource("loaders")
    void roundTrip(String which) throws IOException {
        Tokenizer t = tokenizer(which);
        for (SharedData.GoldenRow row : SharedData.golden()) {
            assertEquals(row.text(), t.decode(t.encode(row.text())), "line " + row.line());
            assertEquals(row.text(), t.decode(t.encodeWithSpecials(row.text())), "line " + row.line());
        }
    }

    @Test
    void tiktokenLoaderHasTheSameTokensAsTokenizerJson() {
        Tokenizer hf = SharedData.huggingFace();
        Tokenizer tt = Tokenizers.llama3();
        assertEquals(128256, hf.vocabSize());
        assertEquals(hf.vocabSize(), tt.vocabSize());
        assertEquals(hf.specialTokens(), tt.specialTokens());
        assertEquals(256, tt.specialTokens().size());
        for (int id = 0; id < hf.vocabSize(); id++) {
            if (!Arrays.equals(hf.tokenBytes(id), tt.tokenBytes(id)) || hf.isSpecial(id) != tt.isSpecial(id)) {
                fail("token " + id + " differs: " + Arrays.toString(hf.tokenBytes(id)) + " special=" + hf.isSpecial(id)
                        + " vs " + Arrays.toString(tt.tokenBytes(id)) + " special=" + tt.isSpecial(id));
            }
        }
        for (String s : hf.specialTokens()) {
            assertEquals(hf.specialId(s), tt.specialId(s), s);
        }
    }
}
