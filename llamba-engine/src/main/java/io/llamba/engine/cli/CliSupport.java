package io.llamba.engine.cli;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Options shared by the commands that load a model. */
final class CliSupport {
    private CliSupport() {
    }

    static LoadOptions loadOptions(Options o) {
        BackendKind backend;
        try {
            backend = BackendKind.parse(o.string("backend", "auto"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--backend: " + e.getMessage());
        }
        int threads = o.integer("threads", 0);
        if (threads < 0) {
            throw new UsageException("--threads must be positive (or 0 for all processors), got " + threads);
        }
        return new LoadOptions(backend, threads, deviceFormat(o, "gpu-weights"), deviceFormat(o, "gpu-state"));
    }

    /** --gpu-weights / --gpu-state: f32 or bf16 (absent: the backend's default). */
    private static DType deviceFormat(Options o, String option) {
        String v = o.string(option, null);
        if (v == null) {
            return null;
        }
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new UsageException("--" + option + " must be f32 or bf16, got '" + v + "'");
        };
    }

    /** The model directory of --model. */
    static Path modelDir(Options o) {
        return o.path("model");
    }

    /**
     * The tokenizer: --tokenizer if given, else the model directory's tokenizer.json, else the
     * bundled Llama 3 tokenizer (Llamba checkpoints ship without one).
     */
    static Tokenizer tokenizer(Path modelDir, String explicit) throws IOException {
        if (explicit != null) {
            return Tokenizers.load(Path.of(explicit));
        }
        Path inModel = modelDir.resolve("tokenizer.json");
        if (Files.isRegularFile(inModel)) {
            return Tokenizers.load(inModel);
        }
        return Tokenizers.llama3();
    }
}
