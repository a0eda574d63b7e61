package io.llamba.service.api;

import io.llamba.service.api.error.ApiException;
import org.jspecify.annotations.Nullable;

/** How many tokens a request may generate, once its prompt is counted. */
public final class MaxTokens {
    private MaxTokens() {
    }

    /**
     * Refuses a prompt over the server's prompt limit, and gives the request's max tokens: what it
     * asked for (or the model's configured default), else the server's cap, but never more than the
     * context leaves after the prompt (a request that gives none gets a reply cut at the cap, with
     * finish reason "length", rather than an error).
     *
     * @param requested       max tokens the request (or the configured default) gives, or null
     * @param cap             the server's per-request limit, 0 for none
     * @param maxPromptTokens the server's prompt limit, 0 for none
     * @return the max tokens to ask the engine for, or null for "as many as the context allows"
     */
    public static @Nullable Integer resolve(@Nullable Integer requested, int cap, int maxPromptTokens, int contextLimit,
                                            int promptTokens, String promptParam) {
        if (maxPromptTokens > 0 && promptTokens > maxPromptTokens) {
            throw ApiException.invalid(promptParam, "context_length_exceeded", "The prompt has " + promptTokens
                    + " tokens; this server accepts prompts of at most " + maxPromptTokens + " tokens.");
        }
        if (requested != null) {
            return requested;
        }
        int room = contextLimit - promptTokens;
        if (cap > 0 && room > 0) {
            return Math.min(cap, room);
        }
        return null;
    }
}
