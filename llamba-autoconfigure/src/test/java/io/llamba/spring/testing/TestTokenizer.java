package io.llamba.spring.testing;

import io.llamba.engine.json.Json;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level tokenizer.json with no merges: ids 0..255 are the bytes of the text, then the Llama 3
 * chat specials. Tiny models can use it, and a scripted reply's ids are just its UTF-8 bytes; yet it
 * goes through the same loader as a real Llama 3 tokenizer.json.
 */
public final class TestTokenizer {
    public static final List<String> SPECIALS = List.of("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
            "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>");
    public static final int VOCAB = 256 + SPECIALS.size();
    public static final int EOT = 256 + SPECIALS.indexOf("<|eot_id|>");

    private TestTokenizer() {
    }

    public static String json() {
        // GPT-2's byte-to-unicode table: printable bytes stand for themselves, the others map above 255.
        char[] chars = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            chars[b] = printable ? (char) b : (char) next++;
        }
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(chars[b]), b);
        }
        List<Object> added = new ArrayList<>();
        for (int i = 0; i < SPECIALS.size(); i++) {
            vocab.put(SPECIALS.get(i), 256 + i);
            added.add(Map.of("id", 256 + i, "content", SPECIALS.get(i), "special", true, "single_word", false,
                    "lstrip", false, "rstrip", false, "normalized", false));
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("ignore_merges", true);
        model.put("vocab", vocab);
        model.put("merges", List.of());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", added);
        root.put("pre_tokenizer", Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", true));
        root.put("decoder", Map.of("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", true, "use_regex", true));
        root.put("model", model);
        return Json.write(root);
    }

    public static Tokenizer load() {
        try {
            return Tokenizers.load(new ByteArrayInputStream(json().getBytes(StandardCharsets.UTF_8)), "test tokenizer");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void write(Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), json());
    }
}
