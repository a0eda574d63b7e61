package io.llamba.service.api;

import io.llamba.service.ServiceProperties;
import io.llamba.service.api.error.ApiException;
import io.llamba.service.api.json.RequestJson;
import io.llamba.spring.ai.LlambaChatOptions;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

import java.util.List;

/**
 * The sampling and stopping fields that chat and text completions share, read and checked. Ranges
 * of the sampling values themselves are the engine's (its error names the field); this checks
 * types, the server's limits and what the server does not do (several choices, log
 * probabilities, logit bias).
 *
 * @param maxTokens      the tokens asked for, or null when the request gives none
 * @param maxTokensParam the field that gave them ("max_completion_tokens" or "max_tokens")
 */
public record SamplingFields(@Nullable Double temperature, @Nullable Double topP, @Nullable Integer topK, @Nullable Double minP,
                             @Nullable Long seed, @Nullable List<String> stop, @Nullable Double presencePenalty,
                             @Nullable Double frequencyPenalty, @Nullable Double repetitionPenalty,
                             @Nullable Integer maxTokens, String maxTokensParam) {

    public static SamplingFields read(RequestJson json, ServiceProperties.Limits limits) {
        json.integer("n").ifPresent(n -> {
            if (n != 1) {
                throw json.unsupported("n", "n must be 1: this server generates one choice per request, got " + n + ".");
            }
        });
        JsonNode logprobs = json.raw("logprobs"); // a boolean in chat, a count in text completions
        if (logprobs != null && ((logprobs.isBoolean() && logprobs.booleanValue()) || isTrueNumber(logprobs))) {
            throw json.unsupported("logprobs", "logprobs are not supported by this server.");
        }
        json.integer("top_logprobs").ifPresent(n -> {
            if (n > 0) {
                throw json.unsupported("top_logprobs", "top_logprobs are not supported by this server.");
            }
        });
        JsonNode bias = json.raw("logit_bias");
        if (bias != null && !(bias.isObject() && bias.isEmpty())) {
            throw json.unsupported("logit_bias", "logit_bias is not supported by this server.");
        }
        json.object("response_format").ifPresent(f -> {
            String type = f.string("type").orElse("text");
            if (!type.equals("text")) {
                throw f.unsupported("type", "response_format " + type + " is not supported by this server; only text.");
            }
        });

        Integer maxCompletion = json.integer("max_completion_tokens", 1, Integer.MAX_VALUE).orElse(null);
        Integer maxTokensField = json.integer("max_tokens", 1, Integer.MAX_VALUE).orElse(null);
        if (maxCompletion != null && maxTokensField != null && !maxCompletion.equals(maxTokensField)) {
            throw ApiException.invalid("max_tokens", "invalid_value", "max_tokens (" + maxTokensField + ") and max_completion_tokens ("
                    + maxCompletion + ") disagree; give one of them.");
        }
        Integer maxTokens = maxCompletion != null ? maxCompletion : maxTokensField;
        String maxTokensParam = maxCompletion != null ? "max_completion_tokens" : "max_tokens";
        if (maxTokens != null && limits.getMaxTokens() > 0 && maxTokens > limits.getMaxTokens()) {
            throw ApiException.invalid(maxTokensParam, "invalid_value", maxTokensParam + " is " + maxTokens
                    + ", more than this server's limit of " + limits.getMaxTokens() + " tokens per request.");
        }

        List<String> stop = json.stringOrStrings("stop").orElse(null);
        if (stop != null) {
            if (stop.size() > limits.getMaxStopSequences()) {
                throw ApiException.invalid("stop", "invalid_value", "stop has " + stop.size() + " sequences; this server accepts at most "
                        + limits.getMaxStopSequences() + ".");
            }
            for (int i = 0; i < stop.size(); i++) {
                if (stop.get(i).isEmpty()) {
                    throw ApiException.invalid("stop[" + i + "]", "invalid_value", "stop[" + i + "] is empty; stop sequences need at least one character.");
                }
            }
        }

        // top_k: -1 and 0 both mean "no top-k" (vLLM writes -1).
        Integer topK = json.integer("top_k", -1, Integer.MAX_VALUE).orElse(null);
        if (topK != null && topK <= 0) {
            topK = null;
        }
        return new SamplingFields(json.number("temperature").orElse(null), json.number("top_p").orElse(null), topK,
                json.number("min_p").orElse(null), json.integer("seed").orElse(null), stop,
                json.number("presence_penalty").orElse(null), json.number("frequency_penalty").orElse(null),
                json.number("repetition_penalty").orElse(null), maxTokens, maxTokensParam);
    }

    private static boolean isTrueNumber(@Nullable JsonNode v) {
        return v != null && v.isNumber() && v.doubleValue() != 0;
    }

    /** These values on a Llamba options builder (unset ones stay unset: the model's defaults apply). */
    public LlambaChatOptions.Builder applyTo(LlambaChatOptions.Builder b) {
        return b.temperature(temperature)
                .topP(topP)
                .topK(topK)
                .minP(minP)
                .seed(seed)
                .stopSequences(stop)
                .presencePenalty(presencePenalty)
                .frequencyPenalty(frequencyPenalty)
                .repetitionPenalty(repetitionPenalty);
    }
}
