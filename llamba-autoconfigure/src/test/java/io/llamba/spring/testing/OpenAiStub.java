package io.llamba.spring.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.llamba.engine.json.Json;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A tiny OpenAI-compatible chat-completions endpoint on loopback, standing in for a real service:
 * it answers {@code POST /v1/chat/completions}, whole or streamed (server-sent events), with a fixed
 * greeting, or, when a "weather" tool is offered, with a call to it, and once the tool's result is
 * in the conversation, with an answer quoting it.
 */
public final class OpenAiStub implements AutoCloseable {
    public static final String GREETING = "Hello from the stub!";

    private final HttpServer server;
    /** The request bodies received, parsed. */
    public final List<Map<String, Object>> requests = new CopyOnWriteArrayList<>();

    public OpenAiStub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/chat/completions", this::handle);
        server.start();
    }

    /** The base URL to give the OpenAI client ({@code spring.ai.openai.base-url}). */
    public String baseUrl() {
        return "http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort() + "/v1";
    }

    @Override
    public void close() {
        server.stop(0);
    }

    @SuppressWarnings("unchecked")
    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Map<String, Object> request = (Map<String, Object>) Json.parse(
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), "request");
            requests.add(request);
            List<Map<String, Object>> messages = (List<Map<String, Object>>) request.get("messages");
            Map<String, Object> last = messages.getLast();
            boolean toolOffered = request.get("tools") instanceof List<?> tools && !tools.isEmpty();
            String text = null;
            Map<String, Object> call = null;
            if ("tool".equals(last.get("role"))) {
                text = "Paris: " + last.get("content") + ".";
            } else if (toolOffered) {
                call = new LinkedHashMap<>(Map.of("id", "call_1", "type", "function",
                        "function", Map.of("name", "weather", "arguments", "{\"city\":\"Paris\"}")));
            } else {
                text = GREETING;
            }
            if (Boolean.TRUE.equals(request.get("stream"))) {
                stream(exchange, text, call);
            } else {
                whole(exchange, text, call);
            }
        }
    }

    private static void whole(HttpExchange exchange, String text, Map<String, Object> call) throws IOException {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("role", "assistant");
        message.put("content", text);
        if (call != null) {
            message.put("tool_calls", List.of(call));
        }
        Map<String, Object> body = envelope("chat.completion");
        body.put("choices", List.of(Map.of("index", 0, "message", message, "finish_reason", call != null ? "tool_calls" : "stop")));
        body.put("usage", Map.of("prompt_tokens", 7, "completion_tokens", 5, "total_tokens", 12));
        byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    private static void stream(HttpExchange exchange, String text, Map<String, Object> call) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        List<Map<String, Object>> deltas = new ArrayList<>();
        if (call != null) {
            Map<String, Object> indexed = new LinkedHashMap<>(call);
            indexed.put("index", 0);
            deltas.add(Map.of("role", "assistant", "tool_calls", List.of(indexed)));
        } else {
            for (int i = 0; i < text.length(); i += 4) {
                deltas.add(Map.of("role", "assistant", "content", text.substring(i, Math.min(text.length(), i + 4))));
            }
        }
        for (Map<String, Object> delta : deltas) {
            event(out, chunk(delta, null));
        }
        event(out, chunk(Map.of(), call != null ? "tool_calls" : "stop"));
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    }

    private static Map<String, Object> chunk(Map<String, Object> delta, String finishReason) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("delta", delta);
        choice.put("finish_reason", finishReason);
        Map<String, Object> body = envelope("chat.completion.chunk");
        body.put("choices", List.of(choice));
        return body;
    }

    private static Map<String, Object> envelope(String object) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", "chatcmpl-stub");
        body.put("object", object);
        body.put("created", 1_700_000_000);
        body.put("model", "stub-model");
        return body;
    }

    private static void event(OutputStream out, Map<String, Object> body) throws IOException {
        out.write(("data: " + Json.write(body) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
