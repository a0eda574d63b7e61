package io.llamba.spring.ai;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.EngineOverloadedException;
import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.Scripts;
import io.llamba.spring.testing.TestTokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.Disposable;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The bulkhead, time limiter and circuit breaker around generations, on a scripted model. */
class LlambaResilienceTest {
    final ScriptedModel model = new ScriptedModel(TestTokenizer.load(), Scripts::reply, 2);
    final Engine engine = new Engine(model, TestTokenizer.load(), new EngineOptions(1, 0, 0, 64));

    @AfterEach
    void close() {
        engine.close();
    }

    LlambaChatModel chat(LlambaResilience resilience) {
        return LlambaChatModel.builder().engine(engine).resilience(resilience).build();
    }

    @Test
    void aFullBulkheadRefusesAtOnceAndFreesItsSlotWhenTheGenerationEnds() {
        Bulkhead bulkhead = Bulkhead.of("llamba", BulkheadConfig.custom().maxConcurrentCalls(1).maxWaitDuration(Duration.ZERO).build());
        LlambaChatModel chat = chat(LlambaResilience.of(bulkhead, null, null));
        AtomicInteger chunks = new AtomicInteger();
        Disposable running = chat.stream(new Prompt("Please talk at length.")).subscribe(c -> chunks.incrementAndGet());
        await().atMost(Duration.ofSeconds(5)).until(() -> chunks.get() > 0);

        long t0 = System.nanoTime();
        assertThatThrownBy(() -> chat.call(new Prompt("Hi"))).isInstanceOf(BulkheadFullException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(500));
        assertThat(bulkhead.getMetrics().getAvailableConcurrentCalls()).isZero();

        running.dispose();
        await().atMost(Duration.ofSeconds(5)).until(() -> bulkhead.getMetrics().getAvailableConcurrentCalls() == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> engine.stats().running() == 0);
        assertThat(chat.call(new Prompt("Hi")).getResult().getOutput().getText()).isEqualTo(Scripts.HELLO);
    }

    @Test
    void theTimeLimiterIsEveryGenerationsDeadline() {
        TimeLimiter limiter = TimeLimiter.of("llamba", TimeLimiterConfig.custom().timeoutDuration(Duration.ofMillis(150)).build());
        AtomicInteger timeouts = new AtomicInteger();
        limiter.getEventPublisher().onTimeout(e -> timeouts.incrementAndGet());
        LlambaChatModel chat = chat(LlambaResilience.of(null, null, limiter));

        assertThatThrownBy(() -> chat.call(new Prompt("Please talk at length.")))
                .isInstanceOf(GenerationTimeoutException.class).hasMessageContaining("PT0.15S");
        assertThat(engine.stats().running()).isZero();
        assertThatThrownBy(() -> chat.stream(new Prompt("Please talk at length.")).blockLast(Duration.ofSeconds(10)))
                .isInstanceOf(GenerationTimeoutException.class);
        assertThat(timeouts.get()).isEqualTo(2);
        // Short replies finish well within it.
        assertThat(chat.call(new Prompt("Hi")).getResult().getOutput().getText()).isEqualTo(Scripts.HELLO);
    }

    @Test
    void repeatedBackendFailuresOpenTheCircuitBreaker() {
        CircuitBreaker breaker = CircuitBreaker.of("llamba", CircuitBreakerConfig.custom().slidingWindowSize(2).minimumNumberOfCalls(2)
                .failureRateThreshold(50).waitDurationInOpenState(Duration.ofMinutes(1)).build());
        LlambaChatModel chat = chat(LlambaResilience.of(null, breaker, null));
        model.failing = true;

        assertThatThrownBy(() -> chat.call(new Prompt("Hi"))).hasMessage("scripted backend failure");
        assertThatThrownBy(() -> chat.stream(new Prompt("Hi")).blockLast(Duration.ofSeconds(10))).hasMessage("scripted backend failure");
        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);

        int forwards = model.forwards.get();
        assertThatThrownBy(() -> chat.call(new Prompt("Hi"))).isInstanceOf(CallNotPermittedException.class);
        assertThat(model.forwards.get()).isEqualTo(forwards); // refused without reaching the engine
    }

    @Test
    void refusalsAndBadRequestsSayNothingAboutTheBackend() {
        CircuitBreaker breaker = CircuitBreaker.of("llamba", CircuitBreakerConfig.custom().slidingWindowSize(2).minimumNumberOfCalls(1).build());
        Bulkhead bulkhead = Bulkhead.of("llamba", BulkheadConfig.custom().maxConcurrentCalls(8).build());
        LlambaChatModel chat = chat(LlambaResilience.of(bulkhead, breaker, null));
        AtomicInteger chunks = new AtomicInteger();
        Disposable running = chat.stream(new Prompt("Please talk at length.")).subscribe(c -> chunks.incrementAndGet());
        await().atMost(Duration.ofSeconds(5)).until(() -> chunks.get() > 0);

        // One slot and no queue: the engine refuses a second request at once, with its typed error.
        assertThatThrownBy(() -> chat.call(new Prompt("Hi"))).isInstanceOf(EngineOverloadedException.class);
        assertThatThrownBy(() -> chat.call(new Prompt("x".repeat(5000)))).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("context limit");

        running.dispose();
        await().atMost(Duration.ofSeconds(5)).until(() -> bulkhead.getMetrics().getAvailableConcurrentCalls() == 8);
        assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
        assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    }
}
