package io.llamba.spring.autoconfigure;

import io.llamba.engine.demo.DemoModel;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineObserver;
import io.llamba.engine.hub.ModelResolver;
import io.llamba.engine.hub.RepoRef;
import io.llamba.engine.hub.ResolvedModel;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the model and its tokenizer come from, and how the engine is built from them. The one place
 * that knows the default model: {@link #defaultModel()}.
 */
public final class LlambaModelSource {
    private LlambaModelSource() {
    }

    /** The name the embedded demo model is served under when served-model-name is unset. */
    public static final String DEMO_MODEL_NAME = "llamba-demo";

    /**
     * The model used when {@code spring.ai.llamba.model} is unset: the engine's embedded demo model
     * ({@link DemoModel}, a tiny Llamba trained by the project), extracted once into a local cache
     * directory ({@code LLAMBA_CACHE_DIR}, else {@code ~/.cache/llamba}).
     */
    static Path defaultModel() {
        try {
            return DemoModel.directory();
        } catch (RuntimeException e) {
            throw new LlambaModelLoadException("the embedded demo model", e.getMessage(), e);
        }
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

    /**
     * The repository a model or tokenizer setting names, or empty for a local path (an existing path
     * always wins; a setting that is neither is left to the loader, which says the directory is missing).
     */
    static Optional<RepoRef> hubReference(@Nullable String setting) {
        if (setting == null || setting.isBlank() || setting.equals(ModelResolver.BUNDLED_TOKENIZER)) {
            return Optional.empty();
        }
        try {
            return ModelResolver.hubReference(setting);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * The name a model is served under when {@code served-model-name} is unset: {@value #DEMO_MODEL_NAME}
     * for the embedded demo model (its directory is named after a content hash), a Hub model's
     * repository id (its snapshot directory is named after a commit), else null for the model's own
     * name (its directory's).
     */
    public static @Nullable String defaultServedModelName(@Nullable String modelSetting, ModelInfo loaded) {
        // A model is named after its directory; DemoModel extracts into "demo-" + its content hash.
        if (loaded.name().equals("demo-" + DemoModel.contentHash())) {
            return DEMO_MODEL_NAME;
        }
        return hubReference(modelSetting).map(RepoRef::repoId).orElse(null);
    }

    /** Loads the model named by the properties (once), with its tokenizer, into a new engine. */
    public static Engine loadEngine(LlambaProperties properties, @Nullable EngineObserver observer) {
        String modelSetting = properties.getModel();
        String tokenizerSetting = properties.getTokenizer();
        Path dir;
        Tokenizer tokenizer;
        if (hubReference(modelSetting).isPresent() || hubReference(tokenizerSetting).isPresent()
                || ModelResolver.BUNDLED_TOKENIZER.equals(tokenizerSetting)) {
            String spec = modelSetting != null ? modelSetting : resolveModel(null).toString();
            try (ModelResolver resolver = new ModelResolver(properties.toHubOptions())) {
                ResolvedModel resolved = resolver.resolve(spec, tokenizerSetting);
                dir = resolved.modelDirectory();
                tokenizer = resolved.loadTokenizer();
            } catch (IOException | RuntimeException e) {
                throw new LlambaModelLoadException(spec, e.getMessage(), e);
            }
        } else {
            dir = resolveModel(modelSetting);
            tokenizer = tokenizer(dir, tokenizerSetting);
        }
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
