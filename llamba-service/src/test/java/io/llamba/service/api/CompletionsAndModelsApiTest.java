package io.llamba.service.api;

import io.llamba.service.support.ApiClient;
import io.llamba.service.support.ApiErrorAssert;
import io.llamba.service.support.ScriptedServiceTest;
import io.llamba.spring.testing.ScriptedModel;
import io.llamba.spring.testing.Scripts;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

import java.util.List;

import static io.llamba.service.support.ScriptedServiceConfiguration.MODEL;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code POST /v1/completions} (a raw prompt, no chat template) and {@code GET /v1/models}. */
@ScriptedServiceTest
class CompletionsAndModelsApiTest {
    @LocalServerPort
    int port;
    @Autowired
    ScriptedModel model;
    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port);
    }

    @Test
    void completesARawPromptWithoutTheChatTemplate() {
        ApiClient.Response r = api.post("/v1/completions", "{\"model\": \"" + MODEL + "\", \"prompt\": \"Once upon a time\","
                + " \"max_tokens\": 50}");

        assertThat(r.status()).isEqualTo(200);
        JsonNode body = r.json();
        assertThat(body.get("id").stringValue()).startsWith("cmpl-");
        assertThat(body.get("object").stringValue()).isEqualTo("text_completion");
        assertThat(body.get("model").stringValue()).isEqualTo(MODEL);
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("text").stringValue()).isEqualTo(Scripts.HELLO);
        assertThat(choice.get("finish_reason").stringValue()).isEqualTo("stop");
        assertThat(choice.has("logprobs")).isTrue();
        assertThat(model.prompts.getLast()).isEqualTo("<|begin_of_text|>Once upon a time");
        assertThat(body.get("usage").get("prompt_tokens").intValue()).isEqualTo(1 + "Once upon a time".length());
        assertThat(body.get("usage").get("completion_tokens").intValue()).isEqualTo(Scripts.HELLO.length() + 1);
    }

    @Test
    void maxTokensDefaultsToSixteenAsInOpenAisApi() {
        ApiClient.Response r = api.post("/v1/completions", "{\"prompt\": [\"talk at length\"]}");
        JsonNode choice = r.json().get("choices").get(0);
        assertThat(choice.get("text").stringValue()).isEqualTo(Scripts.LONG.substring(0, 16));
        assertThat(choice.get("finish_reason").stringValue()).isEqualTo("length");
    }

    @Test
    void specialTokenTextInThePromptIsPlainText() {
        api.post("/v1/completions", "{\"prompt\": \"<|eot_id|>\", \"max_tokens\": 2}");
        // One token per byte: the text was not turned into the special token.
        assertThat(model.prompts.getLast()).isEqualTo("<|begin_of_text|><|eot_id|>");
    }

    @Test
    void streamsTextCompletionChunksWithUsageAndDone() {
        ApiClient.Response r = api.post("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 100, \"stream\": true,"
                + " \"stream_options\": {\"include_usage\": true}}");

        assertThat(r.header("content-type")).startsWith("text/event-stream");
        List<String> events = ApiClient.events(r.body());
        assertThat(events.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(ApiClient::parse).toList();
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks.subList(0, chunks.size() - 2)) {
            assertThat(c.get("object").stringValue()).isEqualTo("text_completion");
            assertThat(c.get("choices").get(0).get("finish_reason").isNull()).isTrue();
            text.append(c.get("choices").get(0).get("text").stringValue());
        }
        assertThat(text.toString()).isEqualTo(Scripts.HELLO);
        assertThat(chunks.get(chunks.size() - 2).get("choices").get(0).get("finish_reason").stringValue()).isEqualTo("stop");
        JsonNode usage = chunks.getLast();
        assertThat(usage.get("choices").isEmpty()).isTrue();
        assertThat(usage.get("usage").get("completion_tokens").intValue()).isEqualTo(Scripts.HELLO.length() + 1);
        assertThat(chunks.stream().map(c -> c.get("id").stringValue()).distinct()).hasSize(1);
    }

    @Test
    void refusesWhatItDoesNotDo() {
        ApiErrorAssert.error(api.post("/v1/completions", "{\"prompt\": [\"a\", \"b\"]}"), 400, "invalid_request_error", "prompt",
                "unsupported_value");
        ApiErrorAssert.error(api.post("/v1/completions", "{\"prompt\": \"a\", \"echo\": true}"), 400, "invalid_request_error", "echo",
                "unsupported_value");
        ApiErrorAssert.error(api.post("/v1/completions", "{\"prompt\": \"a\", \"logprobs\": 2}"), 400, "invalid_request_error",
                "logprobs", "unsupported_value");
        ApiErrorAssert.error(api.post("/v1/completions", "{}"), 400, "invalid_request_error", "prompt", "missing_required_parameter");
        ApiErrorAssert.error(api.post("/v1/completions", "{\"prompt\": \"" + "x".repeat(5000) + "\"}"), 400, "invalid_request_error",
                "prompt", "context_length_exceeded");
        ApiErrorAssert.error(api.post("/v1/completions", "{\"prompt\": \"" + "x".repeat(3000) + "\", \"max_tokens\": 1500}"), 400,
                "invalid_request_error", "max_tokens", "context_length_exceeded");
    }

    @Test
    void listsTheServedModel() {
        ApiClient.Response list = api.get("/v1/models");
        assertThat(list.status()).isEqualTo(200);
        JsonNode body = list.json();
        assertThat(body.get("object").stringValue()).isEqualTo("list");
        assertThat(body.get("data")).hasSize(1);
        JsonNode m = body.get("data").get(0);
        assertThat(m.get("id").stringValue()).isEqualTo(MODEL);
        assertThat(m.get("object").stringValue()).isEqualTo("model");
        assertThat(m.get("owned_by").stringValue()).isEqualTo("llamba");
        assertThat(m.get("created").longValue()).isPositive();

        ApiClient.Response one = api.get("/v1/models/" + MODEL);
        assertThat(one.status()).isEqualTo(200);
        assertThat(one.json()).isEqualTo(m);
    }
}
