package io.llamba.service.compat;

import io.llamba.service.support.ScriptedServiceTest;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.Scripts;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.support.ToolCallbacks;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.llamba.service.support.ScriptedServiceConfiguration.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Spring AI's own {@link OpenAiChatModel} (spring-ai-openai, the OpenAI Java SDK underneath), given
 * only this service's base URL: call, stream, usage and tool calls work unchanged.
 */
@ScriptedServiceTest
class OpenAiChatModelCompatibilityTest {
    @LocalServerPort
    int port;
    @Autowired
    ScriptedModel model;
    OpenAiChatModel openAi;

    @BeforeEach
    void client() {
        openAi = OpenAiChatModel.builder()
                .options(OpenAiChatOptions.builder()
                        .baseUrl("http://127.0.0.1:" + port + "/v1")
                        .apiKey("sk-not-checked-here")
                        .model(MODEL)
                        .maxRetries(0)
                        .build())
                .build();
    }

    /** The client's tool, run by Spring AI's tool-calling advisor on the client side. */
    static final class WeatherTools {
        final List<String> lookups = new CopyOnWriteArrayList<>();

        @Tool(description = "Current weather of a city")
        String weather(@ToolParam(description = "the city") String city) {
            lookups.add(city);
            return "sunny, 21 degrees";
        }
    }

    @Test
    void callGivesTheTextAndTheUsage() {
        ChatResponse response = openAi.call(new Prompt("Hi"));

        assertThat(response.getResult().getOutput().getText()).isEqualTo(Scripts.HELLO);
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase("stop");
        assertThat(response.getMetadata().getModel()).isEqualTo(MODEL);
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(Scripts.HELLO.length() + 1);
        assertThat(response.getMetadata().getUsage().getPromptTokens()).isPositive();
    }

    @Test
    void streamGivesTheTextInPiecesAndTheUsageAtTheEnd() {
        Prompt prompt = new Prompt("Hi", OpenAiChatOptions.builder().model(MODEL).streamUsage(true).build());
        List<ChatResponse> responses = openAi.stream(prompt).collectList().block(Duration.ofSeconds(30));

        assertThat(responses).hasSizeGreaterThan(3);
        StringBuilder text = new StringBuilder();
        for (ChatResponse r : responses) {
            if (r.getResult() != null && r.getResult().getOutput().getText() != null) {
                text.append(r.getResult().getOutput().getText());
            }
        }
        assertThat(text.toString()).isEqualTo(Scripts.HELLO);
        assertThat(responses.getLast().getMetadata().getUsage().getCompletionTokens()).isEqualTo(Scripts.HELLO.length() + 1);
    }

    @Test
    void theModelReturnsToolCallsItDoesNotRun() {
        WeatherTools tools = new WeatherTools();
        Prompt prompt = new Prompt("Weather in Paris?", OpenAiChatOptions.builder()
                .model(MODEL).toolCallbacks(ToolCallbacks.from(tools)).build());

        ChatResponse response = openAi.call(prompt);

        AssistantMessage message = response.getResult().getOutput();
        assertThat(message.getToolCalls()).hasSize(1);
        AssistantMessage.ToolCall call = message.getToolCalls().getFirst();
        assertThat(call.name()).isEqualTo("weather");
        assertThat(call.arguments()).contains("\"city\"").contains("Paris");
        assertThat(tools.lookups).isEmpty();
        assertThat(model.prompts.getLast()).contains("\"name\": \"weather\"").contains("Current weather of a city");
    }

    @Test
    void aChatClientRunsTheToolLoopThroughTheService() {
        WeatherTools tools = new WeatherTools();
        ChatClient client = ChatClient.builder(openAi).build();

        String answer = client.prompt().user("Weather in Paris?").tools(tools).call().content();
        String streamed = String.join("", client.prompt().user("Weather in Paris?").tools(tools).stream().content()
                .collectList().block(Duration.ofSeconds(30)));

        // Spring AI sends a tool's String result as JSON (quoted); the script quotes the result it got.
        assertThat(answer).isEqualTo("Paris: \"sunny, 21 degrees\".");
        assertThat(streamed).isEqualTo("Paris: \"sunny, 21 degrees\".");
        assertThat(tools.lookups).containsExactly("Paris", "Paris");
    }
}
