package io.llamba.spring.autoconfigure.metrics;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.function.ToDoubleFunction;

/**
 * The engine's load and totals, read from {@link Engine#stats()} when the registry is scraped. The
 * names are listed in docs/spring.md.
 */
public class LlambaEngineGauges implements MeterBinder {
    private final Engine engine;

    public LlambaEngineGauges(Engine engine) {
        this.engine = engine;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "llamba.requests.running", "Sequences being generated (holding a state slot)", null, EngineStats::running);
        gauge(registry, "llamba.requests.waiting", "Requests queued for a state slot", null, EngineStats::waiting);
        gauge(registry, "llamba.requests.capacity", "State slots: sequences that can be generated at once", null, EngineStats::capacity);
        gauge(registry, "llamba.state.memory.used", "Memory held by the recurrent states of running sequences",
                BaseUnits.BYTES, EngineStats::stateBytesInUse);
        gauge(registry, "llamba.state.memory.capacity", "Memory all state slots would hold", BaseUnits.BYTES,
                EngineStats::stateBytesCapacity);
        Gauge.builder("llamba.weights.memory", engine, e -> e.modelInfo().weightBytes())
                .description("Memory held by the model's weights").baseUnit(BaseUnits.BYTES).register(registry);
        counter(registry, "llamba.tokens.prompt", "Prompt tokens prefilled", "tokens", EngineStats::promptTokens);
        counter(registry, "llamba.tokens.generated", "Tokens generated", "tokens", EngineStats::generatedTokens);
        counter(registry, "llamba.requests.rejected", "Requests refused because the queue was full", null, EngineStats::rejected);
        counter(registry, "llamba.requests.failed", "Requests ended by an engine failure", null, EngineStats::failed);
    }

    private void gauge(MeterRegistry registry, String name, String description, String unit, ToDoubleFunction<EngineStats> f) {
        Gauge.builder(name, engine, e -> f.applyAsDouble(e.stats())).description(description).baseUnit(unit).register(registry);
    }

    private void counter(MeterRegistry registry, String name, String description, String unit, ToDoubleFunction<EngineStats> f) {
        FunctionCounter.builder(name, engine, e -> f.applyAsDouble(e.stats())).description(description).baseUnit(unit).register(registry);
    }
}
