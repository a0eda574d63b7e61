package io.llamba.spring.ai;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.Scripts;
import io.llamba.spring.testing.TestTokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** Spring AI's tool-calling advisor runs the tools the model calls and loops back, for call and stream. */
class LlambaToolCallingTest {
    final ScriptedModel model = new ScriptedModel(TestTokenizer.load(), Scripts::reply, 0);
    final Engine engine = new Engine(model, TestTokenizer.load(), EngineOptions.defaults());
    final ChatClient client = ChatClient.builder(LlambaChatModel.builder().engine(engine).build()).build();

    @AfterEach
    void close() {
        engine.close();
    }

    static final class WeatherTools {
        final List<String> asked = new CopyOnWriteArrayList<>();

        @Tool(description = "Current weather of a city")
        String weather(@ToolParam(description = "the city") String city) {
            asked.add(city);
            return "sunny, 21 degrees";
        }
    }

    @Test
    void callRunsTheToolAndAnswersWithItsResult() {
        WeatherTools tools = new WeatherTools();

        String answer = client.prompt().user("What is the weather in Paris?").tools(tools).call().content();

        assertThat(tools.asked).containsExactly("Paris");
        assertThat(answer).isEqualTo("Paris: \"sunny, 21 degrees\".");
        // Two turns: the call, then the answer from the ipython message holding the tool's result.
        assertThat(model.prompts).hasSize(2);
        assertThat(model.prompts.get(1)).contains(Scripts.WEATHER_CALL + "<|eot_id|><|start_header_id|>ipython<|end_header_id|>");
    }

    @Test
    void streamRunsTheToolAndStreamsTheAnswer() {
        WeatherTools tools = new WeatherTools();

        List<String> deltas = client.prompt().user("What is the weather in Paris?").tools(tools).stream().content()
                .collectList().block(Duration.ofSeconds(10));

        assertThat(tools.asked).containsExactly("Paris");
        assertThat(String.join("", deltas)).isEqualTo("Paris: \"sunny, 21 degrees\".");
        assertThat(deltas).noneMatch(d -> d.contains("\"name\""));
    }
}
