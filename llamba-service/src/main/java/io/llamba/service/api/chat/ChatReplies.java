package io.llamba.service.api.chat;

import io.llamba.service.api.Usage;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.util.StringUtils;

import java.util.ArrayList;
import java.util.List;

/** Spring AI chat responses as OpenAI chat completions: whole, or as the chunks of a stream. */
final class ChatReplies {
    static final String ROLE = "assistant";

    private ChatReplies() {
    }

    /** OpenAI's id form; the ChatModel's response id is the same for every chunk of one reply. */
    static String completionId(ChatResponse response) {
        String id = response.getMetadata().getId();
        return "chatcmpl-" + (StringUtils.hasText(id) ? id : "llamba");
    }

    static ChatJson.Completion completion(ChatResponse response, String model, long created) {
        Generation g = response.getResult();
        AssistantMessage m = g.getOutput();
        List<ChatJson.ToolCall> calls = toolCalls(m, false);
        String content = calls.isEmpty() ? (m.getText() == null ? "" : m.getText()) : null;
        ChatJson.Choice choice = new ChatJson.Choice(0, new ChatJson.Message(ROLE, content, calls), null,
                g.getMetadata().getFinishReason());
        return new ChatJson.Completion(completionId(response), "chat.completion", created, model, List.of(choice),
                Usage.of(response.getMetadata().getUsage()));
    }

    private static List<ChatJson.ToolCall> toolCalls(AssistantMessage m, boolean indexed) {
        List<ChatJson.ToolCall> out = new ArrayList<>();
        List<AssistantMessage.ToolCall> calls = m.getToolCalls();
        for (int i = 0; i < calls.size(); i++) {
            AssistantMessage.ToolCall c = calls.get(i);
            out.add(new ChatJson.ToolCall(indexed ? i : null, c.id(), "function", new ChatJson.Function(c.name(), c.arguments())));
        }
        return out;
    }

    /**
     * The chunks of one streamed reply, in order: text deltas (the first one also gives the role),
     * the tool calls if the reply is made of them, a last chunk with an empty delta and the finish
     * reason, then, when asked for, a usage chunk with no choices.
     */
    static final class Stream {
        private final String model;
        private final long created;
        private final boolean includeUsage;
        private boolean roleSent;
        private @Nullable String id;
        private @Nullable Usage usage;

        Stream(String model, long created, boolean includeUsage) {
            this.model = model;
            this.created = created;
            this.includeUsage = includeUsage;
        }

        /** The chunks one ChatModel response gives (none for an empty text delta). */
        List<ChatJson.Chunk> chunks(ChatResponse response) {
            if (id == null) {
                id = completionId(response);
            }
            Generation g = response.getResult();
            List<ChatJson.Chunk> out = new ArrayList<>(2);
            if (g == null) {
                return out;
            }
            AssistantMessage m = g.getOutput();
            String text = m.getText();
            if (StringUtils.hasLength(text)) {
                out.add(chunk(new ChatJson.Delta(role(), text, null), null));
            }
            if (m.hasToolCalls()) {
                out.add(chunk(new ChatJson.Delta(role(), null, toolCalls(m, true)), null));
            }
            String finish = g.getMetadata().getFinishReason();
            if (StringUtils.hasText(finish)) {
                out.add(chunk(new ChatJson.Delta(role(), null, null), finish));
                usage = Usage.of(response.getMetadata().getUsage());
            }
            return out;
        }

        /** The usage chunk, when the client asked for it and the reply finished. */
        ChatJson.@Nullable Chunk usageChunk() {
            if (!includeUsage || usage == null) {
                return null;
            }
            return new ChatJson.Chunk(id, "chat.completion.chunk", created, model, List.of(), usage);
        }

        private @Nullable String role() {
            if (roleSent) {
                return null;
            }
            roleSent = true;
            return ROLE;
        }

        private ChatJson.Chunk chunk(ChatJson.Delta delta, @Nullable String finishReason) {
            return new ChatJson.Chunk(id, "chat.completion.chunk", created, model,
                    List.of(new ChatJson.ChunkChoice(0, delta, null, finishReason)), null);
        }
    }
}
