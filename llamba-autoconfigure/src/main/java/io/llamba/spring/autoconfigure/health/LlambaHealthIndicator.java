package io.llamba.spring.autoconfigure.health;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.llamba.engine.cuda.CudaAvailability;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineStats;
import io.llamba.engine.model.ModelInfo;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import java.util.Map;
import java.util.function.Supplier;

/**
 * The engine's health: the model it serves, where it runs, the memory its weights and sequence
 * states hold, and its load. DOWN when the engine no longer accepts requests (shut down) or when
 * its circuit breaker is open, that is when generations have been failing. A model on the CPU also
 * shows whether CUDA could have been used and, if not, why (no device, no driver, a build without
 * kernels...), so that "why is this not on the GPU" is answered where operators look.
 */
public class LlambaHealthIndicator extends AbstractHealthIndicator {
    private final Engine engine;
    private final @Nullable CircuitBreaker circuitBreaker;

    private final Supplier<CudaAvailability.Status> cuda;

    public LlambaHealthIndicator(Engine engine, @Nullable CircuitBreaker circuitBreaker) {
        this(engine, circuitBreaker, CudaAvailability::probe);
    }

    /** @param cuda whether CUDA is usable here (probed once by {@link CudaAvailability#probe()}) */
    public LlambaHealthIndicator(Engine engine, @Nullable CircuitBreaker circuitBreaker, Supplier<CudaAvailability.Status> cuda) {
        super("Llamba health check failed");
        this.engine = engine;
        this.circuitBreaker = circuitBreaker;
        this.cuda = cuda;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        ModelInfo info = engine.modelInfo();
        EngineStats stats = engine.stats();
        builder.withDetail("model", info.name())
                .withDetail("architecture", info.architecture())
                .withDetail("backend", info.backend())
                .withDetail("device", info.device())
                .withDetail("parameters", info.parameters())
                .withDetail("weightsBytes", info.weightBytes())
                .withDetail("stateBytesPerSequence", info.stateBytesPerSequence())
                .withDetail("stateBytesInUse", stats.stateBytesInUse())
                .withDetail("stateBytesCapacity", stats.stateBytesCapacity())
                .withDetail("contextLimit", engine.contextLimit())
                .withDetail("running", stats.running())
                .withDetail("capacity", stats.capacity())
                .withDetail("waiting", stats.waiting())
                .withDetail("queueLimit", stats.queueLimit())
                .withDetail("failedRequests", stats.failed());
        builder.withDetail("modelDetails", info.details()); // the architecture's shape and the formats the backend holds
        if (!"cuda".equals(info.backend())) {
            CudaAvailability.Status s = cuda.get();
            builder.withDetail("cuda", s.available()
                    ? Map.of("available", true, "devices", s.devices(), "device", s.device())
                    : Map.of("available", false, "reason", s.reason()));
        }
        CircuitBreaker.State state = circuitBreaker == null ? null : circuitBreaker.getState();
        if (state != null) {
            builder.withDetail("circuitBreaker", state.name());
        }
        if (!engine.isAccepting()) {
            builder.down().withDetail("reason", "the engine has shut down");
        } else if (state == CircuitBreaker.State.OPEN || state == CircuitBreaker.State.FORCED_OPEN) {
            builder.down().withDetail("reason", "generations have been failing: the circuit breaker is open");
        } else {
            builder.up();
        }
    }
}
