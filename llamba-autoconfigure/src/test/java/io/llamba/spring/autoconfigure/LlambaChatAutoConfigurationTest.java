package io.llamba.spring.autoconfigure;

import io.github.resilience4j.springboot.bulkhead.autoconfigure.BulkheadAutoConfiguration;
import io.github.resilience4j.springboot.circuitbreaker.autoconfigure.CircuitBreakerAutoConfiguration;
import io.github.resilience4j.springboot.timelimiter.autoconfigure.TimeLimiterAutoConfiguration;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.cuda.CudaAvailability;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.model.LoadOptions;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.ai.LlambaResilience;
import io.llamba.spring.autoconfigure.health.LlambaHealthAutoConfiguration;
import io.llamba.spring.autoconfigure.health.LlambaHealthIndicator;
import io.llamba.spring.autoconfigure.metrics.LlambaMetricsAutoConfiguration;
import io.llamba.spring.autoconfigure.resilience.LlambaResilienceDefaults;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.TestModels;
import io.llamba.spring.testing.TestTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.autoconfigure.ToolCallingAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;

/** When the auto-configuration applies, what it builds, and how it fails. */
class LlambaChatAutoConfigurationTest {
    static Path model;

    final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LlambaChatAutoConfiguration.class, LlambaHealthAutoConfiguration.class,
                    LlambaMetricsAutoConfiguration.class, ToolCallingAutoConfiguration.class,
                    BulkheadAutoConfiguration.class, CircuitBreakerAutoConfiguration.class, TimeLimiterAutoConfiguration.class))
            .withPropertyValues("spring.ai.llamba.threads=1");

    @BeforeAll
    static void writeModel(@TempDir Path dir) throws IOException {
        model = TestModels.tinyLlamba(dir.resolve("tiny-llamba"));
    }

    ApplicationContextRunner withModel() {
        return runner.withPropertyValues("spring.ai.llamba.model=" + model);
    }

    // ------------------------------------------------------------------ conditions

    @Test
    void activeWhenNoChatModelIsChosen() {
        withModel().run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(LlambaChatModel.class).hasSingleBean(Engine.class);
            assertThat(context.getBean(ChatModel.class)).isSameAs(context.getBean(LlambaChatModel.class));
            assertThat(context.getBean(Engine.class).modelInfo().name()).isEqualTo("tiny-llamba");
        });
    }

    @Test
    void activeWhenLlambaIsChosen() {
        withModel().withPropertyValues("spring.ai.model.chat=llamba").run(context -> {
            assertThat(context).hasSingleBean(LlambaChatModel.class);
            // The model really answers (random weights: any text, but a complete response).
            ChatResponse r = context.getBean(ChatModel.class).call(new Prompt("Hi", ChatOptions.builder().maxTokens(4).build()));
            assertThat(r.getMetadata().getUsage().getCompletionTokens()).isBetween(1, 4);
            assertThat(r.getMetadata().getModel()).isEqualTo("tiny-llamba");
        });
    }

    @Test
    void inactiveWhenAnotherChatModelIsChosen() {
        withModel().withPropertyValues("spring.ai.model.chat=openai").run(context ->
                assertThat(context).hasNotFailed().doesNotHaveBean(LlambaChatModel.class).doesNotHaveBean(Engine.class));
    }

    @Test
    void inactiveWhenChatModelsAreSwitchedOff() {
        withModel().withPropertyValues("spring.ai.model.chat=none").run(context ->
                assertThat(context).hasNotFailed().doesNotHaveBean(LlambaChatModel.class).doesNotHaveBean(Engine.class));
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnChatModel {
        @Bean
        ChatModel myChatModel() {
            return mock(ChatModel.class);
        }
    }

    @Test
    void backsOffWhenTheApplicationHasItsOwnChatModel() {
        // Not even the model is loaded: a path that does not exist goes unnoticed.
        runner.withUserConfiguration(OwnChatModel.class).withPropertyValues("spring.ai.llamba.model=/does/not/exist").run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(ChatModel.class).hasBean("myChatModel");
            assertThat(context).doesNotHaveBean(LlambaChatModel.class).doesNotHaveBean(Engine.class);
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnEngine {
        @Bean(destroyMethod = "close")
        Engine myEngine() {
            return new Engine(new ScriptedModel(TestTokenizer.load(), prompt -> "scripted reply", 0), TestTokenizer.load(),
                    EngineOptions.defaults());
        }
    }

    @Test
    void servesAnEngineTheApplicationBuilt() {
        runner.withUserConfiguration(OwnEngine.class).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(Engine.class).hasBean("myEngine");
            assertThat(context.getBean(ChatModel.class).call("Hi")).isEqualTo("scripted reply");
        });
    }

    // ------------------------------------------------------------------ startup failures

    static FailureAnalysis analyze(Throwable failure) {
        return new LlambaModelFailureAnalyzer().analyze(failure);
    }

    @Test
    void aMissingModelDirectoryFailsTheStartupWithTheEnginesMessage() {
        runner.withPropertyValues("spring.ai.llamba.model=/does/not/exist").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("/does/not/exist: model directory not found");
            FailureAnalysis analysis = analyze(context.getStartupFailure());
            assertThat(analysis.getDescription()).isEqualTo(
                    "The Llamba model /does/not/exist could not be loaded: /does/not/exist: model directory not found");
            assertThat(analysis.getAction()).contains("spring.ai.llamba.model");
        });
    }

    @Test
    void aCorruptCheckpointFailsTheStartupNamingTheFile(@TempDir Path dir) throws IOException {
        Files.copy(model.resolve("config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("model.safetensors"), new byte[] {8, 0, 0, 0, 0, 0, 0, 0, '{', '"'});
        runner.withPropertyValues("spring.ai.llamba.model=" + dir).run(context -> {
            assertThat(context).hasFailed();
            FailureAnalysis analysis = analyze(context.getStartupFailure());
            assertThat(analysis.getDescription()).startsWith("The Llamba model " + dir + " could not be loaded: ")
                    .contains("model.safetensors");
        });
    }

    @Test
    void noModelConfiguredServesTheEmbeddedDemoModel() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            LlambaChatModel model = context.getBean(LlambaChatModel.class);
            assertThat(model.getModelName()).isEqualTo(LlambaModelSource.DEMO_MODEL_NAME);
            assertThat(context.getBean(Engine.class).modelInfo().architecture()).isEqualTo("llamba");
            // One of the demo model's task families (its model card: arithmetic on numbers up to 99).
            ChatResponse r = model.call(new Prompt("What is 37 + 48?", ChatOptions.builder().temperature(0.0).build()));
            assertThat(r.getResult().getOutput().getText()).isEqualTo("37 + 48 = 85.");
        });
    }

    @Test
    void aBadTokenizerFileFailsTheStartupNamingIt(@TempDir Path dir) throws IOException {
        Path bad = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": 42}");
        withModel().withPropertyValues("spring.ai.llamba.tokenizer=" + bad).run(context -> {
            assertThat(context).hasFailed();
            assertThat(analyze(context.getStartupFailure()).getDescription()).contains("cannot load the tokenizer " + bad);
        });
    }

    @Test
    void quantizationPropertyQuantizesTheWeightsAtLoad() {
        withModel().withPropertyValues("spring.ai.llamba.quantization=q8_0").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(Engine.class).modelInfo().details()).containsEntry("weight_format", "q8_0");
        });
        withModel().run(context -> assertThat(context.getBean(Engine.class).modelInfo().details())
                .containsEntry("weight_format", "bf16"));
    }

    @Test
    void invalidPropertiesFailTheStartupNamingTheProperty() {
        Map<String, String> cases = Map.of(
                "spring.ai.llamba.threads=-1", "threads",
                "spring.ai.llamba.max-sequences=0", "maxSequences",
                "spring.ai.llamba.max-batch-tokens=4", "maxBatchTokens",
                "spring.ai.llamba.chat.temperature=-1", "temperature",
                "spring.ai.llamba.chat.top-p=2", "topP",
                "spring.ai.llamba.chat.max-tokens=0", "maxTokens",
                "spring.ai.llamba.backend=gpu", "spring.ai.llamba.backend",
                "spring.ai.llamba.quantization=q3_k", "spring.ai.llamba.quantization",
                "spring.ai.llamba.gpu.state=f16", "spring.ai.llamba.gpu.state");
        cases.forEach((property, named) -> withModel().withPropertyValues(property).run(context -> {
            assertThat(context).as(property).hasFailed();
            assertThat(context.getStartupFailure()).as(property).hasStackTraceContaining(named);
            assertThat(context.getStartupFailure()).as(property).hasMessageContaining(property.startsWith("spring.ai.llamba.chat")
                    ? "spring.ai.llamba.chat" : "spring.ai.llamba");
        }));
    }

    @Test
    void gpuFormatsBindIntoTheLoadOptions() {
        withModel().withPropertyValues("spring.ai.llamba.gpu.weights=f32", "spring.ai.llamba.gpu.state=bf16").run(context -> {
            assertThat(context).hasNotFailed();
            LoadOptions load = context.getBean(LlambaProperties.class).toLoadOptions();
            assertThat(load.deviceWeights()).isEqualTo(DType.F32);
            assertThat(load.deviceState()).isEqualTo(DType.BF16);
        });
        withModel().run(context -> {
            LoadOptions load = context.getBean(LlambaProperties.class).toLoadOptions();
            assertThat(load.deviceWeights()).as("the checkpoint's precision").isNull();
            assertThat(load.deviceState()).as("the backend's default").isNull();
        });
    }

    @Test
    void engineDefaultsAreTheEnginesOwn() {
        assertThat(new LlambaProperties().toEngineOptions()).isEqualTo(EngineOptions.defaults());
    }

    @Test
    void propertiesShapeTheEngineAndTheDefaultOptions() {
        withModel().withPropertyValues("spring.ai.llamba.max-sequences=3", "spring.ai.llamba.max-queued=5",
                "spring.ai.llamba.max-context=200", "spring.ai.llamba.served-model-name=llamba-tiny",
                "spring.ai.llamba.chat.temperature=0.2", "spring.ai.llamba.chat.max-tokens=9",
                "spring.ai.llamba.chat.stop=END,STOP").run(context -> {
            Engine engine = context.getBean(Engine.class);
            assertThat(engine.options()).isEqualTo(new EngineOptions(3, 5, 200, 256));
            assertThat(engine.contextLimit()).isEqualTo(200);
            LlambaChatModel chat = context.getBean(LlambaChatModel.class);
            assertThat(chat.getModelName()).isEqualTo("llamba-tiny");
            assertThat(chat.getOptions().getModel()).isEqualTo("llamba-tiny");
            assertThat(chat.getOptions().getTemperature()).isEqualTo(0.2);
            assertThat(chat.getOptions().getTopP()).isEqualTo(0.9);
            assertThat(chat.getOptions().getMaxTokens()).isEqualTo(9);
            assertThat(chat.getOptions().getStopSequences()).containsExactly("END", "STOP");
        });
    }

    @Test
    void closingTheApplicationLetsRunningGenerationsFinish() throws InterruptedException {
        java.util.List<ChatResponse> chunks = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> error = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        withModel().run(context -> {
            ChatModel chat = context.getBean(ChatModel.class);
            chat.stream(new Prompt("Hi", ChatOptions.builder().maxTokens(40).build()))
                    .doFinally(signal -> done.countDown())
                    .subscribe(chunks::add, error::set);
        });
        // The context is closed: the engine shut down gracefully, after the stream had its reply
        // (delivered on another thread, hence the wait).
        assertThat(done.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(error.get()).isNull();
        assertThat(chunks).isNotEmpty();
        assertThat(chunks.getLast().getResult().getMetadata().getFinishReason()).isIn("stop", "length");
    }

    // ------------------------------------------------------------------ resilience and health

    @Test
    void generationsAreGuardedByTheLlambaResilienceInstances() {
        withModel().run(context -> {
            LlambaResilience r = context.getBean(LlambaResilience.class);
            assertThat(context.getBean(LlambaChatModel.class).getResilience()).isSameAs(r);
            // Registries not configured from properties get the same defaults the properties carry.
            assertThat(r.bulkhead().getName()).isEqualTo("llamba");
            assertThat(r.bulkhead().getBulkheadConfig().getMaxConcurrentCalls()).isEqualTo(64);
            assertThat(r.bulkhead().getBulkheadConfig().getMaxWaitDuration()).isZero();
            assertThat(r.timeLimiter().getTimeLimiterConfig().getTimeoutDuration()).isEqualTo(Duration.ofMinutes(2));
            assertThat(r.circuitBreaker().getCircuitBreakerConfig().getMinimumNumberOfCalls()).isEqualTo(5);
        });
    }

    @Test
    void resilience4jPropertiesConfigureTheInstances() {
        String[] defaults = LlambaResilienceDefaults.properties().entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        withModel().withPropertyValues(defaults)
                .withPropertyValues("resilience4j.bulkhead.instances.llamba.max-concurrent-calls=3",
                        "resilience4j.timelimiter.instances.llamba.timeout-duration=45s")
                .run(context -> {
                    LlambaResilience r = context.getBean(LlambaResilience.class);
                    assertThat(r.bulkhead().getBulkheadConfig().getMaxConcurrentCalls()).isEqualTo(3);
                    assertThat(r.timeout()).isEqualTo(Duration.ofSeconds(45));
                    assertThat(r.timeLimiter().getTimeLimiterConfig().shouldCancelRunningFuture()).isTrue();
                    assertThat(r.circuitBreaker().getCircuitBreakerConfig().getSlidingWindowSize()).isEqualTo(20);
                });
    }

    @Test
    void resilienceCanBeSwitchedOff() {
        withModel().withPropertyValues("spring.ai.llamba.resilience.enabled=false").run(context ->
                assertThat(context.getBean(LlambaResilience.class)).isSameAs(LlambaResilience.none()));
    }

    @Test
    void healthShowsTheModelAndGoesDownWhenTheEngineStops() {
        withModel().run(context -> {
            LlambaHealthIndicator health = context.getBean(LlambaHealthIndicator.class);
            var up = health.health();
            assertThat(up.getStatus()).isEqualTo(Status.UP);
            Engine engine = context.getBean(Engine.class);
            assertThat(up.getDetails()).containsEntry("model", "tiny-llamba").containsEntry("architecture", "llamba")
                    .containsEntry("backend", "cpu").containsEntry("weightsBytes", engine.modelInfo().weightBytes())
                    .containsEntry("stateBytesInUse", 0L).containsEntry("waiting", 0).containsEntry("circuitBreaker", "CLOSED")
                    .containsKeys("device", "stateBytesCapacity", "stateBytesPerSequence", "running", "queueLimit");
            assertThat((Long) up.getDetails().get("weightsBytes")).isPositive();
            assertThat(up.getDetails().get("modelDetails")).isEqualTo(engine.modelInfo().details());
            // On the CPU, whether CUDA could have been used, and if not why (whatever this machine has).
            CudaAvailability.Status cuda = CudaAvailability.probe();
            assertThat(up.getDetails().get("cuda")).isEqualTo(cuda.available()
                    ? Map.of("available", true, "devices", cuda.devices(), "device", cuda.device())
                    : Map.of("available", false, "reason", cuda.reason()));

            engine.close();
            assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.health().getDetails()).containsEntry("reason", "the engine has shut down");
        });
    }

    @Test
    void worksWithoutMicrometerOnTheClassPath() {
        withModel().withClassLoader(new FilteredClassLoader("io.micrometer.core")).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(LlambaChatModel.class);
            assertThat(context).doesNotHaveBean("llambaEngineMetrics").doesNotHaveBean("llambaEngineGauges");
        });
    }

    @Test
    void healthAndMetricsAreFilteredOutEarlyWhenTheirLibrariesAreMissing() throws IOException {
        // Spring Boot skips an auto-configuration whose classes are missing from this metadata, before
        // reading its conditions (which name health classes): so spring-boot-health stays optional.
        java.util.Properties metadata = new java.util.Properties();
        try (var in = getClass().getResourceAsStream("/META-INF/spring-autoconfigure-metadata.properties")) {
            metadata.load(in);
        }
        assertThat(metadata).containsEntry(LlambaHealthAutoConfiguration.class.getName() + ".ConditionalOnClass",
                "org.springframework.boot.health.contributor.HealthIndicator");
        assertThat(metadata).containsEntry(LlambaMetricsAutoConfiguration.class.getName() + ".ConditionalOnClass",
                "io.micrometer.core.instrument.binder.MeterBinder");
    }

    @Test
    void healthIndicatorCanBeSwitchedOff() {
        withModel().withPropertyValues("management.health.llamba.enabled=false").run(context ->
                assertThat(context).hasNotFailed().doesNotHaveBean(LlambaHealthIndicator.class));
    }
}
