package io.llamba.service;

import io.llamba.service.launch.VectorApiLauncher;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The Llamba service: an OpenAI-compatible API ({@code /v1}), a chat page ({@code /}) and the
 * actuator, over the Llamba {@code ChatModel} that {@code llamba-autoconfigure} provides.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class LlambaServiceApplication {
    public static void main(String[] args) {
        VectorApiLauncher.ensureVectorApi(LlambaServiceApplication.class.getName(), args);
        SpringApplication.run(LlambaServiceApplication.class, args);
    }
}
