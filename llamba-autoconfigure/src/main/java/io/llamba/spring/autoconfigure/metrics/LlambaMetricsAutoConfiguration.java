package io.llamba.spring.autoconfigure.metrics;

import io.llamba.engine.generate.Engine;
import io.llamba.spring.autoconfigure.LlambaChatAutoConfiguration;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The engine's Micrometer meters, when the application has Micrometer and an engine. Spring Boot
 * binds them to its meter registry; the names are listed in docs/spring.md.
 */
@AutoConfiguration(after = LlambaChatAutoConfiguration.class)
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnBean(Engine.class)
public class LlambaMetricsAutoConfiguration {
    /** Also an {@code EngineObserver}: the engine the auto-configuration builds reports to it. */
    @Bean
    @ConditionalOnMissingBean
    LlambaEngineMetrics llambaEngineMetrics() {
        return new LlambaEngineMetrics();
    }

    @Bean
    @ConditionalOnMissingBean
    LlambaEngineGauges llambaEngineGauges(Engine engine) {
        return new LlambaEngineGauges(engine);
    }
}
