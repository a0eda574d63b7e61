package io.llamba.engine.sampling;

/**
 * How the next token is chosen from the logits. Temperature 0 means greedy (argmax). Penalties
 * follow the usual conventions: {@code repetitionPenalty} divides positive logits (multiplies negative
 * ones) of every token already in the prompt or the output (1 = off); {@code presencePenalty} and
 * {@code frequencyPenalty} subtract once per generated token seen and per occurrence (0 = off).
 *
 * @param temperature       0 for greedy, else the softmax temperature (≤ 2 in OpenAI's API; we allow up to 100)
 * @param topK              keep the k most likely tokens (0 = off)
 * @param topP              nucleus: the smallest set with this cumulative probability (1 = off)
 * @param minP              drop tokens less likely than minP · p(most likely) (0 = off)
 * @param seed              the random seed; null for a fresh random one
 */
public record SamplingParams(double temperature, int topK, double topP, double minP, double repetitionPenalty,
                             double presencePenalty, double frequencyPenalty, Long seed) {

    public SamplingParams {
        check(temperature >= 0 && temperature <= 100, "temperature", temperature, "must be between 0 and 100");
        check(topK >= 0, "top_k", topK, "must be 0 (off) or positive");
        check(topP > 0 && topP <= 1, "top_p", topP, "must be in (0, 1]");
        check(minP >= 0 && minP <= 1, "min_p", minP, "must be in [0, 1]");
        check(repetitionPenalty > 0 && repetitionPenalty <= 10, "repetition_penalty", repetitionPenalty, "must be in (0, 10]");
        check(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty", presencePenalty, "must be between -2 and 2");
        check(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty", frequencyPenalty, "must be between -2 and 2");
    }

    private static void check(boolean ok, String field, double value, String rule) {
        if (!ok || Double.isNaN(value)) {
            throw new IllegalArgumentException(field + " " + rule + ", got " + value);
        }
    }

    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, 0, 1, 0, 0, null);

    public boolean isGreedy() {
        return temperature == 0 || topK == 1;
    }

    public boolean hasPenalties() {
        return repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().temperature(temperature).topK(topK).topP(topP).minP(minP).repetitionPenalty(repetitionPenalty)
                .presencePenalty(presencePenalty).frequencyPenalty(frequencyPenalty).seed(seed);
    }

    public static final class Builder {
        private double temperature = 0.7;
        private int topK;
        private double topP = 1;
        private double minP;
        private double repetitionPenalty = 1;
        private double presencePenalty;
        private double frequencyPenalty;
        private Long seed;

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder minP(double v) {
            minP = v;
            return this;
        }

        public Builder repetitionPenalty(double v) {
            repetitionPenalty = v;
            return this;
        }

        public Builder presencePenalty(double v) {
            presencePenalty = v;
            return this;
        }

        public Builder frequencyPenalty(double v) {
            frequencyPenalty = v;
            return this;
        }

        public Builder seed(Long v) {
            seed = v;
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed);
        }
    }
}
