package io.llamba.spring.demoapp;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Asks through the ChatClient Spring AI builds on the application's ChatModel, and offers a weather
 * tool shaped as the embedded demo model was trained to call it ({@code get_weather(city)} answering
 * {@code {"temperature": ..., "sky": ...}}): a scripted tool with fixed weather.
 */
@Component
public class DemoAssistant {
    private final ChatClient chat;
    /** The cities the model asked the weather of. */
    public final List<String> lookups = new CopyOnWriteArrayList<>();

    public DemoAssistant(ChatClient.Builder builder) {
        this.chat = builder.build();
    }

    public String ask(String question) {
        return chat.prompt().user(question).call().content();
    }

    public String askStreaming(String question) {
        List<String> parts = chat.prompt().user(question).stream().content().collectList().block(Duration.ofSeconds(60));
        return parts == null ? null : String.join("", parts);
    }

    public String askWithTools(String question) {
        return chat.prompt().user(question).tools(this).call().content();
    }

    /** What the tool answers: serialised by Spring AI as a JSON object. */
    public record Weather(int temperature, String sky) {
    }

    @Tool(name = "get_weather", description = "Get the current weather in a city")
    Weather getWeather(@ToolParam(description = "The city name") String city) {
        lookups.add(city);
        return new Weather(21, "sunny");
    }
}
