package io.llamba.engine.chat;

import io.llamba.engine.tokenizer.ChatMessage;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class Llama3ToolsTest {
    static final ToolDefinition WEATHER = new ToolDefinition("get_weather", "Current weather of a city",
            "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}");

    @Test
    void rendersToolsIntoSystemAndFirstUserMessage() {
        List<ChatMessage> out = Llama3Tools.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Weather in Paris?"),
                new ChatMessage("tool", "{\"t\": 21}")), List.of(WEATHER));
        assertThat(out.get(0).content()).isEqualTo("Environment: ipython\n\nBe brief.");
        assertThat(out.get(1).content()).isEqualTo(Llama3Tools.INSTRUCTION + """
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Current weather of a city",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "city": {
                                    "type": "string"
                                }
                            },
                            "required": [
                                "city"
                            ]
                        }
                    }
                }

                Weather in Paris?""");
        assertThat(out.get(2)).isEqualTo(new ChatMessage("ipython", "{\"t\": 21}"));
    }

    @Test
    void addsASystemMessageWhenMissingAndLeavesToollessChatsAlone() {
        List<ChatMessage> out = Llama3Tools.render(List.of(ChatMessage.user("hi")), List.of(WEATHER));
        assertThat(out.getFirst()).isEqualTo(ChatMessage.system("Environment: ipython"));
        List<ChatMessage> plain = List.of(ChatMessage.system("s"), ChatMessage.user("u"));
        assertThat(Llama3Tools.render(plain, List.of())).isEqualTo(plain);
    }

    @Test
    void parsesCallsInTheFormsModelsEmit() {
        assertThat(Llama3Tools.parse("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}")).hasValueSatisfying(c ->
                assertThat(c).containsExactly(new ToolCall("get_weather", "{\"city\":\"Paris\"}")));
        assertThat(Llama3Tools.parse("<|python_tag|>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}")).hasValueSatisfying(c ->
                assertThat(c).containsExactly(new ToolCall("f", "{\"a\":1}")));
        assertThat(Llama3Tools.parse(" {\"name\": \"f\", \"parameters\": {}}; {\"name\": \"g\", \"parameters\": {\"s\": \"}{;\"}}\n")).hasValueSatisfying(c ->
                assertThat(c).extracting(ToolCall::name).containsExactly("f", "g"));
        assertThat(Llama3Tools.parse("[{\"name\": \"f\"}, {\"name\": \"g\", \"parameters\": {\"x\": [1, 2]}}]")).hasValueSatisfying(c ->
                assertThat(c).containsExactly(new ToolCall("f", "{}"), new ToolCall("g", "{\"x\":[1,2]}")));
    }

    @Test
    void malformedCallsArePlainText() {
        assertThat(Llama3Tools.parse("The weather is nice.")).isEmpty();
        assertThat(Llama3Tools.parse("{\"name\": \"f\", \"parameters\": {\"city\": ")).isEmpty();
        assertThat(Llama3Tools.parse("{\"parameters\": {}}")).isEmpty();
        assertThat(Llama3Tools.parse("{\"name\": \"f\", \"parameters\": [1]}")).isEmpty();
        assertThat(Llama3Tools.parse("{\"name\": \"f\"} and then some prose")).isEmpty();
        assertThat(Llama3Tools.parse("")).isEmpty();
    }

    @Test
    void rendersCallsForTheHistoryLikePython() {
        assertThat(Llama3Tools.renderCalls(List.of(new ToolCall("get_weather", "{\"city\":\"Paris\",\"days\":[1,2]}"), new ToolCall("f", ""))))
                .isEqualTo("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": [1, 2]}}\n{\"name\": \"f\", \"parameters\": {}}");
    }
}
