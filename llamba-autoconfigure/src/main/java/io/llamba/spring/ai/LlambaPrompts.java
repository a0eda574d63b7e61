package io.llamba.spring.ai;

import io.llamba.engine.chat.Llama3Tools;
import io.llamba.engine.chat.ToolCall;
import io.llamba.engine.chat.ToolDefinition;
import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.engine.tokenizer.ChatMessage;
import io.llamba.engine.tokenizer.ChatTemplate;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;

import java.util.ArrayList;
import java.util.List;

/**
 * Spring AI messages as a Llama 3 chat prompt: roles mapped, calls the assistant made written back
 * as the JSON it would have produced, tool results as {@code ipython} messages, and tool definitions
 * in the Llama 3.1 JSON tool-calling format (docs/tool-calling.md).
 */
final class LlambaPrompts {
    private LlambaPrompts() {
    }

    /** The chat messages, tools rendered in when there are any. */
    static List<ChatMessage> messages(List<Message> instructions,
                                      List<org.springframework.ai.tool.definition.ToolDefinition> tools) {
        if (instructions.isEmpty()) {
            throw new InvalidRequestException("messages", "the prompt has no messages");
        }
        List<ChatMessage> out = new ArrayList<>(instructions.size());
        for (int i = 0; i < instructions.size(); i++) {
            Message m = instructions.get(i);
            switch (m.getMessageType()) {
                case SYSTEM -> out.add(ChatMessage.system(text(m)));
                case USER -> {
                    if (m instanceof UserMessage user && !user.getMedia().isEmpty()) {
                        throw new InvalidRequestException("messages[" + i + "]", "Llamba models read text only; the user message carries "
                                + user.getMedia().size() + " media attachment(s)");
                    }
                    out.add(ChatMessage.user(text(m)));
                }
                case ASSISTANT -> {
                    AssistantMessage a = (AssistantMessage) m;
                    if (a.hasToolCalls()) {
                        List<ToolCall> calls = a.getToolCalls().stream().map(c -> new ToolCall(c.name(), c.arguments())).toList();
                        out.add(ChatMessage.assistant(Llama3Tools.renderCalls(calls)));
                    } else {
                        out.add(ChatMessage.assistant(text(m)));
                    }
                }
                case TOOL -> {
                    for (ToolResponseMessage.ToolResponse r : ((ToolResponseMessage) m).getResponses()) {
                        out.add(new ChatMessage(ChatMessage.TOOL, r.responseData() == null ? "" : r.responseData()));
                    }
                }
                default -> throw new InvalidRequestException("messages[" + i + "]", "unsupported message type " + m.getMessageType());
            }
        }
        return Llama3Tools.render(out, tools.stream().map(LlambaPrompts::definition).toList());
    }

    /** The prompt's token ids, ready for the engine (generation prompt included). */
    static int[] encode(ChatTemplate template, List<ChatMessage> messages) {
        return template.encode(messages, true);
    }

    private static ToolDefinition definition(org.springframework.ai.tool.definition.ToolDefinition tool) {
        ToolDefinition d = new ToolDefinition(tool.name(), tool.description(), tool.inputSchema());
        try {
            d.toJsonObject(); // checks the schema now, so a bad one is a clear request error
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException("tools", e.getMessage());
        }
        return d;
    }

    private static String text(Message m) {
        String t = m.getText();
        return t == null ? "" : t;
    }
}
