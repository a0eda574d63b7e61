package io.llamba.engine.loadtest;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal OpenAI-style chat completions server on loopback: the reply to a prompt is its words
 * backwards, one word per event, at most max_tokens words. Faults can be switched on for every
 * n-th streamed request after the first {@code faultsAfter}, to see the load test catch each.
 */
final class FakeChatServer implements AutoCloseable {
    /** Which fault, every how many requests (0: never). */
    volatile int refuseEvery;
    volatile int cutEvery;
    volatile int mixEvery;
    volatile int reuseIdEvery;
    volatile int errorEvery;
    volatile int stallEvery;
    /** Replies that differ on every request (a sampling server): exact checking must fail, protocol checking pass. */
    volatile boolean nondeterministic;
    volatile int faultsAfter;

    final AtomicInteger chatRequests = new AtomicInteger();
    private final AtomicInteger ids = new AtomicInteger();
    private final HttpServer server;

    FakeChatServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/models", ex -> respond(ex, 200, "application/json", "{\"object\":\"list\",\"data\":[{\"id\":\"fake-llamba\",\"object\":\"model\"}]}"));
        server.createContext("/v1/chat/completions", this::chat);
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/v1");
    }

    static List<String> reply(String prompt, int maxTokens) {
        String[] words = prompt.split(" ");
        List<String> out = new ArrayList<>();
        for (int i = words.length - 1; i >= 0 && out.size() < maxTokens; i--) {
            out.add((out.isEmpty() ? "" : " ") + words[i]);
        }
        return out;
    }

    private static boolean every(int n, int count) {
        return n > 0 && count % n == 0;
    }

    private void chat(HttpExchange ex) throws IOException {
        int n = chatRequests.incrementAndGet();
        JsonObject body = Json.parseObject(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), "request");
        List<JsonObject> messages = body.getObjectList("messages");
        String prompt = messages.getLast().getString("content");
        int maxTokens = body.optInt("max_tokens", 16);
        boolean faults = n > faultsAfter;
        List<String> words = reply(prompt, maxTokens);
        if (nondeterministic) {
            words.add(" " + n);
        }
        if (faults && every(refuseEvery, n)) {
            respond(ex, 429, "application/json", "{\"error\":{\"message\":\"the engine is at capacity\",\"type\":\"overloaded\"}}");
            return;
        }
        String id = "chatcmpl-" + (faults && every(reuseIdEvery, n) ? 1 : ids.incrementAndGet());
        if (faults && every(mixEvery, n) && words.size() > 1) {
            words.set(1, " intruder");
        }
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.sendResponseHeaders(200, 0);
        try (OutputStream out = ex.getResponseBody()) {
            send(out, chunk(id, "{\"role\":\"assistant\",\"content\":\"\"}", null));
            for (int i = 0; i < words.size(); i++) {
                if (faults && every(cutEvery, n) && i == words.size() / 2) {
                    return; // the connection ends mid-reply
                }
                if (faults && every(errorEvery, n) && i == words.size() / 2) {
                    send(out, "{\"error\":{\"message\":\"engine failure\",\"type\":\"server_error\"}}");
                    return;
                }
                if (faults && every(stallEvery, n) && i == 1) {
                    Thread.sleep(5_000);
                }
                send(out, chunk(id, "{\"content\":" + Json.quote(words.get(i)) + "}", null));
                Thread.sleep(1);
            }
            String finish = words.size() >= maxTokens ? "length" : "stop";
            send(out, chunk(id, "{}", finish));
            send(out, "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
                    + "\"completion_tokens\":" + words.size() + ",\"total_tokens\":" + (5 + words.size()) + "}}");
            send(out, "[DONE]");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // The client went away (a timed-out request): nothing to do.
        }
    }

    private static String chunk(String id, String delta, String finish) {
        return "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"fake-llamba\",\"choices\":[{\"index\":0,"
                + "\"delta\":" + delta + ",\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}";
    }

    private static void send(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
