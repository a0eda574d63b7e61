package io.llamba.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The 256 special tokens of Llama 3.1/3.2, in id order after the 128000 BPE ranks, exactly as the
 * {@code added_tokens} of Meta's Hugging Face tokenizer.json list them. A tiktoken
 * {@code tokenizer.model} holds only the ranks, so its loader appends these.
 */
final class Llama3SpecialTokens {
    static final List<String> NAMES;

    static {
        List<String> names = new ArrayList<>(List.of(
                "<|begin_of_text|>",
                "<|end_of_text|>",
                "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>",
                "<|finetune_right_pad_id|>",
                "<|reserved_special_token_2|>",
                "<|start_header_id|>",
                "<|end_header_id|>",
                "<|eom_id|>",
                "<|eot_id|>",
                "<|python_tag|>"));
        for (int i = 3; names.size() < 256; i++) {
            names.add("<|reserved_special_token_" + i + "|>");
        }
        NAMES = List.copyOf(names);
    }

    private Llama3SpecialTokens() {
    }
}
