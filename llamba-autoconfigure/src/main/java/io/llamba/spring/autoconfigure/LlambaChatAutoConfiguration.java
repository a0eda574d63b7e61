package io.llamba.spring.autoconfigure;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterRegistry;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineObserver;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.ai.LlambaResilience;
import io.llamba.spring.autoconfigure.health.LlambaReadinessUpdater;
import io.llamba.spring.autoconfigure.resilience.LlambaResilienceDefaults;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.model.SpringAIModelProperties;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.model.tool.autoconfigure.ToolCallingAutoConfiguration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.util.List;
import java.util.function.Function;

/**
 * Llamba as the application's Spring AI {@link ChatModel}: active when the engine is on the class
 * path and {@code spring.ai.model.chat} is "llamba" or absent (as Spring AI's own providers), and
 * the application has no {@code ChatModel} of its own. Loads the model once at startup (an
 * application may instead provide its own {@link Engine} bean), guards generations with the
 * Resilience4j instances named "llamba". Health and metrics come from
 * {@code LlambaHealthAutoConfiguration} and {@code LlambaMetricsAutoConfiguration}, active when the
 * application has Spring Boot's health support and Micrometer.
 */
@AutoConfiguration(after = ToolCallingAutoConfiguration.class, afterName = {
        "io.github.resilience4j.springboot.bulkhead.autoconfigure.BulkheadAutoConfiguration",
        "io.github.resilience4j.springboot.circuitbreaker.autoconfigure.CircuitBreakerAutoConfiguration",
        "io.github.resilience4j.springboot.timelimiter.autoconfigure.TimeLimiterAutoConfiguration",
        "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration"})
@ConditionalOnClass({Engine.class, LlambaChatModel.class})
@ConditionalOnProperty(name = SpringAIModelProperties.CHAT_MODEL, havingValue = LlambaChatModel.PROVIDER, matchIfMissing = true)
@ConditionalOnMissingBean(ChatModel.class)
@EnableConfigurationProperties({LlambaProperties.class, LlambaChatProperties.class})
public class LlambaChatAutoConfiguration {

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingBean(Engine.class)
    static class EngineConfiguration {
        /**
         * The model, loaded once; its engine is closed (after a graceful shutdown) with the context.
         * The chat properties are asked for only so that they are bound and checked first: a bad
         * default fails the startup before a slow model load, not after.
         */
        @Bean
        Engine llambaEngine(LlambaProperties properties, LlambaChatProperties chatProperties,
                            ObjectProvider<EngineObserver> observers) {
            return LlambaModelSource.loadEngine(properties, composite(observers.orderedStream().toList()));
        }

        @Bean
        LlambaEngineLifecycle llambaEngineLifecycle(Engine engine, LlambaProperties properties) {
            return new LlambaEngineLifecycle(engine, properties.getShutdownGracePeriod());
        }

        private static EngineObserver composite(List<EngineObserver> observers) {
            if (observers.size() <= 1) {
                return observers.isEmpty() ? EngineObserver.NONE : observers.getFirst();
            }
            return new EngineObserver() {
                @Override
                public void admitted(long queueNanos) {
                    observers.forEach(o -> o.admitted(queueNanos));
                }

                @Override
                public void firstToken(long nanos) {
                    observers.forEach(o -> o.firstToken(nanos));
                }

                @Override
                public void interToken(long nanos) {
                    observers.forEach(o -> o.interToken(nanos));
                }

                @Override
                public void step(int sequences, int tokens, long nanos) {
                    observers.forEach(o -> o.step(sequences, tokens, nanos));
                }

                @Override
                public void finished(GenerationResult result) {
                    observers.forEach(o -> o.finished(result));
                }

                @Override
                public void rejected() {
                    observers.forEach(EngineObserver::rejected);
                }
            };
        }
    }

    /**
     * The bulkhead, circuit breaker and time limiter named "llamba" from Resilience4j's registries
     * (configured under {@code resilience4j.*.instances.llamba}, defaults from
     * {@link LlambaResilienceDefaults}); an instance the registry was not configured with is created
     * with those defaults.
     */
    @Bean
    @ConditionalOnMissingBean
    LlambaResilience llambaResilience(LlambaProperties properties, ObjectProvider<BulkheadRegistry> bulkheads,
                                      ObjectProvider<CircuitBreakerRegistry> circuitBreakers,
                                      ObjectProvider<TimeLimiterRegistry> timeLimiters) {
        if (!properties.getResilience().isEnabled()) {
            return LlambaResilience.none();
        }
        String name = LlambaResilience.INSTANCE_NAME;
        Bulkhead bulkhead = instance(bulkheads.getIfAvailable(),
                r -> r.find(name).orElseGet(() -> r.bulkhead(name, LlambaResilienceDefaults.bulkheadConfig())));
        CircuitBreaker circuitBreaker = instance(circuitBreakers.getIfAvailable(),
                r -> r.find(name).orElseGet(() -> r.circuitBreaker(name, LlambaResilienceDefaults.circuitBreakerConfig())));
        TimeLimiter timeLimiter = instance(timeLimiters.getIfAvailable(),
                r -> r.find(name).orElseGet(() -> r.timeLimiter(name, LlambaResilienceDefaults.timeLimiterConfig())));
        return LlambaResilience.of(bulkhead, circuitBreaker, timeLimiter);
    }

    private static <R, T> T instance(R registry, Function<R, T> lookup) {
        return registry == null ? null : lookup.apply(registry);
    }

    @Bean
    LlambaChatModel llambaChatModel(Engine engine, LlambaProperties properties, LlambaChatProperties chatProperties,
                                    LlambaResilience resilience, ObjectProvider<ToolCallingManager> toolCallingManager,
                                    ObjectProvider<ObservationRegistry> observationRegistry,
                                    ObjectProvider<ChatModelObservationConvention> observationConvention) {
        LlambaChatModel.Builder builder = LlambaChatModel.builder()
                .engine(engine)
                .modelName(properties.getServedModelName() != null ? properties.getServedModelName()
                        : LlambaModelSource.defaultServedModelName(properties.getModel(), engine.modelInfo()))
                .options(chatProperties.toOptions())
                .resilience(resilience)
                .observationRegistry(observationRegistry.getIfUnique(() -> ObservationRegistry.NOOP));
        toolCallingManager.ifAvailable(builder::toolCallingManager);
        LlambaChatModel model = builder.build();
        observationConvention.ifAvailable(model::setObservationConvention);
        return model;
    }

    @Bean
    @ConditionalOnProperty(prefix = LlambaProperties.PREFIX + ".readiness", name = "follow-circuit-breaker", matchIfMissing = true)
    LlambaReadinessUpdater llambaReadinessUpdater(LlambaResilience resilience, ApplicationEventPublisher publisher) {
        return new LlambaReadinessUpdater(resilience.circuitBreaker(), publisher);
    }
}
