package io.llamba.spring.app;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.springboot.bulkhead.monitoring.endpoint.BulkheadEndpoint;
import io.github.resilience4j.springboot.circuitbreaker.monitoring.endpoint.CircuitBreakerEndpoint;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.ai.LlambaResilience;
import io.llamba.spring.autoconfigure.metrics.LlambaEngineMetrics;
import io.llamba.spring.autoconfigure.resilience.LlambaResilienceDefaults;
import io.llamba.spring.testing.OpenAiStub;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.Scripts;
import io.llamba.spring.testing.TestModels;
import io.llamba.spring.testing.TestTokenizer;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.actuate.endpoint.IndicatedHealthDescriptor;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ApplicationContext;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The same application, switched between chat models by configuration alone: Llamba in-process (a
 * tiny random-weight Llamba, or a scripted engine for exact answers and tool calls), and OpenAI
 * through Spring AI's OpenAI starter, pointed at an OpenAI-compatible stub on loopback.
 */
class WeatherApplicationTest {
    static Path model;

    @BeforeAll
    static void writeModel(@TempDir Path dir) throws IOException {
        model = TestModels.tinyLlamba(dir.resolve("tiny-llamba"));
    }

    /** Whether the model was loaded when the application first accepted traffic; null before it does. */
    static volatile Boolean loadedWhenReady;

    static ConfigurableApplicationContext start(List<Class<?>> extra, String... properties) {
        List<Class<?>> sources = new ArrayList<>(List.of(WeatherApplication.class));
        sources.addAll(extra);
        SpringApplication app = new SpringApplication(sources.toArray(Class<?>[]::new));
        loadedWhenReady = null;
        app.addListeners((ApplicationListener<AvailabilityChangeEvent<ReadinessState>>) event -> {
            if (event.getState() == ReadinessState.ACCEPTING_TRAFFIC && loadedWhenReady == null
                    && event.getSource() instanceof ApplicationContext context) {
                loadedWhenReady = !context.getBeansOfType(Engine.class).isEmpty();
            }
        });
        app.setWebApplicationType(WebApplicationType.NONE);
        // The OpenAI starter on this test class path would also make speech, transcription, embedding,
        // image and moderation models (each asking for an API key): only the chat model is at stake here.
        app.setDefaultProperties(Map.of("spring.main.banner-mode", "off", "spring.ai.llamba.threads", "1",
                "management.endpoints.web.exposure.include", "health,circuitbreakers,bulkheads,timelimiters,env",
                "spring.ai.model.audio.speech", "none", "spring.ai.model.audio.transcription", "none",
                "spring.ai.model.embedding", "none", "spring.ai.model.image", "none", "spring.ai.model.moderation", "none"));
        return app.run(java.util.Arrays.stream(properties).map(p -> "--" + p).toArray(String[]::new));
    }

    @Test
    void withLlambaTheApplicationAnswersThroughTheModelItLoads() {
        try (var context = start(List.of(), "spring.ai.model.chat=llamba", "spring.ai.llamba.model=" + model,
                "spring.ai.llamba.chat.max-tokens=6")) {
            assertThat(context.getBean(ChatModel.class)).isInstanceOf(LlambaChatModel.class);
            assertThat(loadedWhenReady).as("the model had loaded when readiness first accepted traffic").isTrue();
            WeatherAssistant assistant = context.getBean(WeatherAssistant.class);

            String called = assistant.ask("Hi");
            String streamed = assistant.askStreaming("Hi");

            // Random weights say nothing sensible, but both requests ran through the loaded model.
            assertThat(called).isNotNull();
            assertThat(streamed).isNotNull();
            Engine engine = context.getBean(Engine.class);
            assertThat(engine.modelInfo().name()).isEqualTo("tiny-llamba");
            assertThat(engine.stats().completed()).isEqualTo(2);
            assertThat(engine.stats().generatedTokens()).isBetween(2L, 12L);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class ScriptedEngine {
        @Bean
        ScriptedModel scriptedModel() {
            return new ScriptedModel(TestTokenizer.load(), Scripts::reply, 0);
        }

        /** An engine of the application's own reports the request metrics when given the metrics bean as observer. */
        @Bean
        Engine scriptedEngine(ScriptedModel model, LlambaEngineMetrics metrics) {
            return new Engine(model, TestTokenizer.load(), EngineOptions.defaults(), metrics);
        }
    }

    @Test
    void withLlambaTheApplicationCallsToolsAndIsObservable() {
        try (var context = start(List.of(ScriptedEngine.class), "spring.ai.model.chat=llamba")) {
            WeatherAssistant assistant = context.getBean(WeatherAssistant.class);

            assertThat(assistant.ask("Hi")).isEqualTo(Scripts.HELLO);
            assertThat(assistant.askStreaming("Hi")).isEqualTo(Scripts.HELLO);
            assertThat(assistant.askAboutWeather("What is the weather in Paris?")).isEqualTo("Paris: \"sunny, 21 degrees\".");
            assertThat(assistant.askAboutWeatherStreaming("What is the weather in Paris?")).isEqualTo("Paris: \"sunny, 21 degrees\".");
            assertThat(assistant.lookups).containsExactly("Paris", "Paris");

            // Metrics: the engine's own meters and Spring AI's token usage.
            MeterRegistry meters = context.getBean(MeterRegistry.class);
            assertThat(meters.get("llamba.tokens.generated").functionCounter().count()).isPositive();
            assertThat(meters.get("llamba.tokens.prompt").functionCounter().count()).isPositive();
            assertThat(meters.get("llamba.time.to.first.token").timer().count()).isEqualTo(6);
            assertThat(meters.get("llamba.inter.token.latency").timer().count()).isPositive();
            assertThat(meters.get("llamba.requests.finished").tag("reason", "stop_token").counter().count()).isEqualTo(6);
            assertThat(meters.get("llamba.requests.running").gauge().value()).isZero();
            assertThat(meters.get("llamba.state.memory.capacity").gauge().value()).isEqualTo(16 * 64);
            assertThat(meters.get("gen_ai.client.token.usage").tag("gen_ai.system", "llamba").tag("gen_ai.token.type", "output")
                    .counter().count()).isPositive();
            assertThat(meters.find("gen_ai.client.operation").tag("gen_ai.system", "llamba").timers()).isNotEmpty();

            // Health: the llamba component, in the health endpoint.
            HealthEndpoint health = context.getBean(HealthEndpoint.class);
            IndicatedHealthDescriptor llamba = (IndicatedHealthDescriptor) health.healthForPath("llamba");
            assertThat(llamba.getStatus()).isEqualTo(Status.UP);
            assertThat(llamba.getDetails()).containsEntry("model", "scripted").containsEntry("circuitBreaker", "CLOSED");

            // Resilience: the llamba instances carry the defaults, visible in the actuator.
            assertThat(context.getEnvironment().getPropertySources().contains(LlambaResilienceDefaults.PROPERTY_SOURCE_NAME)).isTrue();
            assertThat(context.getBean(CircuitBreakerEndpoint.class).getAllCircuitBreakers().getCircuitBreakers()).containsKey("llamba");
            assertThat(context.getBean(BulkheadEndpoint.class).getAllBulkheads().getBulkheads()).contains("llamba");
            LlambaResilience resilience = context.getBean(LlambaResilience.class);
            assertThat(resilience.bulkhead().getBulkheadConfig().getMaxConcurrentCalls()).isEqualTo(64);
            assertThat(resilience.timeout()).hasMinutes(2);
        }
    }

    @Test
    void aFailingBackendOpensTheCircuitTakesHealthDownAndRefusesTraffic() {
        try (var context = start(List.of(ScriptedEngine.class), "spring.ai.model.chat=llamba")) {
            WeatherAssistant assistant = context.getBean(WeatherAssistant.class);
            ApplicationAvailability availability = context.getBean(ApplicationAvailability.class);
            assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);

            context.getBean(ScriptedModel.class).failing = true;
            for (int i = 0; i < 5; i++) {
                assertThatThrownBy(() -> assistant.ask("Hi")).hasMessageContaining("scripted backend failure");
            }

            CircuitBreaker breaker = context.getBean(LlambaResilience.class).circuitBreaker();
            assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
            HealthEndpoint health = context.getBean(HealthEndpoint.class);
            assertThat(health.healthForPath("llamba").getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
            assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.REFUSING_TRAFFIC);

            // After the wait the breaker half-opens: traffic is accepted so that trial requests can come,
            // and when they succeed the breaker closes.
            context.getBean(ScriptedModel.class).failing = false;
            breaker.transitionToHalfOpenState();
            assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);
            assertThat(assistant.ask("Hi")).isEqualTo(Scripts.HELLO);
            assertThat(assistant.ask("Hi")).isEqualTo(Scripts.HELLO);
            assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
            assertThat(health.healthForPath("llamba").getStatus()).isEqualTo(Status.UP);
        }
    }

    @Test
    void withOpenAiTheSameApplicationTalksToAnOpenAiCompatibleEndpoint() throws IOException {
        try (OpenAiStub stub = new OpenAiStub();
             var context = start(List.of(), "spring.ai.model.chat=openai", "spring.ai.openai.base-url=" + stub.baseUrl(),
                     "spring.ai.openai.api-key=test-key", "spring.ai.openai.chat.model=stub-model",
                     "spring.ai.llamba.model=/not/used")) {
            assertThat(context.getBeansOfType(Engine.class)).isEmpty();
            assertThat(context.getBean(ChatModel.class)).isNotInstanceOf(LlambaChatModel.class);
            WeatherAssistant assistant = context.getBean(WeatherAssistant.class);

            assertThat(assistant.ask("Hi")).isEqualTo(OpenAiStub.GREETING);
            assertThat(assistant.askStreaming("Hi")).isEqualTo(OpenAiStub.GREETING);
            assertThat(assistant.askAboutWeather("What is the weather in Paris?")).isEqualTo("Paris: \"sunny, 21 degrees\".");
            assertThat(assistant.lookups).containsExactly("Paris");
            assertThat(stub.requests).hasSize(4);
        }
    }
}
