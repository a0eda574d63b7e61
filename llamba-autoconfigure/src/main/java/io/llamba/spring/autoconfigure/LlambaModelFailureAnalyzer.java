package io.llamba.spring.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Reports a model that could not be loaded as what it is (the engine's message naming the file or
 * field), instead of the chain of bean-creation errors it caused.
 */
class LlambaModelFailureAnalyzer extends AbstractFailureAnalyzer<LlambaModelLoadException> {
    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, LlambaModelLoadException cause) {
        String description = cause.model() == null
                ? "The Llamba model could not be loaded: " + cause.getMessage()
                : "The Llamba model " + cause.model() + " could not be loaded: " + cause.getMessage();
        String action = "Check " + LlambaProperties.PREFIX + ".model: it must name a model directory holding config.json and "
                + "model.safetensors (or model.safetensors.index.json and its shards), weights in F32, BF16 or F16, "
                + "or a Hugging Face repository id (organisation/name, fetched as " + LlambaProperties.PREFIX + ".pull-strategy says); "
                + "and " + LlambaProperties.PREFIX + ".tokenizer, if set. To use another chat model, set "
                + "spring.ai.model.chat to its name (or to none).";
        return new FailureAnalysis(description, action, cause);
    }
}
