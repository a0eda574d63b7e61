package io.llamba.engine.tokenizer;

import java.util.Objects;

/**
 * One message of a chat. Roles are free strings ({@code system}, {@code user}, {@code assistant},
 * {@code ipython} for tool results in the Llama 3.1 format, ...) so tool-calling code can add its own.
 */
public record ChatMessage(String role, String content) {
    public static final String SYSTEM = "system";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";
    /** Llama 3.1's role for tool (code interpreter / function) results. */
    public static final String IPYTHON = "ipython";
    public static final String TOOL = "tool";

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.isEmpty()) {
            throw new IllegalArgumentException("empty chat role");
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(SYSTEM, content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(USER, content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(ASSISTANT, content);
    }
}
