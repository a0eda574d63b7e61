package io.llamba.engine.tokenizer;

/**
 * A token matched in the raw text before pre-tokenization (Hugging Face "added tokens"). Special
 * ones ({@code <|eot_id|>} ...) are recognised only by {@link Tokenizer#encodeWithSpecials}; plain
 * added tokens in both modes, as Hugging Face does with {@code split_special_tokens}.
 */
record AddedToken(int id, String content, boolean special) {
}
