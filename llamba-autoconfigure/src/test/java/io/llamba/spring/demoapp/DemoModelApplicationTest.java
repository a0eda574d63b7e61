package io.llamba.spring.demoapp;

import io.llamba.engine.generate.Engine;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.autoconfigure.LlambaModelSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A ChatClient application with no model configured answers through the embedded demo model: call,
 * stream, and the demo's tool-calling family end to end (Spring AI's tool-calling advisor runs the
 * application's tool between the model's two turns).
 */
class DemoModelApplicationTest {
    static ConfigurableApplicationContext context;
    static DemoAssistant assistant;

    @BeforeAll
    static void start() {
        SpringApplication app = new SpringApplication(DemoApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        // Spring AI's OpenAI starter is on this test class path too (for WeatherApplicationTest): the
        // chat model is chosen as an application would choose it, the other OpenAI models switched off.
        // Greedy sampling: the demo's answers are exact.
        context = app.run("--spring.main.banner-mode=off", "--spring.ai.model.chat=llamba", "--spring.ai.llamba.chat.temperature=0",
                "--spring.ai.model.audio.speech=none", "--spring.ai.model.audio.transcription=none", "--spring.ai.model.embedding=none",
                "--spring.ai.model.image=none", "--spring.ai.model.moderation=none");
        assistant = context.getBean(DemoAssistant.class);
    }

    @AfterAll
    static void stop() {
        context.close();
    }

    @Test
    void theEmbeddedModelIsTheDefault() {
        LlambaChatModel model = context.getBean(LlambaChatModel.class);
        assertThat(model.getModelName()).isEqualTo(LlambaModelSource.DEMO_MODEL_NAME);
        assertThat(context.getBean(Engine.class).tokenizer().vocabSize()).isEqualTo(1280);
    }

    @Test
    void answersItsTasksCalledAndStreamed() {
        assertThat(assistant.ask("What is the capital of France?")).isEqualTo("The capital of France is Paris.");
        assertThat(assistant.askStreaming("What is 37 + 48?")).isEqualTo("37 + 48 = 85.");
        assertThat(assistant.askStreaming("Reverse the order of these words: apple river stone")).isEqualTo("stone river apple");
    }

    @Test
    void callsTheApplicationsToolAndAnswersWithItsResult() {
        String answer = assistant.askWithTools("What is the weather in London?");

        assertThat(assistant.lookups).containsExactly("London");
        assertThat(answer).isEqualTo("It is 21 degrees and sunny in London.");
    }
}
