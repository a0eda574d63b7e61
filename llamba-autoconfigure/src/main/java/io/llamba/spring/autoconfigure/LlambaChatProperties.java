package io.llamba.spring.autoconfigure;

import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.spring.ai.LlambaChatOptions;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

import java.util.List;
import java.util.Locale;

/**
 * Default options of the Llamba chat model, used where a request leaves a value unset. The sampling
 * defaults are those of the Llama 3.x Instruct models Llamba is distilled from.
 */
@ConfigurationProperties(LlambaChatProperties.PREFIX)
public class LlambaChatProperties implements Validator {
    public static final String PREFIX = "spring.ai.llamba.chat";

    /** Softmax temperature; 0 for greedy decoding. At most 100. */
    private @Nullable Double temperature = 0.6;

    /** Nucleus sampling: keep the most likely tokens up to this total probability, in (0, 1]. */
    private @Nullable Double topP = 0.9;

    /** Keep only the k most likely tokens; 0 for no limit. */
    private @Nullable Integer topK;

    /** Drop tokens less likely than min-p times the most likely one, in [0, 1]. */
    private @Nullable Double minP;

    /** Most tokens to generate; unset for as many as the context allows. */
    private @Nullable Integer maxTokens;

    /** Strings that end the reply (not included in it). */
    private @Nullable List<String> stop;

    /** Sampling seed, for reproducible replies; unset for a fresh random seed per request. */
    private @Nullable Long seed;

    /** Subtracted from a token's logit per occurrence in the reply, in [-2, 2]. */
    private @Nullable Double frequencyPenalty;

    /** Subtracted once from the logit of every token already in the reply, in [-2, 2]. */
    private @Nullable Double presencePenalty;

    /** Divides the logits of tokens already seen, in (0, 10]; 1 for none. */
    private @Nullable Double repetitionPenalty;

    public LlambaChatOptions toOptions() {
        return LlambaChatOptions.builder()
                .temperature(temperature)
                .topP(topP)
                .topK(topK)
                .minP(minP)
                .maxTokens(maxTokens)
                .stopSequences(stop)
                .seed(seed)
                .frequencyPenalty(frequencyPenalty)
                .presencePenalty(presencePenalty)
                .repetitionPenalty(repetitionPenalty)
                .build();
    }

    @Override
    public boolean supports(Class<?> clazz) {
        return LlambaChatProperties.class.isAssignableFrom(clazz);
    }

    @Override
    public void validate(Object target, Errors errors) {
        LlambaChatProperties p = (LlambaChatProperties) target;
        if (p.maxTokens != null && p.maxTokens < 1) {
            errors.rejectValue("maxTokens", "range", "must be positive (or unset)");
        }
        try {
            p.toOptions().toSamplingParams();
        } catch (InvalidRequestException e) {
            // The engine names the sampling field as the OpenAI API does (top_p); ours is topP.
            errors.rejectValue(camelCase(e.field()), "range", e.getMessage());
        }
    }

    private static String camelCase(String snake) {
        StringBuilder sb = new StringBuilder();
        boolean upper = false;
        for (char c : snake.toLowerCase(Locale.ROOT).toCharArray()) {
            if (c == '_') {
                upper = true;
            } else {
                sb.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return sb.toString();
    }

    public @Nullable Double getTemperature() {
        return temperature;
    }

    public void setTemperature(@Nullable Double temperature) {
        this.temperature = temperature;
    }

    public @Nullable Double getTopP() {
        return topP;
    }

    public void setTopP(@Nullable Double topP) {
        this.topP = topP;
    }

    public @Nullable Integer getTopK() {
        return topK;
    }

    public void setTopK(@Nullable Integer topK) {
        this.topK = topK;
    }

    public @Nullable Double getMinP() {
        return minP;
    }

    public void setMinP(@Nullable Double minP) {
        this.minP = minP;
    }

    public @Nullable Integer getMaxTokens() {
        return maxTokens;
    }

    public void setMaxTokens(@Nullable Integer maxTokens) {
        this.maxTokens = maxTokens;
    }

    public @Nullable List<String> getStop() {
        return stop;
    }

    public void setStop(@Nullable List<String> stop) {
        this.stop = stop;
    }

    public @Nullable Long getSeed() {
        return seed;
    }

    public void setSeed(@Nullable Long seed) {
        this.seed = seed;
    }

    public @Nullable Double getFrequencyPenalty() {
        return frequencyPenalty;
    }

    public void setFrequencyPenalty(@Nullable Double frequencyPenalty) {
        this.frequencyPenalty = frequencyPenalty;
    }

    public @Nullable Double getPresencePenalty() {
        return presencePenalty;
    }

    public void setPresencePenalty(@Nullable Double presencePenalty) {
        this.presencePenalty = presencePenalty;
    }

    public @Nullable Double getRepetitionPenalty() {
        return repetitionPenalty;
    }

    public void setRepetitionPenalty(@Nullable Double repetitionPenalty) {
        this.repetitionPenalty = repetitionPenalty;
    }
}
