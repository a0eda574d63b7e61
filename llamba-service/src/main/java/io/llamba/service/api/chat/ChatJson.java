package io.llamba.service.api.chat;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.llamba.service.api.Usage;
import org.jspecify.annotations.Nullable;

import java.util.List;

/** The chat-completion objects of OpenAI's API, as this service writes them. */
final class ChatJson {
    private ChatJson() {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Completion(String id, String object, long created, String model, List<Choice> choices, Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Choice(int index, Message message, @Nullable Object logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    /** {@code content} is null (present) when the reply is made of tool calls, as OpenAI writes it. */
    record Message(String role, @JsonInclude(JsonInclude.Include.ALWAYS) @Nullable String content,
                   @JsonInclude(JsonInclude.Include.NON_EMPTY) @JsonProperty("tool_calls") List<ToolCall> toolCalls) {
    }

    /** {@code index} only in stream deltas. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ToolCall(@Nullable Integer index, String id, String type, Function function) {
    }

    record Function(String name, String arguments) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Chunk(String id, String object, long created, String model, List<ChunkChoice> choices, @Nullable Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    record ChunkChoice(int index, Delta delta, @Nullable Object logprobs, @JsonProperty("finish_reason") @Nullable String finishReason) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(@Nullable String role, @Nullable String content, @JsonProperty("tool_calls") @Nullable List<ToolCall> toolCalls) {
    }
}
