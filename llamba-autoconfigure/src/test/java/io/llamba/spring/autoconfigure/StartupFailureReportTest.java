package io.llamba.spring.autoconfigure;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a developer sees when the application cannot start: Spring Boot's failure report, naming the culprit. */
@ExtendWith(OutputCaptureExtension.class)
class StartupFailureReportTest {
    @SpringBootApplication
    static class App {
    }

    static void start(String... properties) {
        SpringApplication app = new SpringApplication(App.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        app.setDefaultProperties(java.util.Map.of("spring.main.banner-mode", "off", "spring.ai.llamba.threads", "1",
                "spring.ai.model.audio.speech", "none", "spring.ai.model.audio.transcription", "none",
                "spring.ai.model.embedding", "none", "spring.ai.model.image", "none", "spring.ai.model.moderation", "none"));
        String[] args = java.util.Arrays.stream(properties).map(p -> "--" + p).toArray(String[]::new);
        app.run(args).close();
    }

    @Test
    void aMissingModelIsReportedAsSuch(CapturedOutput output) {
        assertThatThrownBy(() -> start("spring.ai.llamba.model=/does/not/exist")).isNotNull();
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("The Llamba model /does/not/exist could not be loaded: /does/not/exist: model directory not found")
                .contains("Check spring.ai.llamba.model");
    }

    @Test
    void anInvalidValueIsReportedWithItsProperty(CapturedOutput output) {
        assertThatThrownBy(() -> start("spring.ai.llamba.model=/x", "spring.ai.llamba.threads=-1")).isNotNull();
        assertThat(output).contains("APPLICATION FAILED TO START").contains("Property: spring.ai.llamba.threads")
                .contains("Value: \"-1\"").contains("must be 0 (one per physical core) or positive");
    }

    @Test
    void anInvalidSamplingDefaultIsReportedWithItsProperty(CapturedOutput output) {
        assertThatThrownBy(() -> start("spring.ai.llamba.model=/x", "spring.ai.llamba.chat.top-p=2")).isNotNull();
        // Spring Boot names a validated field in its Java form and shows where the value came from.
        assertThat(output).contains("Property: spring.ai.llamba.chat.topP").contains("Origin: \"spring.ai.llamba.chat.top-p\"")
                .contains("top_p must be in (0, 1], got 2.0");
    }

    @Test
    void anUnknownBackendIsReportedWithItsProperty(CapturedOutput output) {
        assertThatThrownBy(() -> start("spring.ai.llamba.model=/x", "spring.ai.llamba.backend=gpu")).isNotNull();
        assertThat(output).contains("spring.ai.llamba.backend").contains("gpu");
    }
}
