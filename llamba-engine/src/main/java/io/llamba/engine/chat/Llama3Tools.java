package io.llamba.engine.chat;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.tokenizer.ChatMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Tool calling in the Llama 3.1 JSON format (docs/tool-calling.md), as Meta's and Hugging Face's
 * Llama 3.1 chat template renders it:
 * <ul>
 *   <li>the system message begins with {@code "Environment: ipython\n\n"} (a system message is
 *       added when there is none);</li>
 *   <li>the first user message is prefixed by an instruction and the tool definitions, each as an
 *       OpenAI-style function object in JSON indented by 4;</li>
 *   <li>the assistant calls a tool by answering with
 *       {@code {"name": "fn", "parameters": {...}}} (several: one per line);</li>
 *   <li>tool results come back as {@code ipython} messages.</li>
 * </ul>
 * The demo model is trained on exactly this rendering (tools/demo-model), and the parser accepts
 * what real Llama-3-family models emit (an optional {@code <|python_tag|>}, "arguments" for
 * "parameters", a JSON list, calls separated by ';').
 */
public final class Llama3Tools {
    public static final String ENVIRONMENT = "Environment: ipython";
    public static final String INSTRUCTION = "Given the following functions, please respond with a JSON for a function call "
            + "with its proper arguments that best answers the given prompt.\n\n"
            + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}. "
            + "Do not use variables.\n\n";

    private Llama3Tools() {
    }

    /**
     * The messages with the tools rendered in; unchanged when there are no tools. Tool results
     * ({@code tool} role) become {@code ipython} messages either way.
     */
    public static List<ChatMessage> render(List<ChatMessage> messages, List<ToolDefinition> tools) {
        List<ChatMessage> out = new ArrayList<>(messages.size() + 1);
        for (ChatMessage m : messages) {
            out.add(m.role().equals(ChatMessage.TOOL) ? new ChatMessage(ChatMessage.IPYTHON, m.content()) : m);
        }
        if (tools == null || tools.isEmpty()) {
            return out;
        }
        if (out.isEmpty() || !out.getFirst().role().equals(ChatMessage.SYSTEM)) {
            out.addFirst(new ChatMessage(ChatMessage.SYSTEM, ENVIRONMENT));
        } else {
            String sys = out.getFirst().content();
            out.set(0, new ChatMessage(ChatMessage.SYSTEM, sys.isEmpty() ? ENVIRONMENT : ENVIRONMENT + "\n\n" + sys));
        }
        StringBuilder preamble = new StringBuilder(INSTRUCTION);
        for (ToolDefinition t : tools) {
            preamble.append(Json.writeIndented(t.toJsonObject())).append("\n\n");
        }
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).role().equals(ChatMessage.USER)) {
                out.set(i, new ChatMessage(ChatMessage.USER, preamble + out.get(i).content()));
                return out;
            }
        }
        out.add(new ChatMessage(ChatMessage.USER, preamble.toString().stripTrailing()));
        return out;
    }

    /** The assistant message content that records calls in the history (what the model would have said). */
    public static String renderCalls(List<ToolCall> calls) {
        StringBuilder sb = new StringBuilder();
        for (ToolCall c : calls) {
            if (!sb.isEmpty()) {
                sb.append('\n');
            }
            sb.append("{\"name\": ").append(Json.quote(c.name())).append(", \"parameters\": ").append(normalizeArguments(c.arguments())).append('}');
        }
        return sb.toString();
    }

    private static String normalizeArguments(String args) {
        if (args == null || args.isBlank()) {
            return "{}";
        }
        try {
            return Json.writeSpaced(Json.parse(args, "tool arguments"));
        } catch (JsonException e) {
            return Json.quote(args);
        }
    }

    /**
     * The tool calls in a model's reply, or empty when the reply is not entirely tool calls (then it
     * is plain text; malformed calls never throw).
     */
    public static Optional<List<ToolCall>> parse(String reply) {
        String text = reply.strip();
        if (text.startsWith("<|python_tag|>")) {
            text = text.substring("<|python_tag|>".length()).strip();
        }
        if (text.isEmpty() || (text.charAt(0) != '{' && text.charAt(0) != '[')) {
            return Optional.empty();
        }
        List<Object> values = new ArrayList<>();
        try {
            if (text.charAt(0) == '[') {
                if (!(Json.parse(text, "tool calls") instanceof List<?> list)) {
                    return Optional.empty();
                }
                values.addAll(list);
            } else {
                for (String part : splitTopLevel(text)) {
                    values.add(Json.parse(part, "tool call"));
                }
            }
        } catch (JsonException e) {
            return Optional.empty();
        }
        List<ToolCall> calls = new ArrayList<>();
        for (Object v : values) {
            if (!(v instanceof Map<?, ?> m) || !(m.get("name") instanceof String name) || name.isBlank()) {
                return Optional.empty();
            }
            Object args = m.containsKey("parameters") ? m.get("parameters") : m.get("arguments");
            if (args instanceof String s) {
                try {
                    args = Json.parse(s, "tool arguments");
                } catch (JsonException e) {
                    return Optional.empty();
                }
            }
            if (args == null) {
                args = Map.of();
            }
            if (!(args instanceof Map<?, ?>)) {
                return Optional.empty();
            }
            calls.add(new ToolCall(name, Json.write(args)));
        }
        return calls.isEmpty() ? Optional.empty() : Optional.of(calls);
    }

    /** Splits "{...}\n{...}" or "{...}; {...}" at top-level separators, respecting strings. */
    private static List<String> splitTopLevel(String text) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        boolean inString = false;
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    parts.add(text.substring(start, i + 1).strip());
                    int j = i + 1;
                    while (j < text.length() && (Character.isWhitespace(text.charAt(j)) || text.charAt(j) == ';')) {
                        j++;
                    }
                    start = j;
                    i = j - 1;
                }
            }
        }
        if (start < text.length()) {
            parts.add(text.substring(start).strip()); // an unterminated tail: fails to parse, so plain text
        }
        return parts;
    }
}
