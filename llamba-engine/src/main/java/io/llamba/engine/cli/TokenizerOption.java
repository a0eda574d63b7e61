package io.llamba.engine.cli;

import io.llamba.engine.hub.ModelResolver;
import io.llamba.engine.hub.PullStrategy;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/** The {@code --tokenizer} option shared by the tokenizer commands. */
final class TokenizerOption {
    /** Help lines for the option, indented like the other options of a command's help. */
    static final String HELP =
            "  --tokenizer T      tokenizer.json (Hugging Face) or tokenizer.model (tiktoken, with the\n"
            + "                     Llama 3 special tokens), a directory holding one, or a Hugging Face\n"
            + "                     repository id (its tokenizer.json is fetched into the cache); default:\n"
            + "                     the Llama 3 tokenizer bundled with the engine";

    private TokenizerOption() {
    }

    static Tokenizer load(Options options, PrintStream err) throws IOException {
        String spec = options.string("tokenizer", null);
        if (spec == null) {
            return Tokenizers.llama3();
        }
        try (ModelResolver r = new ModelResolver(CliSupport.hubOptions(options, err, PullStrategy.WHEN_MISSING))) {
            Path p = r.resolveTokenizer(spec);
            return p == null ? Tokenizers.llama3() : Tokenizers.load(p);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--tokenizer: " + e.getMessage(), e);
        }
    }
}
