package io.llamba.engine.generate;

/**
 * The outcome of one generation.
 *
 * @param text              the generated text (stop strings and stop tokens excluded)
 * @param tokens            the generated token ids (the stop token excluded)
 * @param finishReason      why it ended
 * @param stopString        the stop string that ended it, or null
 * @param promptTokens      tokens in the prompt
 * @param completionTokens  tokens generated (the stop token included, as OpenAI counts)
 * @param queueNanos        time waiting for admission
 * @param timeToFirstTokenNanos time from submission to the first generated token
 * @param totalNanos        time from submission to the end
 * @param error             the failure when finishReason is ERROR, else null
 * @param stopToken         the stop token that ended it ({@code <|eom_id|>} marks a tool call), or -1
 * @param cachedPromptTokens prompt tokens restored from the state cache rather than prefilled
 *                          (OpenAI's {@code usage.prompt_tokens_details.cached_tokens})
 */
public record GenerationResult(String text, int[] tokens, FinishReason finishReason, String stopString, int promptTokens,
                               int completionTokens, long queueNanos, long timeToFirstTokenNanos, long totalNanos,
                               Throwable error, int stopToken, int cachedPromptTokens) {

    /** Without a cached prompt token count (as before the state cache existed). */
    public GenerationResult(String text, int[] tokens, FinishReason finishReason, String stopString, int promptTokens,
                            int completionTokens, long queueNanos, long timeToFirstTokenNanos, long totalNanos,
                            Throwable error, int stopToken) {
        this(text, tokens, finishReason, stopString, promptTokens, completionTokens, queueNanos, timeToFirstTokenNanos, totalNanos,
                error, stopToken, 0);
    }

    /** Generated tokens per second after the first one, or 0 when too few. */
    public double decodeTokensPerSecond() {
        long decodeNanos = totalNanos - timeToFirstTokenNanos;
        return completionTokens > 1 && decodeNanos > 0 ? (completionTokens - 1) * 1e9 / decodeNanos : 0;
    }
}
