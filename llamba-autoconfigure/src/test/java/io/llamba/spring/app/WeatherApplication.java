package io.llamba.spring.app;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A stand-in for an enterprise application: its only code is {@link WeatherAssistant}, which uses
 * the {@code ChatClient} Spring AI builds on whatever {@code ChatModel} the configuration chose.
 */
@SpringBootApplication
public class WeatherApplication {
}
