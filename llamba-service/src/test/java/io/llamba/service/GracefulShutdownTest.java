package io.llamba.service;

import io.llamba.service.support.ApiClient;
import io.llamba.service.support.ScriptedServiceConfiguration;
import io.llamba.spring.testing.Scripts;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.reactive.context.ReactiveWebServerApplicationContext;
import tools.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shutting down: a reply being streamed finishes whole, while new requests are refused (the server
 * stops accepting connections at once).
 */
class GracefulShutdownTest {
    @Test
    void inFlightStreamsFinishAndNewRequestsAreRefused() throws Exception {
        SpringApplication app = new SpringApplication(LlambaServiceApplication.class, ScriptedServiceConfiguration.class);
        ReactiveWebServerApplicationContext context = (ReactiveWebServerApplicationContext) app.run("--server.port=0",
                "--spring.main.banner-mode=off");
        int port = context.getWebServer().getPort();
        ApiClient api = new ApiClient(port);

        // 1200 scripted tokens at 2 ms a step: the stream runs for seconds after the shutdown starts.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(URI.create(api.baseUrl() + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"stream\": true, \"messages\": [{\"role\": \"user\","
                        + " \"content\": \"talk at length\"}]}")).build(), HttpResponse.BodyHandlers.ofInputStream());
        BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        lines.add(events.readLine()); // the first event: generation is under way

        CompletableFuture<Void> closing = CompletableFuture.runAsync(context::close);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        boolean refused = false;
        while (!refused && System.nanoTime() < deadline) {
            try (Socket probe = new Socket("127.0.0.1", port)) {
                Thread.sleep(20);
            } catch (ConnectException e) {
                refused = true;
            }
        }
        assertThat(refused).as("new connections are refused once the shutdown has begun").isTrue();
        assertThat(closing).isNotDone();

        for (String line; (line = events.readLine()) != null; ) {
            lines.add(line);
        }
        closing.get(30, TimeUnit.SECONDS);

        // The stream went on to its natural end: every token, the finish reason and [DONE].
        List<String> payloads = ApiClient.events(String.join("\n", lines) + "\n");
        StringBuilder text = new StringBuilder();
        String finish = null;
        boolean done = payloads.getLast().equals("[DONE]");
        for (String data : payloads.subList(0, payloads.size() - 1)) {
            JsonNode choice = ApiClient.parse(data).get("choices").get(0);
            if (choice.get("delta").has("content")) {
                text.append(choice.get("delta").get("content").stringValue());
            }
            if (!choice.get("finish_reason").isNull()) {
                finish = choice.get("finish_reason").stringValue();
            }
        }
        assertThat(done).isTrue();
        assertThat(finish).isEqualTo("stop");
        assertThat(text.toString()).isEqualTo(Scripts.LONG);
        assertThat(List.of(context.isActive())).containsExactly(false);
    }
}
