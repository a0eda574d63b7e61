package io.llamba.service.security;

import io.llamba.service.LlambaServiceApplication;
import io.llamba.service.support.ApiClient;
import io.llamba.service.support.ApiErrorAssert;
import io.llamba.service.support.ScriptedServiceConfiguration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;

/** With API keys configured, /v1 needs one as a Bearer token; the page and the probes stay open. */
@SpringBootTest(classes = LlambaServiceApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.main.banner-mode=off", "llamba.service.security.api-keys=" + ApiKeyTest.KEY + "," + ApiKeyTest.OTHER_KEY})
@Import(ScriptedServiceConfiguration.class)
class ApiKeyTest {
    static final String KEY = "sk-test-0123456789abcdef";
    static final String OTHER_KEY = "sk-other-0123456789abcdef";
    static final String HI = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}";

    @LocalServerPort
    int port;
    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port);
    }

    @Test
    void everyConfiguredKeyIsAccepted() {
        assertThat(api.post("/v1/chat/completions", HI, "Authorization", "Bearer " + KEY).status()).isEqualTo(200);
        assertThat(api.post("/v1/chat/completions", HI, "Authorization", "bearer " + OTHER_KEY).status()).isEqualTo(200);
        assertThat(api.get("/v1/models", "Authorization", "Bearer " + KEY).status()).isEqualTo(200);
    }

    @Test
    void noKeyOrAWrongOneIs401WithAChallenge() {
        ApiClient.Response none = api.post("/v1/chat/completions", HI);
        JsonNode e = ApiErrorAssert.error(none, 401, "invalid_request_error", null, "missing_api_key");
        assertThat(e.get("message").stringValue()).contains("Authorization: Bearer");
        assertThat(none.header("www-authenticate")).startsWith("Bearer");

        ApiErrorAssert.error(api.post("/v1/chat/completions", HI, "Authorization", "Bearer " + KEY + "x"), 401, "invalid_request_error",
                null, "invalid_api_key");
        ApiErrorAssert.error(api.post("/v1/chat/completions", HI, "Authorization", "Bearer " + KEY.substring(1)), 401,
                "invalid_request_error", null, "invalid_api_key");
        ApiErrorAssert.error(api.post("/v1/chat/completions", HI, "Authorization", "Basic " + KEY), 401, "invalid_request_error", null,
                "invalid_api_key");
        ApiErrorAssert.error(api.get("/v1/models"), 401, "invalid_request_error", null, "missing_api_key");
        // Even a request the server would refuse for other reasons is first asked for its key.
        ApiErrorAssert.error(api.get("/v1/nothing-here"), 401, "invalid_request_error", null, "missing_api_key");
    }

    @Test
    void thePageAndTheProbesNeedNoKey() {
        ApiClient.Response page = api.get("/");
        assertThat(page.status()).isEqualTo(200);
        // The page runs only its own script and talks only to this server.
        assertThat(page.header("content-security-policy")).contains("script-src 'self'").contains("connect-src 'self'")
                .doesNotContain("unsafe-inline");
        assertThat(page.header("x-content-type-options")).isEqualTo("nosniff");
        assertThat(page.body()).contains("<script src=\"chat.js\"></script>").doesNotContain("<script>");
        assertThat(api.get("/chat.js").status()).isEqualTo(200);
        assertThat(api.get("/actuator/health/readiness").status()).isEqualTo(200);
        assertThat(api.get("/actuator/prometheus").status()).isEqualTo(200);
    }
}
