package io.llamba.service.support;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A raw HTTP client for the service's API: exact status, headers and bytes, SSE framing checked. */
public final class ApiClient {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final int port;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    public ApiClient(int port) {
        this.port = port;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public record Response(int status, java.net.http.HttpHeaders headers, String body) {
        public JsonNode json() {
            return JSON.readTree(body);
        }

        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }
    }

    public Response post(String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        boolean typed = false;
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
            typed |= headers[i].equalsIgnoreCase("Content-Type");
        }
        if (!typed) {
            b.header("Content-Type", "application/json");
        }
        return send(b.build());
    }

    public Response get(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(60)).GET();
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b.build());
    }

    private Response send(HttpRequest request) {
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(r.statusCode(), r.headers(), r.body());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The payloads of a server-sent event stream, checking its framing on the way: every event is
     * exactly one {@code data: } line followed by a blank line, and nothing else is in the body.
     */
    public static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        int at = 0;
        while (at < body.length()) {
            int end = body.indexOf("\n\n", at);
            if (end < 0) {
                throw new AssertionError("unterminated event at offset " + at + ": " + body.substring(at));
            }
            String event = body.substring(at, end);
            if (!event.startsWith("data: ") || event.contains("\n")) {
                throw new AssertionError("not a single 'data: ' line: " + event);
            }
            out.add(event.substring(6));
            at = end + 2;
        }
        return out;
    }

    public static JsonNode parse(String json) {
        return JSON.readTree(json);
    }

    /**
     * Sends a request on a plain socket and returns it open once {@code marker} has been read (or
     * at once when marker is null), for tests that then drop the connection.
     */
    public Socket openAndReadUntil(String path, String body, String marker) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(30_000);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        if (marker != null) {
            InputStream in = socket.getInputStream();
            StringBuilder seen = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0) {
                seen.append((char) c);
                if (seen.indexOf(marker) >= 0) {
                    break;
                }
            }
            if (seen.indexOf(marker) < 0) {
                throw new AssertionError("the connection closed before '" + marker + "': " + seen);
            }
        }
        return socket;
    }
}
