package io.llamba.spring.autoconfigure.health;

import io.llamba.engine.generate.Engine;
import io.llamba.spring.ai.LlambaResilience;
import io.llamba.spring.autoconfigure.LlambaChatAutoConfiguration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code llamba} health contributor, when the application has Spring Boot's health support
 * ({@code spring-boot-health}) and an engine; off with {@code management.health.llamba.enabled=false}.
 */
@AutoConfiguration(after = LlambaChatAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnBean(Engine.class)
@ConditionalOnEnabledHealthIndicator("llamba")
public class LlambaHealthAutoConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "llambaHealthIndicator")
    LlambaHealthIndicator llambaHealthIndicator(Engine engine, ObjectProvider<LlambaResilience> resilience) {
        LlambaResilience r = resilience.getIfAvailable(LlambaResilience::none);
        return new LlambaHealthIndicator(engine, r.circuitBreaker());
    }
}
