package io.llamba.spring.ai;

import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.engine.sampling.SamplingParams;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.model.tool.DefaultToolCallingChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Options of a Llamba chat request: Spring AI's portable options (model, temperature, top-p, top-k,
 * max tokens, stop sequences, penalties, tools) plus the engine's min-p, repetition penalty and seed.
 * Immutable; change a copy through {@link #mutate()}. Unset values ({@code null}) fall back to the
 * model's defaults, then to the engine's (greedy when no temperature is set anywhere).
 */
public class LlambaChatOptions implements ToolCallingChatOptions {

    private final @Nullable String model;
    private final @Nullable Double temperature;
    private final @Nullable Double topP;
    private final @Nullable Integer topK;
    private final @Nullable Double minP;
    private final @Nullable Integer maxTokens;
    private final @Nullable List<String> stopSequences;
    private final @Nullable Long seed;
    private final @Nullable Double frequencyPenalty;
    private final @Nullable Double presencePenalty;
    private final @Nullable Double repetitionPenalty;
    private final @Nullable List<ToolCallback> toolCallbacks;
    private final @Nullable Map<String, Object> toolContext;

    protected LlambaChatOptions(@Nullable String model, @Nullable Double temperature, @Nullable Double topP,
                                @Nullable Integer topK, @Nullable Double minP, @Nullable Integer maxTokens,
                                @Nullable List<String> stopSequences, @Nullable Long seed, @Nullable Double frequencyPenalty,
                                @Nullable Double presencePenalty, @Nullable Double repetitionPenalty,
                                @Nullable List<ToolCallback> toolCallbacks, @Nullable Map<String, Object> toolContext) {
        this.model = model;
        this.temperature = temperature;
        this.topP = topP;
        this.topK = topK;
        this.minP = minP;
        this.maxTokens = maxTokens;
        this.stopSequences = stopSequences == null ? null : List.copyOf(stopSequences);
        this.seed = seed;
        this.frequencyPenalty = frequencyPenalty;
        this.presencePenalty = presencePenalty;
        this.repetitionPenalty = repetitionPenalty;
        this.toolCallbacks = toolCallbacks == null ? null : List.copyOf(toolCallbacks);
        this.toolContext = toolContext == null ? null : Map.copyOf(toolContext);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options of any kind as Llamba options: the portable values (and tools) carried over. */
    public static LlambaChatOptions from(@Nullable ChatOptions options) {
        if (options instanceof LlambaChatOptions llamba) {
            return llamba;
        }
        Builder b = builder();
        if (options != null) {
            b.combineWith(options.mutate());
        }
        return b.build();
    }

    @Override
    public @Nullable String getModel() {
        return model;
    }

    @Override
    public @Nullable Double getTemperature() {
        return temperature;
    }

    @Override
    public @Nullable Double getTopP() {
        return topP;
    }

    @Override
    public @Nullable Integer getTopK() {
        return topK;
    }

    /** Drop tokens less likely than minP times the most likely one (0 = off). */
    public @Nullable Double getMinP() {
        return minP;
    }

    @Override
    public @Nullable Integer getMaxTokens() {
        return maxTokens;
    }

    @Override
    public @Nullable List<String> getStopSequences() {
        return stopSequences;
    }

    /** The sampling seed, for reproducible output; unset for a fresh random seed per request. */
    public @Nullable Long getSeed() {
        return seed;
    }

    @Override
    public @Nullable Double getFrequencyPenalty() {
        return frequencyPenalty;
    }

    @Override
    public @Nullable Double getPresencePenalty() {
        return presencePenalty;
    }

    /** Divides the logits of tokens already seen (1 = off), as llama.cpp's and Hugging Face's repetition penalty. */
    public @Nullable Double getRepetitionPenalty() {
        return repetitionPenalty;
    }

    @Override
    public @Nullable List<ToolCallback> getToolCallbacks() {
        return toolCallbacks;
    }

    @Override
    public @Nullable Map<String, Object> getToolContext() {
        return toolContext;
    }

    /**
     * The engine's sampling parameters: unset values take the engine's neutral defaults (temperature 0,
     * that is greedy; no top-k, top-p 1, min-p 0, no penalties).
     *
     * @throws InvalidRequestException naming the option when a value is out of range
     */
    public SamplingParams toSamplingParams() {
        try {
            return new SamplingParams(
                    temperature == null ? 0 : temperature,
                    topK == null ? 0 : topK,
                    topP == null ? 1 : topP,
                    minP == null ? 0 : minP,
                    repetitionPenalty == null ? 1 : repetitionPenalty,
                    presencePenalty == null ? 0 : presencePenalty,
                    frequencyPenalty == null ? 0 : frequencyPenalty,
                    seed);
        } catch (IllegalArgumentException e) {
            // SamplingParams names the field first ("top_p must be in (0, 1], got 2.0").
            String message = e.getMessage() == null ? "invalid sampling options" : e.getMessage();
            int space = message.indexOf(' ');
            throw new InvalidRequestException(space > 0 ? message.substring(0, space) : "options", message);
        }
    }

    /**
     * These options with every unset value taken from {@code defaults}. Lists (stop sequences, tools)
     * and the tool context are taken whole, never appended: a prompt that arrives through a
     * {@code ChatClient} already holds the defaults merged in, so appending would repeat them.
     */
    public LlambaChatOptions withDefaults(LlambaChatOptions defaults) {
        return new LlambaChatOptions(
                model != null ? model : defaults.model,
                temperature != null ? temperature : defaults.temperature,
                topP != null ? topP : defaults.topP,
                topK != null ? topK : defaults.topK,
                minP != null ? minP : defaults.minP,
                maxTokens != null ? maxTokens : defaults.maxTokens,
                stopSequences != null ? stopSequences : defaults.stopSequences,
                seed != null ? seed : defaults.seed,
                frequencyPenalty != null ? frequencyPenalty : defaults.frequencyPenalty,
                presencePenalty != null ? presencePenalty : defaults.presencePenalty,
                repetitionPenalty != null ? repetitionPenalty : defaults.repetitionPenalty,
                toolCallbacks != null ? toolCallbacks : defaults.toolCallbacks,
                toolContext != null ? toolContext : defaults.toolContext);
    }

    @Override
    public Builder mutate() {
        return builder()
                .model(model)
                .temperature(temperature)
                .topP(topP)
                .topK(topK)
                .minP(minP)
                .maxTokens(maxTokens)
                .stopSequences(stopSequences)
                .seed(seed)
                .frequencyPenalty(frequencyPenalty)
                .presencePenalty(presencePenalty)
                .repetitionPenalty(repetitionPenalty)
                .toolCallbacks(toolCallbacks)
                .toolContext(toolContext);
    }

    @Override
    public boolean equals(@Nullable Object o) {
        if (this == o) {
            return true;
        }
        if (o == null || getClass() != o.getClass()) {
            return false;
        }
        LlambaChatOptions that = (LlambaChatOptions) o;
        return Objects.equals(model, that.model) && Objects.equals(temperature, that.temperature)
                && Objects.equals(topP, that.topP) && Objects.equals(topK, that.topK) && Objects.equals(minP, that.minP)
                && Objects.equals(maxTokens, that.maxTokens) && Objects.equals(stopSequences, that.stopSequences)
                && Objects.equals(seed, that.seed) && Objects.equals(frequencyPenalty, that.frequencyPenalty)
                && Objects.equals(presencePenalty, that.presencePenalty)
                && Objects.equals(repetitionPenalty, that.repetitionPenalty)
                && Objects.equals(toolCallbacks, that.toolCallbacks) && Objects.equals(toolContext, that.toolContext);
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, temperature, topP, topK, minP, maxTokens, stopSequences, seed, frequencyPenalty,
                presencePenalty, repetitionPenalty, toolCallbacks, toolContext);
    }

    @Override
    public String toString() {
        return "LlambaChatOptions{model=" + model + ", temperature=" + temperature + ", topP=" + topP + ", topK=" + topK
                + ", minP=" + minP + ", maxTokens=" + maxTokens + ", stopSequences=" + stopSequences + ", seed=" + seed
                + ", frequencyPenalty=" + frequencyPenalty + ", presencePenalty=" + presencePenalty
                + ", repetitionPenalty=" + repetitionPenalty + ", tools="
                + (toolCallbacks == null ? 0 : toolCallbacks.size()) + "}";
    }

    /**
     * Builds {@link LlambaChatOptions}. The portable options and tools are Spring AI's own builder
     * fields, so {@link #combineWith} merges with any {@link ChatOptions.Builder}: a set value of the
     * other builder wins, tool callbacks and stop sequences are appended, tool context merged.
     */
    public static class Builder extends DefaultToolCallingChatOptions.Builder<Builder> {
        protected @Nullable Double minP;
        protected @Nullable Long seed;
        protected @Nullable Double repetitionPenalty;

        public Builder minP(@Nullable Double minP) {
            this.minP = minP;
            return self();
        }

        public Builder seed(@Nullable Long seed) {
            this.seed = seed;
            return self();
        }

        public Builder repetitionPenalty(@Nullable Double repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return self();
        }

        @Override
        public Builder combineWith(ChatOptions.Builder<?> other) {
            super.combineWith(other);
            if (other instanceof Builder that) {
                if (that.minP != null) {
                    this.minP = that.minP;
                }
                if (that.seed != null) {
                    this.seed = that.seed;
                }
                if (that.repetitionPenalty != null) {
                    this.repetitionPenalty = that.repetitionPenalty;
                }
            }
            return self();
        }

        @Override
        public LlambaChatOptions build() {
            return new LlambaChatOptions(model, temperature, topP, topK, minP, maxTokens, stopSequences, seed,
                    frequencyPenalty, presencePenalty, repetitionPenalty, toolCallbacks, toolContext);
        }
    }
}
