package io.llamba.spring.ai;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.engine.tokenizer.ChatMessage;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.Scripts;
import io.llamba.spring.testing.TestTokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.tool.function.FunctionToolCallback;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.util.MimeTypeUtils;
import reactor.core.publisher.Flux;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The chat model over an engine running a scripted model: exact text, stops, tool calls, cancellation. */
class LlambaChatModelTest {
    final ScriptedModel model = new ScriptedModel(TestTokenizer.load(), Scripts::reply, 0);
    final Engine engine = new Engine(model, TestTokenizer.load(), EngineOptions.defaults().withMaxSequences(4));
    final LlambaChatModel chat = LlambaChatModel.builder().engine(engine).build();

    @AfterEach
    void close() {
        engine.close();
    }

    static FunctionToolCallback<Object, String> weatherTool() {
        record City(String city) {
        }
        Function<City, String> fn = c -> "sunny in " + c.city();
        @SuppressWarnings({"unchecked", "rawtypes"})
        FunctionToolCallback<Object, String> tool = (FunctionToolCallback) FunctionToolCallback.builder("weather", fn)
                .description("Current weather of a city").inputType(City.class).build();
        return tool;
    }

    @Test
    void callAnswersWithTheReplyItsUsageAndFinishReason() {
        ChatResponse r = chat.call(new Prompt(List.of(new SystemMessage("Be brief."), new UserMessage("Hi"))));

        assertThat(r.getResult().getOutput().getText()).isEqualTo(Scripts.HELLO);
        assertThat(r.getResult().getMetadata().getFinishReason()).isEqualTo("stop");
        int promptTokens = new ChatTemplate(TestTokenizer.load())
                .encode(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi")), true).length;
        assertThat(r.getMetadata().getUsage().getPromptTokens()).isEqualTo(promptTokens);
        // The byte tokenizer gives one token per byte; the end-of-turn token counts, as OpenAI counts it.
        assertThat(r.getMetadata().getUsage().getCompletionTokens()).isEqualTo(Scripts.HELLO.length() + 1);
        assertThat(r.getMetadata().getModel()).isEqualTo("scripted");
        assertThat(r.getMetadata().getId()).startsWith("llamba-");
        // What the model saw is the Llama 3 chat template, verbatim.
        assertThat(model.prompts).containsExactly("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void streamDeltasMakeTheReplyAndTheLastChunkCarriesFinishReasonAndUsage() {
        List<ChatResponse> chunks = chat.stream(new Prompt("Hi")).collectList().block(Duration.ofSeconds(10));

        assertThat(chunks).hasSizeGreaterThan(2);
        String text = String.join("", chunks.stream().map(c -> c.getResult().getOutput().getText()).toList());
        assertThat(text).isEqualTo(Scripts.HELLO);
        ChatResponse last = chunks.getLast();
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("stop");
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isEqualTo(Scripts.HELLO.length() + 1);
        assertThat(last.getMetadata().getUsage().getPromptTokens()).isPositive();
        // Only the last chunk says why the reply ended.
        assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(c -> assertThat(c.getResult().getMetadata().getFinishReason()).isNull());
    }

    @Test
    void promptOptionsWinOverTheModelsDefaults() {
        LlambaChatModel withDefaults = LlambaChatModel.builder().engine(engine)
                .options(LlambaChatOptions.builder().maxTokens(100).stopSequences(List.of("Llamba")).build()).build();

        ChatResponse defaults = withDefaults.call(new Prompt("Hi"));
        assertThat(defaults.getResult().getOutput().getText()).isEqualTo("Hello from ");
        assertThat(defaults.getResult().getMetadata().getFinishReason()).isEqualTo("stop");

        // Portable ChatOptions work too; unset values still come from the defaults (the stop string here).
        ChatResponse limited = withDefaults.call(new Prompt("Hi", ChatOptions.builder().maxTokens(5).build()));
        assertThat(limited.getResult().getOutput().getText()).isEqualTo("Hello");
        assertThat(limited.getResult().getMetadata().getFinishReason()).isEqualTo("length");

        ChatResponse otherStop = withDefaults.call(new Prompt("Hi", LlambaChatOptions.builder().stopSequences(List.of(" from")).build()));
        assertThat(otherStop.getResult().getOutput().getText()).isEqualTo("Hello");
    }

    @Test
    void toolCallsComeBackAsToolCallsWithFinishReasonToolCalls() {
        LlambaChatOptions options = LlambaChatOptions.builder().toolCallbacks(weatherTool()).build();

        ChatResponse r = chat.call(new Prompt("What is the weather in Paris?", options));

        AssistantMessage out = r.getResult().getOutput();
        assertThat(out.getToolCalls()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("weather");
            assertThat(c.type()).isEqualTo("function");
            assertThat(c.arguments()).isEqualTo("{\"city\":\"Paris\"}");
            assertThat(c.id()).isNotBlank();
        });
        assertThat(out.getText()).isEmpty();
        assertThat(r.getResult().getMetadata().getFinishReason()).isEqualTo("tool_calls");
        // The tool was offered in the Llama 3.1 JSON format.
        assertThat(model.prompts.getFirst()).contains("Environment: ipython").contains("\"name\": \"weather\"")
                .contains("Current weather of a city").contains("What is the weather in Paris?");
    }

    @Test
    void callsAndToolResultsInTheHistoryAreRenderedForTheModel() {
        LlambaChatOptions options = LlambaChatOptions.builder().toolCallbacks(weatherTool()).build();
        List<Message> history = List.of(
                new UserMessage("What is the weather in Paris?"),
                AssistantMessage.builder().content("").toolCalls(List.of(
                        new AssistantMessage.ToolCall("call_1", "function", "weather", "{\"city\":\"Paris\"}"))).build(),
                ToolResponseMessage.builder().responses(List.of(new ToolResponseMessage.ToolResponse("call_1", "weather", "\"sunny\""))).build());

        ChatResponse r = chat.call(new Prompt(history, options));

        assertThat(r.getResult().getOutput().getText()).isEqualTo("Paris: \"sunny\".");
        assertThat(r.getResult().getOutput().getToolCalls()).isEmpty();
        assertThat(model.prompts.getFirst()).contains("<|start_header_id|>assistant<|end_header_id|>\n\n"
                + "{\"name\": \"weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>"
                + "<|start_header_id|>ipython<|end_header_id|>\n\n\"sunny\"<|eot_id|>");
    }

    @Test
    void streamedToolCallsArriveWholeInTheLastChunk() {
        LlambaChatOptions options = LlambaChatOptions.builder().toolCallbacks(weatherTool()).build();

        List<ChatResponse> chunks = chat.stream(new Prompt("What is the weather in Paris?", options)).collectList().block(Duration.ofSeconds(10));

        // The JSON is held back while it may be a call; nothing of it leaks out as text.
        assertThat(chunks).allSatisfy(c -> assertThat(c.getResult().getOutput().getText()).isEmpty());
        ChatResponse last = chunks.getLast();
        assertThat(last.getResult().getOutput().getToolCalls()).extracting(AssistantMessage.ToolCall::name).containsExactly("weather");
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("tool_calls");
    }

    @Test
    void malformedToolCallsArePlainText() {
        LlambaChatOptions options = LlambaChatOptions.builder().toolCallbacks(weatherTool()).build();
        Prompt prompt = new Prompt("Please break the call.", options);

        ChatResponse called = chat.call(prompt);
        assertThat(called.getResult().getOutput().getText()).isEqualTo(Scripts.MALFORMED_CALL);
        assertThat(called.getResult().getOutput().getToolCalls()).isEmpty();
        assertThat(called.getResult().getMetadata().getFinishReason()).isEqualTo("stop");

        List<ChatResponse> chunks = chat.stream(prompt).collectList().block(Duration.ofSeconds(10));
        assertThat(String.join("", chunks.stream().map(c -> c.getResult().getOutput().getText()).toList())).isEqualTo(Scripts.MALFORMED_CALL);
        assertThat(chunks).allSatisfy(c -> assertThat(c.getResult().getOutput().getToolCalls()).isEmpty());
    }

    @Test
    void withToolsOfferedPlainRepliesStillStream() {
        LlambaChatOptions options = LlambaChatOptions.builder().toolCallbacks(weatherTool()).build();
        // A reply that cannot be JSON is released as soon as that is clear, not held to the end.
        List<ChatResponse> chunks = chat.stream(new Prompt(List.of(new UserMessage("x"),
                AssistantMessage.builder().content("").toolCalls(List.of(new AssistantMessage.ToolCall("c", "function", "weather", "{}"))).build(),
                ToolResponseMessage.builder().responses(List.of(new ToolResponseMessage.ToolResponse("c", "weather", "rain"))).build()), options))
                .collectList().block(Duration.ofSeconds(10));
        assertThat(chunks.stream().filter(c -> !Objects.requireNonNull(c.getResult().getOutput().getText()).isEmpty()).count()).isGreaterThan(3);
        assertThat(String.join("", chunks.stream().map(c -> c.getResult().getOutput().getText()).toList())).isEqualTo("Paris: rain.");
    }

    @Test
    void badRequestsAreRefusedNamingTheProblem() {
        assertThatThrownBy(() -> chat.call(new Prompt("Hi", ChatOptions.builder().model("gpt-4o").build())))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.field()).isEqualTo("model"))
                .hasMessageContaining("'gpt-4o'").hasMessageContaining("'scripted'");
        assertThatThrownBy(() -> chat.call(new Prompt("Hi", ChatOptions.builder().temperature(-1.0).build())))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.field()).isEqualTo("temperature"));
        assertThatThrownBy(() -> chat.call(new Prompt("Hi", ChatOptions.builder().maxTokens(0).build())))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> assertThat(e.field()).isEqualTo("max_tokens"));
        UserMessage withImage = UserMessage.builder().text("What is this?")
                .media(new Media(MimeTypeUtils.IMAGE_PNG, new ByteArrayResource(new byte[] {1, 2, 3}))).build();
        assertThatThrownBy(() -> chat.call(new Prompt(withImage)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("text only");
        // The same errors reach a stream's subscriber, not its caller.
        assertThatThrownBy(() -> chat.stream(new Prompt("Hi", ChatOptions.builder().model("gpt-4o").build())).blockLast())
                .isInstanceOf(InvalidRequestException.class);
        // The name the model is served under is accepted.
        assertThat(chat.call(new Prompt("Hi", ChatOptions.builder().model("scripted").build())).getResult().getOutput().getText())
                .isEqualTo(Scripts.HELLO);
    }

    @Test
    void cancellingTheStreamStopsTheGeneration() {
        ScriptedModel slow = new ScriptedModel(TestTokenizer.load(), Scripts::reply, 5);
        try (Engine slowEngine = new Engine(slow, TestTokenizer.load(), EngineOptions.defaults())) {
            LlambaChatModel slowChat = LlambaChatModel.builder().engine(slowEngine).build();
            Flux<ChatResponse> stream = slowChat.stream(new Prompt("Please talk at length."));

            List<ChatResponse> first = stream.take(3).collectList().block(Duration.ofSeconds(10));

            assertThat(first).hasSize(3);
            await().atMost(Duration.ofSeconds(5)).until(() -> slowEngine.stats().running() == 0);
            int forwardsAfterCancel = slow.forwards.get();
            assertThat(slowEngine.stats().generatedTokens()).isLessThan(Scripts.LONG.length() / 4);
            await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(1)).until(() -> slow.forwards.get() == forwardsAfterCancel);
        }
    }

    @Test
    void optionsHaveTheLoadedModelsNameByDefault() {
        assertThat(chat.getOptions().getModel()).isEqualTo("scripted");
        assertThat(LlambaChatModel.builder().engine(engine).modelName("llamba-demo").build().getOptions().getModel()).isEqualTo("llamba-demo");
    }
}
