package io.llamba.spring.autoconfigure.health;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.event.CircuitBreakerOnStateTransitionEvent;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;

/**
 * Ties the application's readiness to the generation backend: while the circuit breaker is open
 * (generations have been failing) the application refuses traffic, so a load balancer or Kubernetes
 * readiness probe sends requests elsewhere; when it half-opens to try the backend again, or closes,
 * traffic is accepted. Readiness at
 * startup needs nothing from here: the model loads while the context starts, before Spring Boot
 * accepts traffic.
 */
public final class LlambaReadinessUpdater {
    /** Without a circuit breaker (resilience disabled) there is nothing to follow. */
    public LlambaReadinessUpdater(@Nullable CircuitBreaker circuitBreaker, ApplicationEventPublisher publisher) {
        if (circuitBreaker != null) {
            circuitBreaker.getEventPublisher().onStateTransition(event -> onTransition(event, publisher));
        }
    }

    private void onTransition(CircuitBreakerOnStateTransitionEvent event, ApplicationEventPublisher publisher) {
        switch (event.getStateTransition().getToState()) {
            case OPEN, FORCED_OPEN -> AvailabilityChangeEvent.publish(publisher, this, ReadinessState.REFUSING_TRAFFIC);
            // Half-open lets trial requests through: traffic must be accepted for them to come at all.
            default -> AvailabilityChangeEvent.publish(publisher, this, ReadinessState.ACCEPTING_TRAFFIC);
        }
    }
}
