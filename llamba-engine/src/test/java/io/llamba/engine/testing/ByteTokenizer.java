package io.llamba.engine.testing;

import io.llamba.engine.json.Json;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level tokenizer.json with no merges: ids 0..255 are the bytes, then the Llama 3 chat
 * specials. Small enough for tiny test models, yet the same code path as a real Llama 3 tokenizer.
 */
public final class ByteTokenizer {
    public static final List<String> SPECIALS = List.of("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
            "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>");
    public static final int VOCAB = 256 + SPECIALS.size();
    public static final int BOS = 256;
    public static final int END_OF_TEXT = 257;
    public static final int EOT = 260;
    public static final int EOM = 261;
    public static final int PYTHON_TAG = 262;

    private ByteTokenizer() {
    }

    /** GPT-2's byte-to-unicode table: printable bytes stand for themselves, the rest map above 255. */
    static char[] byteChars() {
        char[] map = new char[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            direct[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            direct[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            direct[b] = true;
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            map[b] = direct[b] ? (char) b : (char) next++;
        }
        return map;
    }

    public static String json() {
        char[] chars = byteChars();
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
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("added_tokens", added);
        root.put("pre_tokenizer", Map.of("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", true));
        root.put("decoder", Map.of("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", true, "use_regex", true));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("ignore_merges", true);
        model.put("vocab", vocab);
        model.put("merges", List.of());
        root.put("model", model);
        return Json.write(root);
    }

    public static Tokenizer load() {
        try {
            return Tokenizers.load(new ByteArrayInputStream(json().getBytes(StandardCharsets.UTF_8)), "byte tokenizer");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
