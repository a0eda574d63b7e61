package io.llamba.engine.tokenizer;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} holding a byte-level BPE model: {@code model} of type
 * BPE (vocab, merges as "a b" strings or [a, b] pairs, ignore_merges), {@code added_tokens}, a
 * pre-tokenizer that is ByteLevel alone or Sequence[Split(regex, Isolated), ByteLevel(use_regex:
 * false)], and a ByteLevel decoder. Anything else (normalizers, WordPiece, byte fallback...) is
 * refused with a message rather than encoded differently from the reference.
 */
final class HuggingFaceTokenizerReader {
    /** Ids index arrays, so a stray huge id must not allocate gigabytes; 16M is far above any real vocabulary. */
    static final int MAX_ID = (1 << 24) - 1;

    private final String origin;

    private HuggingFaceTokenizerReader(String origin) {
        this.origin = origin;
    }

    static Tokenizer read(String json, String origin) {
        try {
            return new HuggingFaceTokenizerReader(origin).read(Json.parseObject(json, origin));
        } catch (JsonException e) {
            throw new TokenizerFormatException(e.getMessage(), e);
        }
    }

    private TokenizerFormatException fail(String what) {
        return new TokenizerFormatException(origin + ": " + what);
    }

    private Tokenizer read(JsonObject root) {
        JsonObject model = root.getObject("model");
        String type = model.optString("type", "BPE");
        if (!type.equals("BPE")) {
            throw fail("model type " + type + " is not supported (only byte-level BPE)");
        }
        if (model.has("dropout") && model.getDouble("dropout") != 0) {
            throw fail("model.dropout is not supported (it randomises encoding)");
        }
        if (!model.optString("continuing_subword_prefix", "").isEmpty()
                || !model.optString("end_of_word_suffix", "").isEmpty()) {
            throw fail("continuing_subword_prefix / end_of_word_suffix are not supported (not byte-level BPE)");
        }
        if (model.optBoolean("byte_fallback", false)) {
            throw fail("byte_fallback is not supported (a SentencePiece-style BPE, not byte-level)");
        }
        if (root.has("normalizer")) {
            throw fail("normalizer " + root.getObject("normalizer").optString("type", "?") + " is not supported");
        }
        PreTokenizer pre = preTokenizer(root);
        if (root.has("decoder")) {
            String decoder = root.getObject("decoder").optString("type", "?");
            if (!decoder.equals("ByteLevel")) {
                throw fail("decoder " + decoder + " is not supported (expected ByteLevel)");
            }
        }

        // Vocabulary: the byte-level strings map back to bytes.
        JsonObject vocab = model.getObject("vocab");
        Map<String, Integer> ids = new HashMap<>(vocab.keys().size() * 2);
        int maxId = -1;
        for (String token : vocab.keys()) {
            long id = vocab.getLong(token);
            if (id < 0 || id > MAX_ID) {
                throw fail("model.vocab: id " + id + " of " + quote(token) + " out of range");
            }
            ids.put(token, (int) id);
            maxId = Math.max(maxId, (int) id);
        }
        if (ids.isEmpty()) {
            throw fail("model.vocab is empty");
        }

        List<AddedToken> added = new ArrayList<>();
        if (root.has("added_tokens")) {
            for (JsonObject t : root.getObjectList("added_tokens")) {
                long id = t.getLong("id");
                String content = t.getString("content");
                if (id < 0 || id > MAX_ID) {
                    throw t.error("id", "id " + id + " out of range");
                }
                if (content.isEmpty()) {
                    throw t.error("content", "empty");
                }
                for (String flag : new String[] {"lstrip", "rstrip", "single_word"}) {
                    if (t.optBoolean(flag, false)) {
                        throw t.error(flag, "added token " + quote(content) + ": " + flag + " is not supported");
                    }
                }
                added.add(new AddedToken((int) id, content, t.optBoolean("special", false)));
                maxId = Math.max(maxId, (int) id);
            }
        }

        byte[][] bytes = new byte[maxId + 1][];
        boolean[] indexed = new boolean[maxId + 1];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            int id = e.getValue();
            if (bytes[id] != null) {
                throw fail("model.vocab: id " + id + " is given to two tokens");
            }
            bytes[id] = ByteLevel.decode(e.getKey());
            indexed[id] = true;
        }
        for (AddedToken t : added) {
            // An added token decodes to its content (it may also be a vocab entry; then the index keeps that).
            bytes[t.id()] = t.content().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }

        int[] byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = ids.getOrDefault(String.valueOf(ByteLevel.charOf(b)), -1);
        }

        List<Object> mergeList = model.getArray("merges");
        MergeTable merges = new MergeTable(mergeList.size());
        for (int rank = 0; rank < mergeList.size(); rank++) {
            Object m = mergeList.get(rank);
            String left;
            String right;
            if (m instanceof String s) {
                int space = s.indexOf(' ');
                if (space <= 0 || space != s.lastIndexOf(' ') || space == s.length() - 1) {
                    throw fail("model.merges[" + rank + "]: expected \"left right\", got " + quote(s));
                }
                left = s.substring(0, space);
                right = s.substring(space + 1);
            } else if (m instanceof List<?> pair && pair.size() == 2
                    && pair.get(0) instanceof String a && pair.get(1) instanceof String b) {
                left = a;
                right = b;
            } else {
                throw fail("model.merges[" + rank + "]: expected \"left right\" or [left, right], got "
                        + JsonObject.describe(m));
            }
            Integer a = ids.get(left);
            Integer b = ids.get(right);
            if (a == null || b == null) {
                throw fail("model.merges[" + rank + "] names unknown token " + quote(a == null ? left : right));
            }
            Integer merged = ids.get(left + right);
            if (merged == null) {
                throw fail("model.merges[" + rank + "]: merged token " + quote(left + right) + " is not in the vocab");
            }
            merges.put(a, b, rank, merged);
        }

        int unknown = -1;
        if (model.has("unk_token")) {
            String unk = model.getString("unk_token");
            Integer id = ids.get(unk);
            if (id == null) {
                throw fail("model.unk_token " + quote(unk) + " is not in the vocab");
            }
            unknown = id;
        }
        BpeModel bpe = BpeModel.of(new TokenTable(bytes, indexed), merges, byteTokens,
                model.optBoolean("ignore_merges", false), unknown, model.optBoolean("fuse_unk", false));
        return new Tokenizer(origin, bpe, added, pre);
    }

    private PreTokenizer preTokenizer(JsonObject root) {
        if (!root.has("pre_tokenizer")) {
            throw fail("no pre_tokenizer (a byte-level BPE needs ByteLevel)");
        }
        JsonObject pt = root.getObject("pre_tokenizer");
        String type = pt.optString("type", "?");
        if (type.equals("ByteLevel")) {
            checkByteLevel(pt, "pre_tokenizer");
            return pt.optBoolean("use_regex", true)
                    ? new RegexPreTokenizer(RegexPreTokenizer.GPT2_PATTERN)
                    : WholeTextPreTokenizer.INSTANCE;
        }
        if (!type.equals("Sequence")) {
            throw fail("pre_tokenizer " + type + " is not supported (expected ByteLevel, or Sequence of Split and ByteLevel)");
        }
        List<JsonObject> steps = pt.getObjectList("pretokenizers");
        if (steps.size() == 1 || steps.size() == 2) {
            JsonObject last = steps.getLast();
            if (last.optString("type", "?").equals("ByteLevel")) {
                checkByteLevel(last, "pre_tokenizer.pretokenizers[" + (steps.size() - 1) + "]");
                if (steps.size() == 1) {
                    return last.optBoolean("use_regex", true)
                            ? new RegexPreTokenizer(RegexPreTokenizer.GPT2_PATTERN)
                            : WholeTextPreTokenizer.INSTANCE;
                }
                if (last.optBoolean("use_regex", true)) {
                    throw fail("pre_tokenizer: ByteLevel after Split must have use_regex false");
                }
                return split(steps.getFirst());
            }
        }
        throw fail("pre_tokenizer Sequence is not supported (expected [Split, ByteLevel] or [ByteLevel])");
    }

    private void checkByteLevel(JsonObject bl, String where) {
        if (bl.optBoolean("add_prefix_space", false)) {
            throw fail(where + ": ByteLevel add_prefix_space is not supported");
        }
    }

    private PreTokenizer split(JsonObject split) {
        String where = "pre_tokenizer.pretokenizers[0]";
        if (!split.optString("type", "?").equals("Split")) {
            throw fail(where + ": expected a Split, got " + split.optString("type", "?"));
        }
        if (!split.optString("behavior", "?").equals("Isolated") || split.optBoolean("invert", false)) {
            throw fail(where + ": only Split with behavior Isolated and invert false is supported");
        }
        JsonObject pattern = split.getObject("pattern");
        if (!pattern.has("Regex")) {
            throw fail(where + ": only a Regex pattern is supported");
        }
        String regex = pattern.getString("Regex");
        if (regex.equals(Llama3PreTokenizer.PATTERN)) {
            return Llama3PreTokenizer.INSTANCE;
        }
        try {
            return new RegexPreTokenizer(regex);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw fail(where + ": bad regex: " + e.getDescription());
        }
    }

    private static String quote(String s) {
        return Json.quote(s.length() > 60 ? s.substring(0, 60) + "..." : s);
    }
}
