package io.llamba.engine.cli;

import io.llamba.engine.bench.QuantizationQuality;
import io.llamba.engine.hub.ResolvedModel;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.Quantization;
import io.llamba.engine.tokenizer.ChatMessage;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.engine.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code quant-quality}: quantized models against the checkpoint's own precision on the same greedy text. */
final class QuantQualityCommand implements Command {
    @Override
    public String name() {
        return "quant-quality";
    }

    @Override
    public String summary() {
        return "compare quantized weights (q8_0, q4_0) with the checkpoint's precision: |Δlogit|, greedy agreement";
    }

    @Override
    public String help() {
        return """
                Usage: quant-quality --model M [--quantize q8_0,q4_0] [--tokens N] [--prompt TEXT] [--tokenizer T]
                                     [--threads N] [--pull-strategy S]

                Loads the model as stored (the reference, e.g. BF16), renders the prompt with the chat template
                and generates N tokens greedily, keeping the logits of every step. Then, for each quantization,
                loads the model quantized and runs it over the same prompt and tokens: prints the max and mean
                |Δlogit| against the reference over all N positions and ids, the fraction of positions where its
                greedy token is the reference's, and how many tokens it generates on its own before the first
                that differs. The last line is one JSON object.

                %s
                  --quantize LIST    quantizations to compare (default q8_0,q4_0)
                  --tokens N         tokens to generate and compare (default 256)
                  --prompt TEXT      the user message (default: a fixed request for a story)
                  --tokenizer T      tokenizer.json or tokenizer.model, a directory, a Hub repository id or
                                     "bundled" (default: as for generate)
                  --threads N        CPU threads (default: one per physical core)""".formatted(CliSupport.MODEL_HELP);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        CliSupport.ModelArgs modelArgs = CliSupport.modelArgs(o, err, true);
        List<Quantization> quantizations = new ArrayList<>();
        for (String q : o.string("quantize", "q8_0,q4_0").split(",")) {
            try {
                Quantization parsed = Quantization.parse(q);
                if (parsed == Quantization.NONE) {
                    throw new UsageException("--quantize: 'none' is the reference; list q8_0 and/or q4_0");
                }
                quantizations.add(parsed);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--quantize: " + e.getMessage());
            }
        }
        int n = o.integer("tokens", 256);
        if (n < 1 || n > 8192) {
            throw new UsageException("--tokens must be in [1, 8192], got " + n);
        }
        String prompt = o.string("prompt", "Write a short story about a llama who learns to program computers.");
        LoadOptions load = CliSupport.loadOptions(o, false);
        o.checkAllUsed();

        ResolvedModel resolved = modelArgs.resolve();
        Path dir = resolved.modelDirectory();
        Tokenizer tokenizer = resolved.loadTokenizer();
        int[] ids = new ChatTemplate(tokenizer).encode(List.of(ChatMessage.user(prompt)), true);
        QuantizationQuality.Reference ref;
        String refFormat;
        long t0 = System.nanoTime();
        try (Model model = ModelLoader.load(dir, load)) {
            refFormat = String.valueOf(model.info().details().get("weight_format"));
            ref = QuantizationQuality.reference(model, ids, n);
        }
        out.printf(Locale.ROOT, "reference: %s weights, %d prompt tokens, %d greedy tokens in %.1f s%n",
                refFormat, ids.length, n, (System.nanoTime() - t0) / 1e9);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", dir.getFileName() == null ? dir.toString() : dir.getFileName().toString());
        json.put("reference", refFormat);
        json.put("prompt_tokens", ids.length);
        json.put("tokens", n);
        for (Quantization q : quantizations) {
            try (Model model = ModelLoader.load(dir, load.withQuantization(q))) {
                double pack = ((Number) model.info().details().get("pack_seconds")).doubleValue();
                QuantizationQuality.Comparison c = QuantizationQuality.compare(model, ref);
                out.printf(Locale.ROOT, "%s: max |Δlogit| %.4f, mean |Δlogit| %.5f (reference max |logit| %.3f); greedy agreement %d/%d = %.1f%%;"
                                + " free-running: first %d tokens identical; quantized in %.2f s%n",
                        q.label(), c.maxAbsDelta(), c.meanAbsDelta(), c.maxAbsLogit(), Math.round(c.agreement() * n), n,
                        100 * c.agreement(), c.freeRunPrefix(), pack);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("max_abs_delta", c.maxAbsDelta());
                m.put("mean_abs_delta", c.meanAbsDelta());
                m.put("reference_max_abs_logit", c.maxAbsLogit());
                m.put("greedy_agreement", c.agreement());
                m.put("free_run_identical_prefix", c.freeRunPrefix());
                m.put("quantize_seconds", pack);
                json.put(q.label(), m);
            }
        }
        out.println(Json.write(json));
        return 0;
    }
}
