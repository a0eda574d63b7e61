package io.llamba.spring.autoconfigure.metrics;

import io.llamba.engine.generate.EngineObserver;
import io.llamba.engine.generate.FinishReason;
import io.llamba.engine.generate.GenerationResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The engine's per-request and per-step meters, fed by its observer hooks (called on the engine
 * thread: each hook is a counter increment or a timer record). Meters exist once bound to a registry;
 * events before that are not recorded. The names are listed in docs/spring.md.
 */
public class LlambaEngineMetrics implements EngineObserver, MeterBinder {
    private volatile Meters meters;

    private record Meters(Timer queue, Timer firstToken, Timer interToken, Timer step, DistributionSummary stepTokens,
                          DistributionSummary stepSequences, Map<FinishReason, Counter> finished) {
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Map<FinishReason, Counter> finished = new EnumMap<>(FinishReason.class);
        for (FinishReason r : FinishReason.values()) {
            finished.put(r, Counter.builder("llamba.requests.finished")
                    .description("Generations ended, by why they ended")
                    .tag("reason", r.name().toLowerCase(Locale.ROOT))
                    .register(registry));
        }
        meters = new Meters(
                Timer.builder("llamba.requests.queue").description("Time a request waited for a state slot").register(registry),
                Timer.builder("llamba.time.to.first.token").description("Time from submission to the first generated token").register(registry),
                Timer.builder("llamba.inter.token.latency").description("Time between two tokens of one sequence").register(registry),
                Timer.builder("llamba.engine.step").description("Duration of one batched engine step (forward pass)").register(registry),
                DistributionSummary.builder("llamba.engine.step.tokens").description("Tokens computed in one engine step")
                        .baseUnit("tokens").register(registry),
                DistributionSummary.builder("llamba.engine.step.sequences").description("Sequences computed in one engine step")
                        .baseUnit("sequences").register(registry),
                finished);
    }

    @Override
    public void admitted(long queueNanos) {
        Meters m = meters;
        if (m != null) {
            m.queue().record(queueNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void firstToken(long nanos) {
        Meters m = meters;
        if (m != null) {
            m.firstToken().record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void interToken(long nanos) {
        Meters m = meters;
        if (m != null) {
            m.interToken().record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void step(int sequences, int tokens, long nanos) {
        Meters m = meters;
        if (m != null) {
            m.step().record(nanos, TimeUnit.NANOSECONDS);
            m.stepTokens().record(tokens);
            m.stepSequences().record(sequences);
        }
    }

    @Override
    public void finished(GenerationResult result) {
        Meters m = meters;
        if (m != null) {
            m.finished().get(result.finishReason()).increment();
        }
    }
}
