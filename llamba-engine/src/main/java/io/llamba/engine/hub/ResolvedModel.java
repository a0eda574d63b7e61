package io.llamba.engine.hub;

import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A model setting turned into files on disk.
 *
 * @param modelDirectory config.json and the safetensors weights (a local directory or a cache snapshot)
 * @param modelSnapshot the Hub snapshot, when the model came from the Hub
 * @param tokenizerPath tokenizer.json / tokenizer.model or a directory holding one; null for the
 *        Llama 3 tokenizer bundled with the engine
 * @param tokenizerOrigin where the tokenizer comes from, for logs ("meta-llama/Llama-3.2-1B-Instruct", "bundled Llama 3", a path)
 */
public record ResolvedModel(Path modelDirectory, Optional<RepoSnapshot> modelSnapshot, Path tokenizerPath, String tokenizerOrigin) {
    /** Loads the tokenizer this resolution chose. */
    public Tokenizer loadTokenizer() throws IOException {
        return tokenizerPath == null ? Tokenizers.llama3() : Tokenizers.load(tokenizerPath);
    }
}
