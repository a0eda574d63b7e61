package io.llamba.spring.ai;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.Scripts;
import io.llamba.spring.testing.TestTokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.observation.ChatModelMeterObservationHandler;
import org.springframework.ai.chat.prompt.Prompt;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Spring AI's chat-model observation, for call and stream: its name, tags and the token-usage meter. */
class LlambaChatModelObservationTest {
    final TestObservationRegistry observations = TestObservationRegistry.create();
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final Engine engine = new Engine(new ScriptedModel(TestTokenizer.load(), Scripts::reply, 0), TestTokenizer.load(),
            EngineOptions.defaults());
    final LlambaChatModel chat = LlambaChatModel.builder().engine(engine).observationRegistry(observations)
            .options(LlambaChatOptions.builder().temperature(0.0).maxTokens(64).build()).build();

    LlambaChatModelObservationTest() {
        observations.observationConfig().observationHandler(new ChatModelMeterObservationHandler(meters));
    }

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void callIsObservedAsAGenAiClientOperation() {
        ChatResponse r = chat.call(new Prompt("Hi"));

        TestObservationRegistryAssert.assertThat(observations)
                .doesNotHaveAnyRemainingCurrentObservation()
                .hasObservationWithNameEqualTo("gen_ai.client.operation").that()
                .hasContextualNameEqualTo("chat scripted")
                .hasLowCardinalityKeyValue("gen_ai.operation.name", "chat")
                .hasLowCardinalityKeyValue("gen_ai.system", "llamba")
                .hasLowCardinalityKeyValue("gen_ai.request.model", "scripted")
                .hasLowCardinalityKeyValue("gen_ai.response.model", "scripted")
                .hasHighCardinalityKeyValue("gen_ai.request.max_tokens", "64")
                .hasHighCardinalityKeyValue("gen_ai.request.temperature", "0.0")
                .hasHighCardinalityKeyValue("gen_ai.response.finish_reasons", "[\"stop\"]")
                .hasHighCardinalityKeyValue("gen_ai.response.id", r.getMetadata().getId())
                .hasHighCardinalityKeyValue("gen_ai.usage.input_tokens", String.valueOf(r.getMetadata().getUsage().getPromptTokens()))
                .hasHighCardinalityKeyValue("gen_ai.usage.output_tokens", String.valueOf(Scripts.HELLO.length() + 1))
                .hasBeenStarted()
                .hasBeenStopped();
        assertThat(meters.get("gen_ai.client.token.usage").tag("gen_ai.token.type", "output").tag("gen_ai.system", "llamba")
                .counter().count()).isEqualTo(Scripts.HELLO.length() + 1);
    }

    @Test
    void streamIsObservedWithTheAggregatedResponse() {
        List<ChatResponse> chunks = chat.stream(new Prompt("Hi")).collectList().block(Duration.ofSeconds(10));

        assertThat(chunks).isNotEmpty();
        TestObservationRegistryAssert.assertThat(observations)
                .doesNotHaveAnyRemainingCurrentObservation()
                .hasObservationWithNameEqualTo("gen_ai.client.operation").that()
                .hasLowCardinalityKeyValue("gen_ai.system", "llamba")
                .hasLowCardinalityKeyValue("gen_ai.response.model", "scripted")
                .hasHighCardinalityKeyValue("gen_ai.request.stream", "true")
                .hasHighCardinalityKeyValue("gen_ai.response.finish_reasons", "[\"stop\"]")
                .hasHighCardinalityKeyValue("gen_ai.usage.output_tokens", String.valueOf(Scripts.HELLO.length() + 1))
                .hasBeenStopped();
        assertThat(meters.get("gen_ai.client.token.usage").tag("gen_ai.token.type", "output").counter().count())
                .isEqualTo(Scripts.HELLO.length() + 1);
    }

    @Test
    void aBackendFailureEndsTheObservationWithTheError() {
        ScriptedModel failing = new ScriptedModel(TestTokenizer.load(), Scripts::reply, 0);
        failing.failing = true;
        try (Engine broken = new Engine(failing, TestTokenizer.load(), EngineOptions.defaults())) {
            LlambaChatModel brokenChat = LlambaChatModel.builder().engine(broken).observationRegistry(observations).build();

            assertThatThrownBy(() -> brokenChat.call(new Prompt("Hi"))).hasMessage("scripted backend failure");

            TestObservationRegistryAssert.assertThat(observations)
                    .hasObservationWithNameEqualTo("gen_ai.client.operation").that()
                    .hasError()
                    .hasLowCardinalityKeyValue("gen_ai.system", "llamba")
                    .hasBeenStopped();
        }
    }
}
