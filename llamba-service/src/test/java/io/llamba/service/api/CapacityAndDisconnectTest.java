package io.llamba.service.api;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.llamba.engine.generate.Engine;
import io.llamba.service.support.ApiClient;
import io.llamba.service.support.ApiErrorAssert;
import io.llamba.service.support.ScriptedServiceTest;
import io.llamba.spring.ai.LlambaResilience;
import io.llamba.spring.testing.ScriptedModel;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import static io.llamba.service.support.ScriptedServiceConfiguration.MAX_QUEUED;
import static io.llamba.service.support.ScriptedServiceConfiguration.MAX_SEQUENCES;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What happens at the edges of capacity: a client that goes away cancels its generation and frees
 * its slot (streamed or not); a full engine queue answers 429 with Retry-After; a failing backend
 * answers 500 without details, and once the circuit breaker opens, 503 with Retry-After.
 */
@ScriptedServiceTest
class CapacityAndDisconnectTest {
    /** "talk at length" is scripted as 1200 tokens: at 2 ms a step, over two seconds of generation. */
    static final String LONG_STREAM = "{\"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"talk at length\"}]}";
    static final String LONG_CALL = "{\"messages\": [{\"role\": \"user\", \"content\": \"talk at length\"}]}";

    @LocalServerPort
    int port;
    @Autowired
    Engine engine;
    @Autowired
    ScriptedModel model;
    @Autowired
    MeterRegistry meters;
    @Autowired
    LlambaResilience resilience;
    ApiClient api;
    final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void client() {
        api = new ApiClient(port);
    }

    @AfterEach
    void closeAndDrain() throws Exception {
        for (Socket s : sockets) {
            s.close();
        }
        model.failing = false;
        resilience.circuitBreaker().transitionToClosedState();
        await(() -> engine.stats().running() == 0 && engine.stats().waiting() == 0, "the engine to drain");
    }

    double cancelled() {
        var c = meters.find("llamba.requests.finished").tag("reason", "cancelled").counter();
        return c == null ? 0 : c.count();
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void aStreamingClientThatGoesAwayCancelsItsGeneration() throws Exception {
        double before = cancelled();
        long generatedBefore = engine.stats().generatedTokens();
        Socket socket = api.openAndReadUntil("/v1/chat/completions", LONG_STREAM, "data: ");
        assertThat(engine.stats().running()).isEqualTo(1);

        socket.close();

        await(() -> engine.stats().running() == 0, "the generation to stop");
        await(() -> cancelled() == before + 1, "the cancellation to be counted");
        assertThat(engine.stats().generatedTokens() - generatedBefore).as("stopped long before its 1200 tokens").isLessThan(600);
    }

    @Test
    void aWaitingClientThatGoesAwayCancelsItsGeneration() throws Exception {
        double before = cancelled();
        long generatedBefore = engine.stats().generatedTokens();
        Socket socket = api.openAndReadUntil("/v1/chat/completions", LONG_CALL, null);
        await(() -> engine.stats().running() == 1, "the generation to start");

        socket.close();

        await(() -> engine.stats().running() == 0, "the generation to stop");
        await(() -> cancelled() == before + 1, "the cancellation to be counted");
        assertThat(engine.stats().generatedTokens() - generatedBefore).isLessThan(600);
    }

    @Test
    void aFullQueueIsRefusedWith429AndRetryAfter() throws Exception {
        for (int i = 0; i < MAX_SEQUENCES; i++) {
            sockets.add(api.openAndReadUntil("/v1/chat/completions", LONG_STREAM, "data: "));
        }
        for (int i = 0; i < MAX_QUEUED; i++) {
            sockets.add(api.openAndReadUntil("/v1/chat/completions", LONG_STREAM, null));
        }
        await(() -> engine.stats().waiting() == MAX_QUEUED, "the queue to fill");

        for (String body : List.of(LONG_STREAM, LONG_CALL)) {
            ApiClient.Response refused = api.post("/v1/chat/completions", body);
            JsonNode e = ApiErrorAssert.error(refused, 429, "rate_limit_error", null, "engine_overloaded");
            assertThat(refused.header("retry-after")).isEqualTo("1");
            assertThat(e.get("message").stringValue()).contains("at capacity");
        }
        ApiErrorAssert.error(api.post("/v1/completions", "{\"prompt\": \"x\"}"), 429, "rate_limit_error", null, "engine_overloaded");
        assertThat(engine.stats().rejected()).isGreaterThanOrEqualTo(3);
    }

    @Test
    void aFailingBackendIs500WithoutDetailsThenTheOpenCircuitIs503() {
        model.failing = true;
        CircuitBreaker breaker = resilience.circuitBreaker();
        for (int i = 0; i < 5; i++) {
            ApiClient.Response r = api.post("/v1/chat/completions", LONG_CALL);
            JsonNode e = ApiErrorAssert.error(r, 500, "server_error", null, "internal_error");
            assertThat(e.get("message").stringValue()).matches("The server failed to answer this request \\(error id [0-9a-f]{8}, in the"
                    + " server log\\)\\.").doesNotContain("scripted backend failure");
        }
        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
        ApiClient.Response r = api.post("/v1/chat/completions", LONG_STREAM);
        ApiErrorAssert.error(r, 503, "server_error", null, "backend_unavailable");
        assertThat(r.header("retry-after")).isEqualTo("1");
        assertThat(api.get("/actuator/health/readiness").status()).isEqualTo(503);
        breaker.transitionToClosedState();
        assertThat(api.get("/actuator/health/readiness").status()).isEqualTo(200);
    }
}
