package io.llamba.engine.generate;

import io.llamba.engine.sampling.SamplingParams;

import java.time.Duration;
import java.util.List;

/**
 * One generation: the prompt as token ids (render chats with the engine's chat template first), how
 * to sample, and when to stop.
 *
 * @param prompt        prompt token ids (the chat template's {@code <|begin_of_text|>} included)
 * @param sampling      sampling parameters
 * @param maxTokens     most tokens to generate; 0 for as many as the context allows
 * @param stopStrings   strings that end the generation (not included in the text)
 * @param timeout       deadline from submission, or null for none
 */
public record GenerationRequest(int[] prompt, SamplingParams sampling, int maxTokens, List<String> stopStrings, Duration timeout) {
    public GenerationRequest {
        if (prompt == null || prompt.length == 0) {
            throw new InvalidRequestException("prompt", "the prompt is empty");
        }
        if (sampling == null) {
            sampling = SamplingParams.GREEDY;
        }
        if (maxTokens < 0) {
            throw new InvalidRequestException("max_tokens", "max_tokens must be positive, got " + maxTokens);
        }
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new InvalidRequestException("timeout", "timeout must be positive, got " + timeout);
        }
    }

    public static Builder builder(int[] prompt) {
        return new Builder(prompt);
    }

    public static final class Builder {
        private final int[] prompt;
        private SamplingParams sampling = SamplingParams.GREEDY;
        private int maxTokens;
        private List<String> stop = List.of();
        private Duration timeout;

        private Builder(int[] prompt) {
            this.prompt = prompt;
        }

        public Builder sampling(SamplingParams v) {
            sampling = v;
            return this;
        }

        public Builder maxTokens(int v) {
            maxTokens = v;
            return this;
        }

        public Builder stopStrings(List<String> v) {
            stop = v;
            return this;
        }

        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(prompt, sampling, maxTokens, stop, timeout);
        }
    }
}
