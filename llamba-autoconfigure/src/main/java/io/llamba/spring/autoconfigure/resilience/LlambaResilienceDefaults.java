package io.llamba.spring.autoconfigure.resilience;

import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.ai.LlambaResilience;
import org.springframework.ai.model.SpringAIModelProperties;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Defaults for the Resilience4j instances named {@value LlambaResilience#INSTANCE_NAME}, as
 * {@code resilience4j.*} properties of lowest precedence: any value the application sets wins, one
 * property at a time, and the actuator's env and configprops endpoints show them. Resilience4j's own
 * defaults do not suit generation (a one-second time limit), hence these.
 * <p>
 * Added only when Llamba is the chat model ({@code spring.ai.model.chat} absent or "llamba").
 */
public class LlambaResilienceDefaults implements EnvironmentPostProcessor {
    public static final String PROPERTY_SOURCE_NAME = "llambaResilienceDefaults";

    /** Concurrent generations, running and queued, before new ones are refused at once. */
    static final int MAX_CONCURRENT_CALLS = 64;
    /** No waiting for a bulkhead slot: a full bulkhead is a fast, typed rejection. */
    static final Duration MAX_WAIT = Duration.ZERO;
    static final int SLIDING_WINDOW_SIZE = 20;
    static final int MINIMUM_CALLS = 5;
    static final float FAILURE_RATE_THRESHOLD = 50;
    static final Duration WAIT_IN_OPEN_STATE = Duration.ofSeconds(30);
    static final int CALLS_IN_HALF_OPEN_STATE = 2;
    /** A generation's deadline: generous, as a long reply on a CPU takes minutes. */
    static final Duration TIMEOUT = Duration.ofMinutes(2);

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        String chatModel = environment.getProperty(SpringAIModelProperties.CHAT_MODEL);
        if (chatModel != null && !chatModel.equals(LlambaChatModel.PROVIDER)) {
            return;
        }
        environment.getPropertySources().addLast(new MapPropertySource(PROPERTY_SOURCE_NAME, properties()));
    }

    /** The defaults as properties. */
    public static Map<String, Object> properties() {
        String n = LlambaResilience.INSTANCE_NAME;
        Map<String, Object> p = new LinkedHashMap<>();
        String bulkhead = "resilience4j.bulkhead.instances." + n + ".";
        p.put(bulkhead + "max-concurrent-calls", MAX_CONCURRENT_CALLS);
        p.put(bulkhead + "max-wait-duration", MAX_WAIT.toString());
        String breaker = "resilience4j.circuitbreaker.instances." + n + ".";
        p.put(breaker + "sliding-window-type", "COUNT_BASED");
        p.put(breaker + "sliding-window-size", SLIDING_WINDOW_SIZE);
        p.put(breaker + "minimum-number-of-calls", MINIMUM_CALLS);
        p.put(breaker + "failure-rate-threshold", FAILURE_RATE_THRESHOLD);
        p.put(breaker + "wait-duration-in-open-state", WAIT_IN_OPEN_STATE.toString());
        p.put(breaker + "permitted-number-of-calls-in-half-open-state", CALLS_IN_HALF_OPEN_STATE);
        p.put(breaker + "automatic-transition-from-open-to-half-open-enabled", true);
        p.put(breaker + "register-health-indicator", true);
        String limiter = "resilience4j.timelimiter.instances." + n + ".";
        p.put(limiter + "timeout-duration", TIMEOUT.toString());
        p.put(limiter + "cancel-running-future", true);
        return p;
    }

    /** The same defaults as configurations, for registries not configured from properties. */
    public static BulkheadConfig bulkheadConfig() {
        return BulkheadConfig.custom().maxConcurrentCalls(MAX_CONCURRENT_CALLS).maxWaitDuration(MAX_WAIT).build();
    }

    public static CircuitBreakerConfig circuitBreakerConfig() {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(SLIDING_WINDOW_SIZE)
                .minimumNumberOfCalls(MINIMUM_CALLS)
                .failureRateThreshold(FAILURE_RATE_THRESHOLD)
                .waitDurationInOpenState(WAIT_IN_OPEN_STATE)
                .permittedNumberOfCallsInHalfOpenState(CALLS_IN_HALF_OPEN_STATE)
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .build();
    }

    public static TimeLimiterConfig timeLimiterConfig() {
        return TimeLimiterConfig.custom().timeoutDuration(TIMEOUT).cancelRunningFuture(true).build();
    }
}
