package io.llamba.service.api;

import io.llamba.service.support.ApiClient;
import io.llamba.service.support.ScriptedServiceTest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every API request is a Spring AI chat-model observation (timer {@code gen_ai.client.operation},
 * counter {@code gen_ai.client.token.usage}) beside the engine's meters; the actuator shows health
 * (liveness, readiness), info and prometheus, and nothing else.
 */
@ScriptedServiceTest
class ObservabilityTest {
    @LocalServerPort
    int port;
    @Autowired
    MeterRegistry meters;
    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port);
    }

    /** Summed over the other tags (model, error...): each request is one observation in one of them. */
    long operations(String operation) {
        return meters.find("gen_ai.client.operation").tag("gen_ai.operation.name", operation).tag("gen_ai.system", "llamba")
                .timers().stream().mapToLong(Timer::count).sum();
    }

    double tokens(String operation, String type) {
        return meters.find("gen_ai.client.token.usage").tag("gen_ai.operation.name", operation).tag("gen_ai.token.type", type)
                .counters().stream().mapToDouble(Counter::count).sum();
    }

    @Test
    void chatAndTextCompletionsAreObservedAsSpringAiCalls() {
        long chats = operations("chat");
        double chatOutput = tokens("chat", "output");
        api.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        ApiClient.Response stream = api.post("/v1/chat/completions", "{\"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        assertThat(stream.status()).isEqualTo(200);
        assertThat(operations("chat")).isEqualTo(chats + 2);
        assertThat(tokens("chat", "output")).isEqualTo(chatOutput + 2 * ("Hello from Llamba!".length() + 1));

        long texts = operations("text_completion");
        double textInput = tokens("text_completion", "input");
        api.post("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 4}");
        assertThat(operations("text_completion")).isEqualTo(texts + 1);
        assertThat(tokens("text_completion", "input")).isEqualTo(textInput + 3);
        assertThat(tokens("text_completion", "output")).isPositive();
    }

    @Test
    void prometheusShowsEngineAndGenAiMeters() {
        api.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        ApiClient.Response r = api.get("/actuator/prometheus");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).contains("gen_ai_client_operation_seconds_count{")
                .contains("gen_ai_client_token_usage_total{")
                .contains("llamba_requests_waiting ")
                .contains("llamba_requests_running ")
                .contains("llamba_requests_finished_total{")
                .contains("llamba_time_to_first_token_seconds_count")
                .contains("http_server_requests_seconds_count{");
    }

    @Test
    void healthHasLivenessAndReadinessGroupsAndTheModel() {
        assertThat(api.get("/actuator/health/liveness").json().get("status").stringValue()).isEqualTo("UP");
        assertThat(api.get("/actuator/health/readiness").json().get("status").stringValue()).isEqualTo("UP");
        JsonNode health = api.get("/actuator/health").json();
        assertThat(health.get("components").get("llamba").get("details").get("model").stringValue()).isEqualTo("scripted");
        assertThat(health.get("components").has("diskSpace")).as("no file system path shown").isFalse();
    }

    @Test
    void infoNamesModelArchitectureBackendAndVersion() {
        JsonNode llamba = api.get("/actuator/info").json().get("llamba");
        assertThat(llamba.get("model").stringValue()).isEqualTo("scripted");
        assertThat(llamba.get("architecture").stringValue()).isEqualTo("scripted");
        assertThat(llamba.get("backend").stringValue()).isEqualTo("cpu");
        assertThat(llamba.has("version")).isTrue();
    }

    @Test
    void nothingElseOfTheActuatorIsExposed() {
        for (String path : new String[] {"env", "configprops", "beans", "heapdump", "threaddump", "loggers", "mappings", "metrics",
                "shutdown", "circuitbreakers", "bulkheads", "scheduledtasks", "conditions"}) {
            ApiClient.Response r = api.get("/actuator/" + path);
            assertThat(r.status()).as(path).isEqualTo(404);
            assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ");
        }
        JsonNode links = api.get("/actuator").json().get("_links");
        assertThat(links.propertyNames()).containsExactlyInAnyOrder("self", "health", "health-path", "info", "prometheus");
    }

    @Test
    void errorsOutsideTheApiShowNoDetails() {
        for (String path : new String[] {"/no/such/page", "/actuator/nothing", "/index.html/.."}) {
            ApiClient.Response r = api.get(path);
            assertThat(r.status()).as(path).isGreaterThanOrEqualTo(400);
            assertThat(r.body()).doesNotContain("trace").doesNotContain("Exception").doesNotContain("\tat ");
        }
    }
}
