package io.llamba.service.api.error;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.llamba.engine.generate.EngineClosedException;
import io.llamba.engine.generate.EngineOverloadedException;
import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.spring.ai.GenerationTimeoutException;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;

import java.time.Duration;
import java.util.concurrent.CancellationException;

import static org.assertj.core.api.Assertions.assertThat;

/** Every failure a request can meet, mapped to its status, type, code and Retry-After. */
class ApiErrorsMappingTest {
    static ApiException map(Throwable t) {
        return ApiErrors.from(t, "messages", 7);
    }

    @Test
    void refusalsAtCapacityAre429WithRetryAfter() {
        ApiException queue = map(new EngineOverloadedException(256, 256));
        assertThat(queue.status()).isEqualTo(HttpStatus.TOO_MANY_REQUESTS);
        assertThat(queue.code()).isEqualTo("engine_overloaded");
        assertThat(queue.retryAfterSeconds()).isEqualTo(7);
        assertThat(queue.getMessage()).contains("256 requests waiting");

        ApiException bulkhead = map(BulkheadFullException.createBulkheadFullException(Bulkhead.ofDefaults("llamba")));
        assertThat(bulkhead.status()).isEqualTo(HttpStatus.TOO_MANY_REQUESTS);
        assertThat(bulkhead.type()).isEqualTo("rate_limit_error");
        assertThat(bulkhead.code()).isEqualTo("too_many_concurrent_requests");
        assertThat(bulkhead.retryAfterSeconds()).isEqualTo(7);
    }

    @Test
    void anUnavailableBackendIs503WithRetryAfter() {
        CircuitBreaker breaker = CircuitBreaker.ofDefaults("llamba");
        breaker.transitionToOpenState();
        ApiException open = map(CallNotPermittedException.createCallNotPermittedException(breaker));
        assertThat(open.status()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
        assertThat(open.code()).isEqualTo("backend_unavailable");
        assertThat(open.retryAfterSeconds()).isEqualTo(7);

        ApiException closing = map(new EngineClosedException("the engine is shutting down"));
        assertThat(closing.status()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
        assertThat(closing.code()).isEqualTo("shutting_down");
        assertThat(map(new CancellationException()).status()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
    }

    @Test
    void aMissedDeadlineIs504() {
        ApiException late = map(new GenerationTimeoutException(Duration.ofMinutes(2)));
        assertThat(late.status()).isEqualTo(HttpStatus.GATEWAY_TIMEOUT);
        assertThat(late.code()).isEqualTo("generation_timeout");
        assertThat(late.getMessage()).isEqualTo("The generation did not finish within its deadline of PT2M and was stopped");
    }

    @Test
    void engineRefusalsNameTheRequestField() {
        ApiException prompt = map(new InvalidRequestException("prompt", "the prompt has 5000 tokens; the context limit is 4096 tokens"));
        assertThat(prompt.param()).isEqualTo("messages");
        assertThat(prompt.code()).isEqualTo("context_length_exceeded");
        assertThat(ApiErrors.from(new InvalidRequestException("prompt", "x"), "prompt", 1).param()).isEqualTo("prompt");
        ApiException sampling = map(new InvalidRequestException("top_p", "top_p must be in (0, 1], got 3.0"));
        assertThat(sampling.param()).isEqualTo("top_p");
        assertThat(sampling.code()).isEqualTo("invalid_value");
        ApiException model = map(new InvalidRequestException("model", "model 'x' is not served here"));
        assertThat(model.status()).isEqualTo(HttpStatus.NOT_FOUND);
        assertThat(model.code()).isEqualTo("model_not_found");
    }

    @Test
    void anythingElseIs500WithOnlyAnErrorId() {
        ApiException e = map(new IllegalStateException("CUDA error 700 at /opt/secret/path/kernel.cu"));
        assertThat(e.status()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
        assertThat(e.type()).isEqualTo("server_error");
        assertThat(e.getMessage()).matches("The server failed to answer this request \\(error id [0-9a-f]{8}, in the server log\\)\\.");
        assertThat(e.toError().message()).doesNotContain("CUDA").doesNotContain("/opt");
    }
}
