package io.llamba.engine.cli;

import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;

/** The {@code --tokenizer FILE} option shared by the tokenizer commands. */
final class TokenizerOption {
    /** Help lines for the option, indented like the other options of a command's help. */
    static final String HELP =
            "  --tokenizer FILE   tokenizer.json (Hugging Face) or tokenizer.model (tiktoken, with the\n"
            + "                     Llama 3 special tokens), or a directory holding one; default: the\n"
            + "                     Llama 3 tokenizer bundled with the engine";

    private TokenizerOption() {
    }

    static Tokenizer load(Options options) throws IOException {
        String file = options.string("tokenizer", null);
        return file == null ? Tokenizers.llama3() : Tokenizers.load(Path.of(file));
    }
}
