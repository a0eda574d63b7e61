package io.llamba.engine.demo;

import io.llamba.engine.chat.Llama3Tools;
import io.llamba.engine.chat.ToolCall;
import io.llamba.engine.chat.ToolDefinition;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.tokenizer.ChatMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One evaluation prompt of the demo model and how to check the replies.
 *
 * <p>Every family but {@code weather} is one turn: the reply must equal {@link #answer()} (surrounding
 * whitespace aside). {@code weather} is two turns in the Llama 3.1 tool format: first the model must
 * call the tool with the city ({@link #checkCall}); then, with that call and the tool's
 * {@link #toolResult()} in the history ({@link #secondTurn}), its reply must equal the answer
 * sentence.
 *
 * @param family     the task family
 * @param key        the held-out item (what the split hashes)
 * @param system     the system prompt, empty for none
 * @param tools      tools offered (rendered into the prompt by {@link Llama3Tools})
 * @param user       the user message
 * @param answer     the expected final reply
 * @param city       weather only: the city the call must name, else null
 * @param toolResult weather only: the tool's JSON result, else null
 */
public record DemoItem(String family, String key, String system, List<ToolDefinition> tools, String user,
                       String answer, String city, String toolResult) {
    public DemoItem {
        tools = List.copyOf(tools);
    }

    public boolean isToolCall() {
        return city != null;
    }

    /** The first turn's messages, tools rendered in. */
    public List<ChatMessage> firstTurn() {
        return Llama3Tools.render(base(), tools);
    }

    /** The second turn of a tool item: the model's call and the tool's result appended. */
    public List<ChatMessage> secondTurn(List<ToolCall> calls) {
        List<ChatMessage> m = base();
        m.add(ChatMessage.assistant(Llama3Tools.renderCalls(calls)));
        m.add(new ChatMessage(ChatMessage.TOOL, toolResult));
        return Llama3Tools.render(m, tools);
    }

    private List<ChatMessage> base() {
        List<ChatMessage> m = new ArrayList<>(4);
        if (!system.isEmpty()) {
            m.add(ChatMessage.system(system));
        }
        m.add(ChatMessage.user(user));
        return m;
    }

    /** The call the first turn of a tool item must make, as the history records it. */
    public ToolCall expectedCall() {
        return new ToolCall(tools.getFirst().name(), "{\"city\": " + Json.quote(city) + "}");
    }

    /** The calls of a first-turn reply when it is exactly one call of the tool with the right city. */
    public Optional<List<ToolCall>> checkCall(String reply) {
        Optional<List<ToolCall>> calls = Llama3Tools.parse(reply);
        if (calls.isEmpty() || calls.get().size() != 1) {
            return Optional.empty();
        }
        ToolCall call = calls.get().getFirst();
        try {
            if (call.name().equals(expectedCall().name()) && Json.parse(call.arguments()).equals(Map.of("city", city))) {
                return calls;
            }
        } catch (JsonException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** Whether a final reply is the expected answer. */
    public boolean checkAnswer(String reply) {
        return reply.strip().equals(answer);
    }
}
