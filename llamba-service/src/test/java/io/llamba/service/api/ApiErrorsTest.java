package io.llamba.service.api;

import io.llamba.service.support.ApiClient;
import io.llamba.service.support.ScriptedServiceTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

import static io.llamba.service.support.ApiErrorAssert.error;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every error case of the API: status, OpenAI's error body ({@code message}, {@code type},
 * {@code param}, {@code code}, all present) and a message that names the field or the limit.
 */
@ScriptedServiceTest
class ApiErrorsTest {
    @LocalServerPort
    int port;
    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port);
    }

    static final String HI = "[{\"role\": \"user\", \"content\": \"Hi\"}]";

    ApiClient.Response chat(String body) {
        return api.post("/v1/chat/completions", body);
    }

    @Test
    void malformedJsonSaysWhere() {
        JsonNode e = error(chat("{\"messages\": [}"), 400, "invalid_request_error", null, "invalid_json");
        assertThat(e.get("message").stringValue()).contains("not valid JSON at line 1, column");
        error(chat(""), 400, "invalid_request_error", null, "invalid_json");
        error(chat("[1, 2]"), 400, "invalid_request_error", null, "invalid_json");
    }

    @Test
    void missingAndMistypedFieldsAreNamed() {
        assertThat(error(chat("{}"), 400, "invalid_request_error", "messages", "missing_required_parameter").get("message").stringValue())
                .isEqualTo("Missing required parameter: messages.");
        error(chat("{\"messages\": []}"), 400, "invalid_request_error", "messages", "invalid_value");
        assertThat(error(chat("{\"messages\": " + HI + ", \"temperature\": \"hot\"}"), 400, "invalid_request_error", "temperature",
                "invalid_type").get("message").stringValue()).isEqualTo("temperature must be a number, got a string.");
        error(chat("{\"messages\": [{\"role\": \"user\"}]}"), 400, "invalid_request_error", "messages[0].content",
                "missing_required_parameter");
        error(chat("{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}"), 400, "invalid_request_error", "messages[0].role",
                "invalid_value");
        error(chat("{\"messages\": [{\"role\": \"user\", \"content\": 7}]}"), 400, "invalid_request_error", "messages[0].content",
                "invalid_type");
        error(chat("{\"messages\": " + HI + ", \"stream\": \"yes\"}"), 400, "invalid_request_error", "stream", "invalid_type");
        error(chat("{\"messages\": " + HI + ", \"max_tokens\": 0}"), 400, "invalid_request_error", "max_tokens", "invalid_value");
        error(chat("{\"messages\": " + HI + ", \"max_tokens\": 2.5}"), 400, "invalid_request_error", "max_tokens", "invalid_type");
        error(chat("{\"messages\": " + HI + ", \"stop\": [\"a\", 3]}"), 400, "invalid_request_error", "stop[1]", "invalid_type");
        error(chat("{\"messages\": " + HI + ", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"bad name!\"}}]}"),
                400, "invalid_request_error", "tools[0].function.name", "invalid_value");
    }

    @Test
    void valuesOutOfRangeAreRefusedByTheEngineNamingTheField() {
        JsonNode e = error(chat("{\"messages\": " + HI + ", \"top_p\": 3}"), 400, "invalid_request_error", "top_p", "invalid_value");
        assertThat(e.get("message").stringValue()).contains("top_p").contains("3.0");
        error(chat("{\"messages\": " + HI + ", \"temperature\": -1}"), 400, "invalid_request_error", "temperature", "invalid_value");
        error(chat("{\"messages\": " + HI + ", \"frequency_penalty\": 9}"), 400, "invalid_request_error", "frequency_penalty",
                "invalid_value");
    }

    @Test
    void whatTheServerDoesNotDoIsSaidSo() {
        assertThat(error(chat("{\"messages\": " + HI + ", \"n\": 2}"), 400, "invalid_request_error", "n", "unsupported_value")
                .get("message").stringValue()).contains("n must be 1");
        error(chat("{\"messages\": " + HI + ", \"logprobs\": true}"), 400, "invalid_request_error", "logprobs", "unsupported_value");
        error(chat("{\"messages\": " + HI + ", \"tool_choice\": \"required\"}"), 400, "invalid_request_error", "tool_choice",
                "unsupported_value");
        error(chat("{\"messages\": " + HI + ", \"response_format\": {\"type\": \"json_object\"}}"), 400, "invalid_request_error",
                "response_format.type", "unsupported_value");
        error(chat("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}]}"),
                400, "invalid_request_error", "messages[0].content[0].type", "unsupported_value");
    }

    @Test
    void promptPlusMaxTokensOverTheContextGivesTheNumbers() {
        // The scripted model's context is 4096 tokens; this server caps max tokens at 2000.
        JsonNode e = error(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(2500) + "\"}], \"max_tokens\": 1900}"),
                400, "invalid_request_error", "max_tokens", "context_length_exceeded");
        assertThat(e.get("message").stringValue()).matches("the prompt \\(\\d+ tokens\\) plus max_tokens \\(1900\\) exceeds the context"
                + " limit of 4096 tokens\\.");
        JsonNode prompt = error(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(5000) + "\"}]}"),
                400, "invalid_request_error", "messages", "context_length_exceeded");
        assertThat(prompt.get("message").stringValue()).contains("the context limit is 4096 tokens");
    }

    @Test
    void limitsOfThisServerAreNamed() {
        assertThat(error(chat("{\"messages\": " + HI + ", \"max_tokens\": 2001}"), 400, "invalid_request_error", "max_tokens",
                "invalid_value").get("message").stringValue()).contains("limit of 2000 tokens");
        String nine = ("{\"role\": \"user\", \"content\": \"x\"}, ").repeat(8) + "{\"role\": \"user\", \"content\": \"x\"}";
        assertThat(error(chat("{\"messages\": [" + nine + "]}"), 400, "invalid_request_error", "messages", "invalid_value")
                .get("message").stringValue()).contains("9 messages").contains("at most 8");
        error(chat("{\"messages\": " + HI + ", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}"), 400, "invalid_request_error", "stop",
                "invalid_value");
        ApiClient.Response big = chat("{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(70_000) + "\"}]}");
        assertThat(error(big, 413, "invalid_request_error", null, "request_too_large").get("message").stringValue())
                .contains("65536 bytes");
    }

    @Test
    void aChunkedBodyOverTheLimitIsRefusedAsItArrives() throws Exception {
        // No Content-Length: the body is counted as it arrives.
        byte[] body = ("{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(70_000) + "\"}]}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest
                .newBuilder(java.net.URI.create(api.baseUrl() + "/v1/chat/completions"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body))).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(r.body()).contains("\"code\":\"request_too_large\"");
    }

    @Test
    void unknownModelsAre404() {
        JsonNode e = error(chat("{\"model\": \"gpt-4o\", \"messages\": " + HI + "}"), 404, "invalid_request_error", "model",
                "model_not_found");
        assertThat(e.get("message").stringValue()).contains("'gpt-4o' does not exist").contains("'scripted'");
        error(api.get("/v1/models/gpt-4o"), 404, "invalid_request_error", "model", "model_not_found");
        error(api.post("/v1/completions", "{\"model\": \"gpt-4o\", \"prompt\": \"x\"}"), 404, "invalid_request_error", "model",
                "model_not_found");
    }

    @Test
    void unknownPathsAndMethodsGetApiErrors() {
        error(api.get("/v1/embeddings"), 404, "not_found_error", null, "not_found");
        error(api.get("/v1/chat/completions"), 405, "invalid_request_error", null, "method_not_allowed");
        // A base URL without /v1 is told where the API is.
        assertThat(error(api.post("/chat/completions", "{\"messages\": " + HI + "}"), 404, "not_found_error", null, "not_found")
                .get("message").stringValue()).contains("The API is under /v1");
    }
}
