package io.llamba.spring.app;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Answers questions through the injected ChatClient, with a weather tool it offers the model. */
@Component
public class WeatherAssistant {
    private final ChatClient chat;
    /** The cities the model asked the weather of. */
    public final List<String> lookups = new CopyOnWriteArrayList<>();

    public WeatherAssistant(ChatClient.Builder builder) {
        this.chat = builder.build();
    }

    public String ask(String question) {
        return chat.prompt().user(question).call().content();
    }

    public String askStreaming(String question) {
        List<String> parts = chat.prompt().user(question).stream().content().collectList().block(Duration.ofSeconds(30));
        return parts == null ? null : String.join("", parts);
    }

    public String askAboutWeather(String question) {
        return chat.prompt().user(question).tools(this).call().content();
    }

    public String askAboutWeatherStreaming(String question) {
        List<String> parts = chat.prompt().user(question).tools(this).stream().content().collectList().block(Duration.ofSeconds(30));
        return parts == null ? null : String.join("", parts);
    }

    @Tool(description = "Current weather of a city")
    String weather(@ToolParam(description = "the city") String city) {
        lookups.add(city);
        return "sunny, 21 degrees";
    }
}
