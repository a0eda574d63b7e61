package io.llamba.service.security;

import io.llamba.service.LlambaServiceApplication;
import io.llamba.service.support.ScriptedServiceConfiguration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The prod profile needs an API key: without one the service does not start, and says what to set. */
@ExtendWith(OutputCaptureExtension.class)
class ProdProfileTest {
    @Test
    void refusesToStartWithoutAnApiKey(CapturedOutput output) {
        SpringApplication app = new SpringApplication(LlambaServiceApplication.class, ScriptedServiceConfiguration.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        assertThatThrownBy(() -> app.run("--spring.profiles.active=prod", "--spring.main.banner-mode=off",
                "--llamba.service.security.api-keys=")).isInstanceOf(Exception.class);
        assertThat(output.getAll()).contains("llamba.service.security.api-keys")
                .contains("require-api-key is on (the prod profile) but no API key is configured")
                .contains("LLAMBA_API_KEYS");
    }

    @Test
    void refusesShortKeys(CapturedOutput output) {
        SpringApplication app = new SpringApplication(LlambaServiceApplication.class, ScriptedServiceConfiguration.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        assertThatThrownBy(() -> app.run("--spring.main.banner-mode=off", "--llamba.service.security.api-keys=short"))
                .isInstanceOf(Exception.class);
        assertThat(output.getAll()).contains("llamba.service.security.api-keys[0] is too short").contains("at least 16 characters")
                .as("the rejected key is not logged").doesNotContain("\"short\"");
    }
}
