package io.llamba.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A byte-level BPE tokenizer (Llama 3 and tokenizers built like it), loaded by {@link Tokenizers}.
 *
 * <p>Encoding: added tokens are cut out of the text first (special ones only by
 * {@link #encodeWithSpecials}), each stretch between them is pre-tokenized into pieces, and each
 * piece's UTF-8 bytes are BPE-merged. No BOS is added; {@link ChatTemplate} builds prompts.
 *
 * <p>Immutable and thread-safe: any number of threads may encode and decode at once.
 */
public final class Tokenizer {
    private final String name;
    private final BpeModel model;
    private final TokenTable tokens;
    private final PreTokenizer preTokenizer;
    private final AddedTokenMatcher plainAdded; // non-special added tokens, or null
    private final AddedTokenMatcher allAdded; // every added token, or null
    private final boolean[] special;
    private final Map<String, Integer> addedIds;
    private final Map<String, Integer> specialIds;
    private final List<String> specialTokens;

    Tokenizer(String name, BpeModel model, List<AddedToken> added, PreTokenizer preTokenizer) {
        this.name = name;
        this.model = model;
        this.tokens = model.tokens();
        this.preTokenizer = preTokenizer;
        this.special = new boolean[tokens.size()];
        Map<String, Integer> byContent = new HashMap<>();
        Map<String, Integer> specialByContent = new HashMap<>();
        List<AddedToken> plain = new ArrayList<>();
        List<String> specialList = new ArrayList<>();
        added = added.stream().sorted(java.util.Comparator.comparingInt(AddedToken::id)).toList();
        for (AddedToken t : added) {
            byContent.put(t.content(), t.id());
            if (t.special()) {
                special[t.id()] = true;
                specialByContent.put(t.content(), t.id());
                specialList.add(t.content());
            } else {
                plain.add(t);
            }
        }
        this.plainAdded = AddedTokenMatcher.of(plain);
        this.allAdded = AddedTokenMatcher.of(added);
        this.addedIds = Map.copyOf(byContent);
        this.specialIds = Map.copyOf(specialByContent);
        this.specialTokens = List.copyOf(specialList);
    }

    /** Where it was loaded from. */
    public String name() {
        return name;
    }

    /** One more than the largest token id (the embedding needs at least this many rows). */
    public int vocabSize() {
        return tokens.size();
    }

    /** Encodes text with special-token text taken literally, as plain text: safe for user input. */
    public int[] encode(String text) {
        return encode(text, plainAdded);
    }

    /** Encodes text, turning special-token text such as {@code <|eot_id|>} into the special tokens. */
    public int[] encodeWithSpecials(String text) {
        return encode(text, allAdded);
    }

    private int[] encode(String text, AddedTokenMatcher matcher) {
        PieceEncoder encoder = new PieceEncoder(model, text.length() / 3 + 4);
        int at = 0;
        if (matcher != null) {
            AddedTokenMatcher.Hit hit;
            while (at < text.length() && (hit = matcher.find(text, at)) != null) {
                preTokenizer.split(text, at, hit.start(), encoder);
                encoder.add(hit.token().id());
                at = hit.start() + hit.token().content().length();
            }
        }
        preTokenizer.split(text, at, text.length(), encoder);
        return encoder.toArray();
    }

    /**
     * Decodes ids to text. Special tokens give their text; bytes that are not valid UTF-8 become U+FFFD,
     * one per maximal ill-formed subpart, as Hugging Face and tiktoken decode them.
     */
    public String decode(int[] ids) {
        byte[] bytes = decodeBytes(ids);
        return Utf8.decode(bytes, 0, bytes.length);
    }

    /** The concatenated bytes of the tokens. */
    public byte[] decodeBytes(int[] ids) {
        int total = 0;
        for (int id : ids) {
            check(id);
            total += tokens.length(id);
        }
        byte[] out = new byte[total];
        int at = 0;
        for (int id : ids) {
            at = tokens.copyTo(id, out, at);
        }
        return out;
    }

    /** The bytes of one token (a special token's are its text in UTF-8). */
    public byte[] tokenBytes(int id) {
        check(id);
        return tokens.bytes(id);
    }

    /** Appends the bytes of one token at {@code dst[at]}; returns the new end. For streaming decoders. */
    int copyTokenBytes(int id, byte[] dst, int at) {
        return tokens.copyTo(id, dst, at);
    }

    /** Length in bytes of one token. */
    int tokenLength(int id) {
        check(id);
        return tokens.length(id);
    }

    private void check(int id) {
        if (!tokens.exists(id)) {
            throw new IllegalArgumentException(id >= 0 && id < tokens.size()
                    ? "token id " + id + " is unused in " + name
                    : "token id " + id + " out of range [0, " + tokens.size() + ") of " + name);
        }
    }

    /** Whether the id is a valid token (ids below vocabSize() may be unused in sparse vocabularies). */
    public boolean isValid(int id) {
        return tokens.exists(id);
    }

    /** The id of the token whose text is exactly {@code text} (added, special or ordinary token). */
    public OptionalInt tokenId(String text) {
        Integer id = addedIds.get(text);
        if (id != null) {
            return OptionalInt.of(id);
        }
        int found = tokens.find(text.getBytes(StandardCharsets.UTF_8));
        return found >= 0 ? OptionalInt.of(found) : OptionalInt.empty();
    }

    /** The id of a special token, e.g. {@code specialId("<|eot_id|>")}. */
    public OptionalInt specialId(String text) {
        Integer id = specialIds.get(text);
        return id != null ? OptionalInt.of(id) : OptionalInt.empty();
    }

    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /** The special tokens' texts, in id order. */
    public List<String> specialTokens() {
        return specialTokens;
    }

    /** {@code <|begin_of_text|>}. */
    public int beginOfText() {
        return requireSpecial("<|begin_of_text|>");
    }

    /** {@code <|end_of_text|>}: end of a document; also stops generation. */
    public int endOfText() {
        return requireSpecial("<|end_of_text|>");
    }

    /** {@code <|eot_id|>}: end of a chat turn. */
    public int endOfTurn() {
        return requireSpecial("<|eot_id|>");
    }

    /** {@code <|eom_id|>}: end of a tool-call message (Llama 3.1 tool format). */
    public int endOfMessage() {
        return requireSpecial("<|eom_id|>");
    }

    /** The id of a special token that must exist; the exception names the tokenizer. */
    public int requireSpecial(String text) {
        Integer id = specialIds.get(text);
        if (id == null) {
            throw new IllegalStateException(name + " has no special token " + text);
        }
        return id;
    }

    /** A decoder for one generated sequence. */
    public StreamingDecoder newStreamingDecoder() {
        return new StreamingDecoder(this);
    }

    /** Encodes with a chosen switch-over between the scanning and heap merge loops (tests compare them). */
    int[] encodeForTest(String text, int scanLimit) {
        PieceEncoder encoder = new PieceEncoder(model, 16, scanLimit);
        preTokenizer.split(text, 0, text.length(), encoder);
        return encoder.toArray();
    }

    PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    BpeModel model() {
        return model;
    }

    @Override
    public String toString() {
        return "Tokenizer[" + name + ", " + tokens.size() + " ids, " + specialTokens.size() + " special, "
                + preTokenizer + "]";
    }
}
