package io.llamba.spring.autoconfigure;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineObserver;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Where the model and its tokenizer come from, and how the engine is built from them. The one place
 * that knows the default model: {@link #defaultModel()}.
 */
public final class LlambaModelSource {
    private LlambaModelSource() {
    }

    /**
     * The model used when {@code spring.ai.llamba.model} is unset. The embedded demo model
     * ({@code io.llamba.engine.demo.DemoModel}) is not part of the engine yet; until it is, an unset
     * model is a startup error saying what to set.
     */
    static Path defaultModel() {
        throw new LlambaModelLoadException(null, "no model is configured and this build has no embedded default model: set "
                + LlambaProperties.PREFIX + ".model to a model directory (config.json and model.safetensors)", null);
    }

    /** The model directory {@code spring.ai.llamba.model} names, or the default one. */
    public static Path resolveModel(@Nullable String configured) {
        if (configured == null || configured.isBlank()) {
            return defaultModel();
        }
        try {
            return Path.of(configured);
        } catch (InvalidPathException e) {
            throw new LlambaModelLoadException(configured, "'" + configured + "' is not a valid path: " + e.getMessage(), e);
        }
    }

    /**
     * The tokenizer: the configured file, else the model directory's tokenizer.json or
     * tokenizer.model, else the bundled Llama 3 tokenizer (Llamba checkpoints ship without one).
     */
    public static Tokenizer tokenizer(Path modelDir, @Nullable String configured) {
        Path file = null;
        try {
            if (configured != null) {
                file = Path.of(configured);
                return Tokenizers.load(file);
            }
            for (String name : new String[] {"tokenizer.json", "tokenizer.model"}) {
                if (Files.isRegularFile(modelDir.resolve(name))) {
                    file = modelDir.resolve(name);
                    return Tokenizers.load(file);
                }
            }
            return Tokenizers.llama3();
        } catch (IOException | RuntimeException e) {
            String where = file == null ? String.valueOf(configured) : file.toString();
            throw new LlambaModelLoadException(modelDir.toString(), "cannot load the tokenizer " + where + ": " + e.getMessage(), e);
        }
    }

    /** Loads the model named by the properties (once), with its tokenizer, into a new engine. */
    public static Engine loadEngine(LlambaProperties properties, @Nullable EngineObserver observer) {
        Path dir = resolveModel(properties.getModel());
        Tokenizer tokenizer = tokenizer(dir, properties.getTokenizer());
        Model model;
        try {
            model = ModelLoader.load(dir, properties.toLoadOptions());
        } catch (RuntimeException e) {
            throw new LlambaModelLoadException(dir.toString(), e.getMessage(), e);
        }
        try {
            return new Engine(model, tokenizer, properties.toEngineOptions(), observer);
        } catch (RuntimeException e) {
            model.close();
            throw new LlambaModelLoadException(dir.toString(), e.getMessage(), e);
        }
    }
}
