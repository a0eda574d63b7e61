package io.llamba.spring.ai;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.timelimiter.TimeLimiter;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The Resilience4j guards around generations, each optional:
 * <ul>
 *   <li>a {@link Bulkhead} limits concurrent generations (running and queued); when it is full a
 *       request is refused at once with {@link BulkheadFullException};</li>
 *   <li>a {@link CircuitBreaker} records how generations end: backend failures (an engine error, a
 *       missed deadline) count, while refusals and invalid requests, which say nothing about the
 *       backend, do not; when open, requests fail at once with {@link CallNotPermittedException};</li>
 *   <li>a {@link TimeLimiter} gives every generation its deadline: the engine stops the sequence
 *       when it passes, and the caller gets a {@link GenerationTimeoutException}.</li>
 * </ul>
 * Guards are driven by hand (permission, then the outcome) rather than by decorating a supplier,
 * because a streamed generation ends long after the call that started it.
 */
public final class LlambaResilience {
    /** The instance name under {@code resilience4j.bulkhead|circuitbreaker|timelimiter.instances}. */
    public static final String INSTANCE_NAME = "llamba";

    private static final LlambaResilience NONE = new LlambaResilience(null, null, null);

    private final @Nullable Bulkhead bulkhead;
    private final @Nullable CircuitBreaker circuitBreaker;
    private final @Nullable TimeLimiter timeLimiter;

    private LlambaResilience(@Nullable Bulkhead bulkhead, @Nullable CircuitBreaker circuitBreaker,
                             @Nullable TimeLimiter timeLimiter) {
        this.bulkhead = bulkhead;
        this.circuitBreaker = circuitBreaker;
        this.timeLimiter = timeLimiter;
    }

    public static LlambaResilience none() {
        return NONE;
    }

    public static LlambaResilience of(@Nullable Bulkhead bulkhead, @Nullable CircuitBreaker circuitBreaker,
                                      @Nullable TimeLimiter timeLimiter) {
        return new LlambaResilience(bulkhead, circuitBreaker, timeLimiter);
    }

    public @Nullable Bulkhead bulkhead() {
        return bulkhead;
    }

    public @Nullable CircuitBreaker circuitBreaker() {
        return circuitBreaker;
    }

    public @Nullable TimeLimiter timeLimiter() {
        return timeLimiter;
    }

    /** A generation's deadline, from the time limiter; null when there is none. */
    public @Nullable Duration timeout() {
        return timeLimiter == null ? null : timeLimiter.getTimeLimiterConfig().getTimeoutDuration();
    }

    /**
     * Admits a generation: a bulkhead slot, then the circuit breaker's permission.
     *
     * @throws BulkheadFullException     when the bulkhead is full
     * @throws CallNotPermittedException when the circuit breaker is open
     */
    public Permit acquire() {
        if (bulkhead != null) {
            bulkhead.acquirePermission();
        }
        if (circuitBreaker != null) {
            try {
                circuitBreaker.acquirePermission();
            } catch (RuntimeException e) {
                if (bulkhead != null) {
                    bulkhead.onComplete();
                }
                throw e;
            }
        }
        return new Permit(circuitBreaker == null ? 0 : circuitBreaker.getCurrentTimestamp());
    }

    /** One admitted generation; exactly one outcome is recorded, later ones are ignored. */
    public final class Permit {
        private final long start;
        private final AtomicBoolean ended = new AtomicBoolean();

        private Permit(long start) {
            this.start = start;
        }

        /** The generation ended normally (stop, length, tool call). */
        public void succeeded() {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            if (circuitBreaker != null) {
                circuitBreaker.onSuccess(circuitBreaker.getCurrentTimestamp() - start, circuitBreaker.getTimestampUnit());
            }
            if (timeLimiter != null) {
                timeLimiter.onSuccess();
            }
            releaseBulkhead();
        }

        /** The backend failed the generation, or its deadline passed. */
        public void failed(Throwable error) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            if (circuitBreaker != null) {
                circuitBreaker.onError(circuitBreaker.getCurrentTimestamp() - start, circuitBreaker.getTimestampUnit(), error);
            }
            if (timeLimiter != null && error instanceof GenerationTimeoutException timeout) {
                timeLimiter.onError(timeout.getCause());
            }
            releaseBulkhead();
        }

        /**
         * The generation ended without saying anything about the backend: refused by the engine
         * (queue full, invalid request) or cancelled by the caller.
         */
        public void released() {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            if (circuitBreaker != null) {
                circuitBreaker.releasePermission();
            }
            releaseBulkhead();
        }

        private void releaseBulkhead() {
            if (bulkhead != null) {
                bulkhead.onComplete();
            }
        }
    }
}
