package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llamba.engine.json.Json;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small hand-made tokenizer.json (other ids, both merge notations, added tokens) and bad-file errors. */
class TokenizerFilesTest {
    @TempDir
    Path dir;

    /** 256 byte tokens (id = byte), a few merges, specials at 262.., a plain added token. */
    private static Map<String, Object> tinyTokenizer(boolean ignoreMerges) {
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteLevel.charOf(b)), (long) b);
        }
        vocab.put("he", 256L);
        vocab.put("ll", 257L);
        vocab.put("hell", 258L);
        vocab.put("hello", 259L);
        vocab.put("\u0120h", 260L); // " h"
        vocab.put("lo", 261L); // no merge makes it: only reachable through ignore_merges
        List<Object> merges = List.of("h e", List.of("l", "l"), "he ll", List.of("hell", "o"), "\u0120 h");
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("ignore_merges", ignoreMerges);
        model.put("vocab", vocab);
        model.put("merges", merges);
        List<Object> added = new ArrayList<>();
        String[] specials = {"<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"};
        for (int i = 0; i < specials.length; i++) {
            added.add(Map.of("id", 262L + i, "content", specials[i], "special", true, "lstrip", false,
                    "rstrip", false, "normalized", false, "single_word", false));
        }
        added.add(Map.of("id", 266L, "content", "[NOTE]", "special", false));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", added);
        root.put("normalizer", null);
        root.put("pre_tokenizer", Map.of("type", "Sequence", "pretokenizers", List.of(
                Map.of("type", "Split", "pattern", Map.of("Regex", Llama3PreTokenizer.PATTERN), "behavior", "Isolated",
                        "invert", false),
                Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", false))));
        root.put("decoder", Map.of("type", "ByteLevel"));
        root.put("model", model);
        return root;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> model(Map<String, Object> json) {
        return (Map<String, Object>) json.get("model");
    }

    private Tokenizer load(Map<String, Object> json) throws IOException {
        Path p = dir.resolve("tokenizer.json");
        Files.writeString(p, Json.write(json));
        return Tokenizers.load(p);
    }

    @Test
    void smallTokenizerJson() throws IOException {
        Tokenizer t = load(tinyTokenizer(true));
        assertEquals(267, t.vocabSize());
        assertArrayEquals(new int[] {259}, t.encode("hello"));
        assertArrayEquals(new int[] {' ', 259}, t.encode(" hello"));
        assertArrayEquals(new int[] {260, 'i'}, t.encode(" hi"));
        assertArrayEquals(new int[] {261}, t.encode("lo"));
        assertArrayEquals(new int[] {'a', 266, 'b'}, t.encode("a[NOTE]b")); // plain added tokens in both modes
        assertArrayEquals(new int[] {'a', 263, 'b'}, t.encodeWithSpecials("a<|eot_id|>b"));
        assertEquals("a<|eot_id|>b", t.decode(t.encode("a<|eot_id|>b")));
        assertEquals(263, t.endOfTurn());
        assertEquals(List.of("<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"),
                t.specialTokens());
        assertThrows(IllegalStateException.class, t::endOfMessage);
        ChatTemplate chat = new ChatTemplate(t);
        List<ChatMessage> messages = List.of(ChatMessage.user("hello"));
        assertArrayEquals(t.encodeWithSpecials(chat.render(messages, true)), chat.encode(messages, true));

        Tokenizer merging = load(tinyTokenizer(false));
        assertArrayEquals(new int[] {'l', 'o'}, merging.encode("lo"));
        assertArrayEquals(new int[] {259}, merging.encode("hello"));

        // Loaded from a stream, the format is recognised by content.
        byte[] bytes = Files.readAllBytes(dir.resolve("tokenizer.json"));
        Tokenizer fromStream = Tokenizers.load(new ByteArrayInputStream(bytes), "memory");
        assertArrayEquals(new int[] {260, 'i'}, fromStream.encode(" hi"));
        // A directory finds its tokenizer.json.
        assertArrayEquals(new int[] {259}, Tokenizers.load(dir).encode("hello"));
    }

    @Test
    void byteLevelAloneUsesTheGpt2Split() throws IOException {
        Map<String, Object> json = tinyTokenizer(true);
        json.put("pre_tokenizer", Map.of("type", "ByteLevel", "add_prefix_space", false, "use_regex", true));
        Tokenizer t = load(json);
        assertEquals("regex " + RegexPreTokenizer.GPT2_PATTERN, t.preTokenizer().toString());
        assertArrayEquals(new int[] {' ', '1', '2', '3', '4'}, t.encode(" 1234")); // GPT-2: " 1234" is one piece
        assertEquals("a\n\n  hello  ", t.decode(t.encode("a\n\n  hello  ")));
    }

    private void assertBadJson(String content, String... expected) throws IOException {
        Path p = dir.resolve("bad-tokenizer.json");
        Files.writeString(p, content);
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(p));
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        for (String s : expected) {
            assertTrue(e.getMessage().contains(s), () -> "'" + e.getMessage() + "' lacks '" + s + "'");
        }
    }

    @Test
    void badTokenizerJson() throws IOException {
        assertBadJson("{\"model\": {\"type\": \"BPE\", ", "invalid JSON at line 1");
        assertBadJson("", "empty file");
        assertBadJson("[1, 2]", "expected a JSON object");

        Map<String, Object> json = tinyTokenizer(true);
        model(json).put("type", "WordPiece");
        assertBadJson(Json.write(json), "model type WordPiece is not supported");

        json = tinyTokenizer(true);
        model(json).remove("vocab");
        assertBadJson(Json.write(json), "missing field model.vocab");

        json = tinyTokenizer(true);
        model(json).put("merges", List.of("h e", "q zz"));
        assertBadJson(Json.write(json), "model.merges[1] names unknown token \"zz\"");

        json = tinyTokenizer(true);
        model(json).put("merges", List.of("l o", "o l"));
        assertBadJson(Json.write(json), "model.merges[1]: merged token \"ol\" is not in the vocab");

        json = tinyTokenizer(true);
        model(json).put("merges", List.of("hello"));
        assertBadJson(Json.write(json), "model.merges[0]: expected \"left right\"");

        json = tinyTokenizer(true);
        json.put("normalizer", Map.of("type", "NFC"));
        assertBadJson(Json.write(json), "normalizer NFC is not supported");

        json = tinyTokenizer(true);
        json.put("pre_tokenizer", Map.of("type", "Whitespace"));
        assertBadJson(Json.write(json), "pre_tokenizer Whitespace is not supported");

        json = tinyTokenizer(true);
        json.remove("pre_tokenizer");
        assertBadJson(Json.write(json), "no pre_tokenizer");

        json = tinyTokenizer(true);
        json.put("added_tokens", List.of(Map.of("id", "x", "content", "<|a|>")));
        assertBadJson(Json.write(json), "field added_tokens[0].id: expected an integer");

        assertBadJson("{\"model\": {\"vocab\": {}}}", "no pre_tokenizer");
    }

    private void assertBadModel(String content, String... expected) throws IOException {
        Path p = dir.resolve("tokenizer.model");
        Files.write(p, content.getBytes(StandardCharsets.ISO_8859_1));
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizers.load(p));
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        for (String s : expected) {
            assertTrue(e.getMessage().contains(s), () -> "'" + e.getMessage() + "' lacks '" + s + "'");
        }
    }

    @Test
    void badTiktokenModel() throws IOException {
        assertBadModel("IQ== 0\nIg== 1\n!!!! 2\n", "line 3: bad base64 '!!!!'");
        assertBadModel("IQ== 0\nIg== x\n", "line 2: rank 'x' is not an integer");
        assertBadModel("IQ== 0\nIg==\n", "line 2: expected \"<base64 token> <rank>\"");
        assertBadModel("IQ== 0\nIg== 0\n", "line 2: rank 0 given twice");
        assertBadModel("IQ== 0\nIQ== 1\n", "token of rank 1 also has rank 0");
        assertBadModel("", "empty file");
        assertBadModel("\n\n", "no tokens");
    }

    @Test
    void missingFile() {
        assertThrows(NoSuchFileException.class, () -> Tokenizers.load(dir.resolve("nope.json")));
        IOException e = assertThrows(IOException.class, () -> Tokenizers.load(dir));
        assertTrue(e.getMessage().contains("no tokenizer.json or tokenizer.model"), e.getMessage());
        assertThrows(IOException.class, () -> Tokenizers.fromClasspath("/no/such/tokenizer.json"));
    }
}
