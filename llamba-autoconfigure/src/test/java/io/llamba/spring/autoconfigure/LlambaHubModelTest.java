package io.llamba.spring.autoconfigure;

import io.github.resilience4j.springboot.bulkhead.autoconfigure.BulkheadAutoConfiguration;
import io.github.resilience4j.springboot.circuitbreaker.autoconfigure.CircuitBreakerAutoConfiguration;
import io.github.resilience4j.springboot.timelimiter.autoconfigure.TimeLimiterAutoConfiguration;
import io.llamba.engine.generate.Engine;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.testing.MiniHub;
import io.llamba.spring.testing.TestModels;
import io.llamba.spring.testing.TestTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.autoconfigure.ToolCallingAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * spring.ai.llamba.model as a Hugging Face repository id: fetched with the engine's ModelResolver
 * into the Hugging Face cache layout, as spring.ai.llamba.pull-strategy says, from a loopback
 * stand-in for the Hub.
 */
class LlambaHubModelTest {
    static final String REPO = "test-org/tiny-llamba";
    static Path files;

    @BeforeAll
    static void writeModel(@TempDir Path dir) throws IOException {
        files = TestModels.tinyLlamba(dir.resolve("tiny-llamba"));
    }

    final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LlambaChatAutoConfiguration.class, ToolCallingAutoConfiguration.class,
                    BulkheadAutoConfiguration.class, CircuitBreakerAutoConfiguration.class, TimeLimiterAutoConfiguration.class))
            .withPropertyValues("spring.ai.llamba.threads=1", "spring.ai.llamba.model=" + REPO);

    ApplicationContextRunner hub(MiniHub hub, Path cache, String strategy) {
        return runner.withPropertyValues("spring.ai.llamba.hub.endpoint=" + hub.endpoint(), "spring.ai.llamba.hub.cache-dir=" + cache,
                "spring.ai.llamba.pull-strategy=" + strategy);
    }

    @Test
    void aRepositoryIdIsFetchedIntoTheCacheAndServedUnderItsName(@TempDir Path cache) throws IOException {
        try (MiniHub hub = new MiniHub(REPO, files)) {
            hub(hub, cache, "when_missing").run(context -> {
                assertThat(context).hasNotFailed();
                Path snapshot = cache.resolve("models--test-org--tiny-llamba/snapshots/" + MiniHub.COMMIT);
                assertThat(snapshot.resolve("config.json")).exists();
                assertThat(snapshot.resolve("model.safetensors")).exists();
                assertThat(Files.readString(cache.resolve("models--test-org--tiny-llamba/refs/main"))).isEqualTo(MiniHub.COMMIT);
                Engine engine = context.getBean(Engine.class);
                assertThat(engine.tokenizer().vocabSize()).as("the repository's own tokenizer.json").isEqualTo(TestTokenizer.VOCAB);
                LlambaChatModel model = context.getBean(LlambaChatModel.class);
                assertThat(model.getModelName()).isEqualTo(REPO);
                ChatResponse r = model.call(new Prompt("Hi", ChatOptions.builder().model(REPO).maxTokens(3).build()));
                assertThat(r.getMetadata().getModel()).isEqualTo(REPO);
            });
            assertThat(hub.requests).contains("GET /" + REPO + "/resolve/" + MiniHub.COMMIT + "/model.safetensors");
        }
    }

    @Test
    void whenMissingUsesACompleteCacheWithoutAskingAndAlwaysAsks(@TempDir Path cache) throws IOException {
        try (MiniHub hub = new MiniHub(REPO, files)) {
            hub(hub, cache, "when_missing").run(context -> assertThat(context).hasNotFailed());
            int afterFirst = hub.requests.size();
            hub(hub, cache, "when_missing").run(context -> assertThat(context).hasNotFailed());
            assertThat(hub.requests).hasSize(afterFirst);
            hub(hub, cache, "always").run(context -> assertThat(context).hasNotFailed());
            assertThat(hub.requests.subList(afterFirst, hub.requests.size())).isNotEmpty()
                    .allMatch(r -> r.startsWith("HEAD "), "only metadata: the blobs are cached");
        }
    }

    @Test
    void neverRefusesAnEmptyCacheNamingTheRepository(@TempDir Path cache) throws IOException {
        try (MiniHub hub = new MiniHub(REPO, files)) {
            hub(hub, cache, "never").run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).rootCause().hasMessageContaining(REPO).hasMessageContaining("cache");
            });
            assertThat(hub.requests).isEmpty();
        }
    }

    @Test
    void anUnknownRepositoryFailsTheStartupSayingSo(@TempDir Path cache) throws IOException {
        try (MiniHub hub = new MiniHub(REPO, files)) {
            hub(hub, cache, "when_missing").withPropertyValues("spring.ai.llamba.model=test-org/no-such-model").run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("test-org/no-such-model")
                        .hasMessageContaining("not found");
            });
        }
    }

    @Test
    void aBadPullStrategyIsABindingError() {
        runner.withPropertyValues("spring.ai.llamba.pull-strategy=sometimes").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasStackTraceContaining("spring.ai.llamba.pull-strategy");
        });
    }
}
