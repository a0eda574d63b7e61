package io.llamba.service.api.chat;

import io.llamba.service.ServiceProperties;
import io.llamba.service.api.ClientTool;
import io.llamba.service.api.SamplingFields;
import io.llamba.service.api.error.ApiException;
import io.llamba.service.api.json.RequestJson;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.DefaultToolDefinition;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A {@code POST /v1/chat/completions} request, read and checked: the messages as Spring AI messages
 * (the Llamba ChatModel renders them with the Llama 3 template), the sampling fields, and the tools
 * the client offers (definitions only; {@code tool_choice} "none" offers none).
 */
public record ChatCompletionRequest(@Nullable String model, List<Message> messages, boolean stream, boolean includeUsage,
                                    SamplingFields sampling, List<ToolCallback> tools) {
    /** OpenAI's rule for function names. */
    private static final Pattern TOOL_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
    private static final String EMPTY_SCHEMA = "{\"type\":\"object\",\"properties\":{}}";

    public static ChatCompletionRequest read(RequestJson json, ServiceProperties.Limits limits, JsonMapper mapper) {
        String model = json.string("model").orElse(null);
        List<RequestJson> items = json.objects("messages").orElseThrow(() -> json.missing("messages"));
        if (items.isEmpty()) {
            throw ApiException.invalid("messages", "invalid_value", "messages is empty; give at least one message.");
        }
        if (items.size() > limits.getMaxMessages()) {
            throw ApiException.invalid("messages", "invalid_value", "messages has " + items.size()
                    + " messages; this server accepts at most " + limits.getMaxMessages() + ".");
        }
        List<Message> messages = messages(items);
        boolean stream = json.bool("stream").orElse(false);
        boolean includeUsage = json.object("stream_options").flatMap(o -> o.bool("include_usage")).orElse(false);
        SamplingFields sampling = SamplingFields.read(json, limits);
        List<ToolCallback> tools = tools(json, limits, mapper);
        return new ChatCompletionRequest(model, messages, stream, includeUsage, sampling, tools);
    }

    private static List<Message> messages(List<RequestJson> items) {
        List<Message> out = new ArrayList<>(items.size());
        Map<String, String> toolNames = new HashMap<>(); // call id -> function name, for tool results
        List<ToolResponseMessage.ToolResponse> results = new ArrayList<>();
        for (RequestJson m : items) {
            String role = m.requiredString("role");
            if (!role.equals("tool") && !results.isEmpty()) {
                out.add(ToolResponseMessage.builder().responses(List.copyOf(results)).build());
                results.clear();
            }
            switch (role) {
                case "system", "developer" -> out.add(new SystemMessage(text(m, true)));
                case "user" -> out.add(new UserMessage(text(m, true)));
                case "assistant" -> {
                    List<AssistantMessage.ToolCall> calls = toolCalls(m);
                    calls.forEach(c -> toolNames.put(c.id(), c.name()));
                    String content = text(m, calls.isEmpty());
                    out.add(AssistantMessage.builder().content(content).toolCalls(calls).build());
                }
                case "tool" -> {
                    String id = m.requiredString("tool_call_id");
                    results.add(new ToolResponseMessage.ToolResponse(id, toolNames.getOrDefault(id, m.string("name").orElse("")),
                            text(m, true)));
                }
                default -> throw ApiException.invalid(m.path("role"), "invalid_value", m.path("role") + " is '" + role
                        + "'; expected system, developer, user, assistant or tool.");
            }
        }
        if (!results.isEmpty()) {
            out.add(ToolResponseMessage.builder().responses(List.copyOf(results)).build());
        }
        return out;
    }

    /** A message's text: a string, or the concatenated text parts of an array; the models read nothing else. */
    private static String text(RequestJson m, boolean required) {
        JsonNode content = m.raw("content");
        if (content == null) {
            if (required) {
                throw m.missing("content");
            }
            return "";
        }
        if (content.isString()) {
            return content.stringValue();
        }
        List<RequestJson> parts = m.objects("content").orElseThrow();
        StringBuilder sb = new StringBuilder();
        for (RequestJson part : parts) {
            String type = part.requiredString("type");
            if (!type.equals("text")) {
                throw ApiException.invalid(part.path("type"), "unsupported_value", part.path() + " is of type '" + type
                        + "'; Llamba models read text only.");
            }
            sb.append(part.requiredString("text"));
        }
        return sb.toString();
    }

    private static List<AssistantMessage.ToolCall> toolCalls(RequestJson m) {
        List<AssistantMessage.ToolCall> calls = new ArrayList<>();
        for (RequestJson c : m.objects("tool_calls").orElse(List.of())) {
            String type = c.string("type").orElse("function");
            if (!type.equals("function")) {
                throw ApiException.invalid(c.path("type"), "invalid_value", c.path("type") + " is '" + type + "'; only function calls exist.");
            }
            RequestJson f = c.object("function").orElseThrow(() -> c.missing("function"));
            String arguments = f.string("arguments").orElse("{}");
            calls.add(new AssistantMessage.ToolCall(c.requiredString("id"), "function", f.requiredString("name"), arguments));
        }
        return calls;
    }

    private static List<ToolCallback> tools(RequestJson json, ServiceProperties.Limits limits, JsonMapper mapper) {
        List<RequestJson> items = json.objects("tools").orElse(List.of());
        JsonNode choice = json.raw("tool_choice");
        String mode = "auto";
        if (choice != null) {
            if (!choice.isString() || !(choice.stringValue().equals("auto") || choice.stringValue().equals("none"))) {
                throw json.unsupported("tool_choice", "tool_choice must be \"auto\" or \"none\" on this server"
                        + " (the model decides whether to call a tool).");
            }
            mode = choice.stringValue();
        }
        if (items.size() > limits.getMaxTools()) {
            throw ApiException.invalid("tools", "invalid_value", "tools has " + items.size() + " tools; this server accepts at most "
                    + limits.getMaxTools() + ".");
        }
        List<ToolCallback> tools = new ArrayList<>(items.size());
        Set<String> names = new HashSet<>();
        for (RequestJson t : items) {
            String type = t.requiredString("type");
            if (!type.equals("function")) {
                throw ApiException.invalid(t.path("type"), "invalid_value", t.path("type") + " is '" + type + "'; only function tools exist.");
            }
            RequestJson f = t.object("function").orElseThrow(() -> t.missing("function"));
            String name = f.requiredString("name");
            if (!TOOL_NAME.matcher(name).matches()) {
                throw ApiException.invalid(f.path("name"), "invalid_value", f.path("name") + " '" + name
                        + "' must be 1 to 64 letters, digits, '_' or '-'.");
            }
            if (!names.add(name)) {
                throw ApiException.invalid(f.path("name"), "invalid_value", "Two tools are named '" + name + "'.");
            }
            JsonNode parameters = f.raw("parameters");
            if (parameters != null && !parameters.isObject()) {
                throw f.wrongType("parameters", "a JSON schema object", parameters);
            }
            String schema = parameters == null ? EMPTY_SCHEMA : mapper.writeValueAsString(parameters);
            tools.add(new ClientTool(DefaultToolDefinition.builder()
                    .name(name)
                    .description(f.string("description").orElse(""))
                    .inputSchema(schema)
                    .build()));
        }
        return mode.equals("none") ? List.of() : tools;
    }
}
