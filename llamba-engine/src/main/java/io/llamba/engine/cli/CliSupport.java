package io.llamba.engine.cli;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.demo.DemoModel;
import io.llamba.engine.hub.HubOptions;
import io.llamba.engine.hub.ModelResolver;
import io.llamba.engine.hub.PullStrategy;
import io.llamba.engine.hub.ResolvedModel;
import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Quantization;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Options shared by the commands that load a model. */
final class CliSupport {
    /** Help lines for --model and --pull-strategy, indented like the other options. */
    static final String MODEL_HELP =
            "  --model M          model directory (config.json and safetensors weights), or a Hugging Face\n"
            + "                     repository id such as cartesia-ai/Llamba-1B[@revision], fetched into the\n"
            + "                     Hugging Face cache (HF_HUB_CACHE / HF_HOME; HF_TOKEN, HF_ENDPOINT and\n"
            + "                     HF_HUB_OFFLINE=1 are honoured); default: the embedded demo model\n"
            + "  --pull-strategy S  for a repository id: when_missing (default: use the cache when it holds\n"
            + "                     the files), always (ask the Hub for the latest commit) or never (cache only)";

    private CliSupport() {
    }

    /** Help lines for --threads and --quantize, indented like the other options. */
    static final String LOAD_HELP =
            "  --threads N        CPU threads (default: one per physical core)\n"
            + "  --quantize Q       quantize weight matrices at load: none (default), q8_0 or q4_0";

    static LoadOptions loadOptions(Options o) {
        return loadOptions(o, true);
    }

    /** The load options; {@code --quantize} only when {@code withQuantize} (a command may read it as something else). */
    static LoadOptions loadOptions(Options o, boolean withQuantize) {
        BackendKind backend;
        try {
            backend = BackendKind.parse(o.string("backend", "auto"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--backend: " + e.getMessage());
        }
        int threads = o.integer("threads", 0);
        if (threads < 0) {
            throw new UsageException("--threads must be positive (or 0 for one per physical core), got " + threads);
        }
        Quantization quantization;
        try {
            quantization = withQuantize ? Quantization.parse(o.string("quantize", "none")) : Quantization.NONE;
        } catch (IllegalArgumentException e) {
            throw new UsageException("--quantize: " + e.getMessage());
        }
        return new LoadOptions(backend, threads, quantization, deviceFormat(o, "gpu-weights"), deviceFormat(o, "gpu-state"));
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

    /**
     * What --model (and --tokenizer) name, read before {@link Options#checkAllUsed()} so that usage
     * errors come before any download; {@link ModelArgs#resolve} fetches afterwards.
     */
    static ModelArgs modelArgs(Options o, PrintStream err, boolean withTokenizer) {
        // Without --model: the embedded demo model, extracted to a local directory.
        String model = o.has("model") ? o.required("model") : DemoModel.directory().toString();
        String tokenizer = withTokenizer ? o.string("tokenizer", null) : null;
        HubOptions hub = hubOptions(o, err, PullStrategy.WHEN_MISSING);
        return new ModelArgs(model, tokenizer, hub);
    }

    /**
     * Hub settings from the environment (as the Hub's own clients read them), --pull-strategy, and a
     * progress bar on stderr.
     */
    static HubOptions hubOptions(Options o, PrintStream err, PullStrategy defaultStrategy) {
        PullStrategy strategy;
        try {
            String s = o.string("pull-strategy", null);
            strategy = s == null ? defaultStrategy : PullStrategy.parse(s);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--pull-strategy: " + e.getMessage());
        }
        String home = System.getProperty("user.home");
        return HubOptions.fromEnvironment(o.environment(), Paths.get(home))
                .pullStrategy(strategy)
                .progressListener(ConsoleProgressBar.forStderr(err))
                .build();
    }

    /** A model setting and how to fetch it. */
    record ModelArgs(String model, String tokenizer, HubOptions hub) {
        /** The model directory and the tokenizer (downloading from the Hub what is not cached). */
        ResolvedModel resolve() throws IOException {
            try (ModelResolver r = new ModelResolver(hub)) {
                return r.resolve(model, tokenizer);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException((tokenizer == null ? "--model: " : "--model/--tokenizer: ") + e.getMessage(), e);
            }
        }

        /** The model directory only: fetches no tokenizer. */
        Path modelDir() throws IOException {
            try (ModelResolver r = new ModelResolver(hub)) {
                return r.resolveModel(model);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--model: " + e.getMessage(), e);
            }
        }
    }
}
