package io.llamba.service.api;

import io.llamba.engine.generate.Engine;
import io.llamba.service.support.ApiClient;
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

/** {@code POST /v1/chat/completions} over raw HTTP: replies, streams and their framing, tools, options. */
@ScriptedServiceTest
class ChatCompletionsApiTest {
    @LocalServerPort
    int port;
    @Autowired
    ScriptedModel model;
    @Autowired
    Engine engine;
    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port);
    }

    static String user(String text) {
        return "{\"role\": \"user\", \"content\": \"" + text + "\"}";
    }

    @Test
    void answersWithTheReplyItsUsageAndOpenAisShape() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"model\": \"" + MODEL + "\", \"messages\": [" + user("Hi") + "]}");

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("content-type")).startsWith("application/json");
        JsonNode body = r.json();
        assertThat(body.get("id").stringValue()).startsWith("chatcmpl-");
        assertThat(body.get("object").stringValue()).isEqualTo("chat.completion");
        assertThat(body.get("model").stringValue()).isEqualTo(MODEL);
        assertThat(body.get("created").longValue()).isPositive();
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("index").intValue()).isZero();
        assertThat(choice.get("message").get("role").stringValue()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").stringValue()).isEqualTo(Scripts.HELLO);
        assertThat(choice.get("finish_reason").stringValue()).isEqualTo("stop");
        JsonNode usage = body.get("usage");
        // The byte-level test tokenizer: one token per byte of the reply, plus the end of turn.
        assertThat(usage.get("completion_tokens").intValue()).isEqualTo(Scripts.HELLO.length() + 1);
        assertThat(usage.get("prompt_tokens").intValue()).isEqualTo(model.prompts.getLast().length() - countSpecials(model.prompts.getLast()));
        assertThat(usage.get("total_tokens").intValue())
                .isEqualTo(usage.get("prompt_tokens").intValue() + usage.get("completion_tokens").intValue());
    }

    /** The rendered prompt's special tokens are one token each, everything else one per byte (ASCII here). */
    private static int countSpecials(String prompt) {
        int n = 0;
        for (String s : List.of("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")) {
            n += (prompt.length() - prompt.replace(s, "").length()) / s.length() * (s.length() - 1);
        }
        return n;
    }

    @Test
    void aModellessRequestGetsTheServedModel() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": [" + user("Hi") + "]}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("model").stringValue()).isEqualTo(MODEL);
    }

    @Test
    void streamsServerSentEventsEndingWithTheFinishReasonUsageAndDone() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"model\": \"" + MODEL + "\", \"stream\": true,"
                + " \"stream_options\": {\"include_usage\": true}, \"messages\": [" + user("Hi") + "]}");

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("content-type")).startsWith("text/event-stream");
        assertThat(r.header("cache-control")).isEqualTo("no-cache");
        List<String> events = ApiClient.events(r.body());
        assertThat(events.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(ApiClient::parse).toList();
        String id = chunks.getFirst().get("id").stringValue();
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertThat(c.get("id").stringValue()).isEqualTo(id);
            assertThat(c.get("object").stringValue()).isEqualTo("chat.completion.chunk");
            assertThat(c.get("model").stringValue()).isEqualTo(MODEL);
        }
        List<JsonNode> withChoices = chunks.subList(0, chunks.size() - 1);
        assertThat(withChoices.getFirst().get("choices").get(0).get("delta").get("role").stringValue()).isEqualTo("assistant");
        for (JsonNode c : withChoices.subList(0, withChoices.size() - 1)) {
            JsonNode choice = c.get("choices").get(0);
            assertThat(choice.get("finish_reason").isNull()).isTrue();
            text.append(choice.get("delta").get("content").stringValue());
        }
        assertThat(text.toString()).isEqualTo(Scripts.HELLO);
        assertThat(withChoices.size()).as("more than one text chunk: the reply was streamed").isGreaterThan(3);
        JsonNode last = withChoices.getLast().get("choices").get(0);
        assertThat(last.get("finish_reason").stringValue()).isEqualTo("stop");
        assertThat(last.get("delta").isEmpty()).isTrue();
        JsonNode usageChunk = chunks.getLast();
        assertThat(usageChunk.get("choices").isEmpty()).isTrue();
        assertThat(usageChunk.get("usage").get("completion_tokens").intValue()).isEqualTo(Scripts.HELLO.length() + 1);
        assertThat(usageChunk.get("usage").get("total_tokens").intValue()).isPositive();
    }

    @Test
    void withoutIncludeUsageAStreamHasNoUsageChunk() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"stream\": true, \"messages\": [" + user("Hi") + "]}");
        List<String> events = ApiClient.events(r.body());
        assertThat(events.getLast()).isEqualTo("[DONE]");
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode chunk = ApiClient.parse(e);
            assertThat(chunk.has("usage")).isFalse();
            assertThat(chunk.get("choices")).hasSize(1);
        }
        assertThat(ApiClient.parse(events.get(events.size() - 2)).get("choices").get(0).get("finish_reason").stringValue())
                .isEqualTo("stop");
    }

    static final String WEATHER_TOOL = "{\"type\": \"function\", \"function\": {\"name\": \"weather\", \"description\":"
            + " \"Current weather of a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
            + " \"required\": [\"city\"]}}}";

    @Test
    void returnsToolCallsForTheClientToRun() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": [" + user("Weather in Paris?") + "], \"tools\": ["
                + WEATHER_TOOL + "], \"tool_choice\": \"auto\"}");

        assertThat(r.status()).isEqualTo(200);
        JsonNode choice = r.json().get("choices").get(0);
        assertThat(choice.get("finish_reason").stringValue()).isEqualTo("tool_calls");
        JsonNode message = choice.get("message");
        assertThat(message.has("content")).isTrue();
        assertThat(message.get("content").isNull()).isTrue();
        JsonNode call = message.get("tool_calls").get(0);
        assertThat(call.get("type").stringValue()).isEqualTo("function");
        assertThat(call.get("id").stringValue()).startsWith("call_");
        assertThat(call.get("function").get("name").stringValue()).isEqualTo("weather");
        assertThat(ApiClient.parse(call.get("function").get("arguments").stringValue()).get("city").stringValue()).isEqualTo("Paris");
        // The tool was offered in the Llama 3.1 JSON format, its schema included.
        assertThat(model.prompts.getLast()).contains("Environment: ipython").contains("\"name\": \"weather\"")
                .contains("Current weather of a city");
    }

    @Test
    void streamsToolCallsAsOneDeltaThenTheFinishReason() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"stream\": true, \"messages\": [" + user("Weather in Paris?")
                + "], \"tools\": [" + WEATHER_TOOL + "]}");

        List<String> events = ApiClient.events(r.body());
        assertThat(events).hasSize(3);
        JsonNode calls = ApiClient.parse(events.get(0)).get("choices").get(0).get("delta");
        assertThat(calls.get("role").stringValue()).isEqualTo("assistant");
        assertThat(calls.has("content")).as("no call JSON leaks out as text").isFalse();
        JsonNode call = calls.get("tool_calls").get(0);
        assertThat(call.get("index").intValue()).isZero();
        assertThat(call.get("function").get("name").stringValue()).isEqualTo("weather");
        assertThat(ApiClient.parse(events.get(1)).get("choices").get(0).get("finish_reason").stringValue()).isEqualTo("tool_calls");
        assertThat(events.get(2)).isEqualTo("[DONE]");
    }

    @Test
    void toolResultsAndEarlierCallsAreRenderedBackForTheModel() {
        String history = "[{\"role\": \"system\", \"content\": \"Be brief.\"}, " + user("Weather in Paris?") + ", {\"role\": \"assistant\","
                + " \"content\": null, \"tool_calls\": [{\"id\": \"call_9\", \"type\": \"function\", \"function\": {\"name\": \"weather\","
                + " \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}}]}, {\"role\": \"tool\", \"tool_call_id\": \"call_9\", \"content\":"
                + " \"sunny, 21 degrees\"}]";
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": " + history + ", \"tools\": [" + WEATHER_TOOL + "]}");

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("choices").get(0).get("message").get("content").stringValue()).isEqualTo("Paris: sunny, 21 degrees.");
        String prompt = model.prompts.getLast();
        assertThat(prompt).contains("{\"name\": \"weather\", \"parameters\": {\"city\": \"Paris\"}}")
                .contains("<|start_header_id|>ipython<|end_header_id|>\n\nsunny, 21 degrees<|eot_id|>");
    }

    @Test
    void mapsEveryRoleAndTextPartsToTheChatTemplate() {
        String messages = "[{\"role\": \"developer\", \"content\": \"d\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\","
                + " \"text\": \"a\"}, {\"type\": \"text\", \"text\": \"b\"}]}, {\"role\": \"assistant\", \"content\": \"c\"},"
                + user("show the roles") + "]";
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": " + messages + "}");
        assertThat(r.json().get("choices").get(0).get("message").get("content").stringValue()).isEqualTo("system,user,assistant,user");
        assertThat(model.prompts.getLast()).contains("user<|end_header_id|>\n\nab<|eot_id|>");
    }

    @Test
    void toolChoiceNoneOffersNoTools() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": [" + user("Weather in Paris?") + "], \"tools\": ["
                + WEATHER_TOOL + "], \"tool_choice\": \"none\"}");
        assertThat(r.json().get("choices").get(0).get("message").get("content").stringValue()).isEqualTo(Scripts.HELLO);
        assertThat(model.prompts.getLast()).doesNotContain("Environment: ipython");
    }

    @Test
    void maxTokensCutsTheReplyWithFinishReasonLength() {
        for (String field : List.of("max_tokens", "max_completion_tokens")) {
            ApiClient.Response r = api.post("/v1/chat/completions", "{\"" + field + "\": 5, \"messages\": [" + user("Hi") + "]}");
            JsonNode body = r.json();
            assertThat(body.get("choices").get(0).get("message").get("content").stringValue()).isEqualTo(Scripts.HELLO.substring(0, 5));
            assertThat(body.get("choices").get(0).get("finish_reason").stringValue()).isEqualTo("length");
            assertThat(body.get("usage").get("completion_tokens").intValue()).isEqualTo(5);
        }
    }

    @Test
    void aReplyWithoutMaxTokensIsCutAtTheServersCap() {
        // "talk at length" scripts 1200 tokens; the test configuration caps requests at 2000, the
        // context (4096) leaves more: the reply ends by itself. A smaller cap shows up as "length".
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": [" + user("talk at length") + "]}");
        assertThat(r.json().get("choices").get(0).get("message").get("content").stringValue()).isEqualTo(Scripts.LONG);
        assertThat(r.json().get("choices").get(0).get("finish_reason").stringValue()).isEqualTo("stop");
    }

    @Test
    void stopSequencesEndTheReplyBeforeThem() {
        ApiClient.Response one = api.post("/v1/chat/completions", "{\"stop\": \"from\", \"messages\": [" + user("Hi") + "]}");
        assertThat(one.json().get("choices").get(0).get("message").get("content").stringValue()).isEqualTo("Hello ");
        assertThat(one.json().get("choices").get(0).get("finish_reason").stringValue()).isEqualTo("stop");
        ApiClient.Response list = api.post("/v1/chat/completions", "{\"stop\": [\"zz\", \"Llamba\"], \"stream\": true,"
                + " \"messages\": [" + user("Hi") + "]}");
        StringBuilder text = new StringBuilder();
        for (String e : ApiClient.events(list.body())) {
            if (!e.equals("[DONE]")) {
                JsonNode delta = ApiClient.parse(e).get("choices").get(0).get("delta");
                if (delta.has("content")) {
                    text.append(delta.get("content").stringValue());
                }
            }
        }
        assertThat(text.toString()).isEqualTo("Hello from ");
    }

    @Test
    void acceptsEverySamplingFieldOpenAiAndVllmClientsSend() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": [" + user("Hi") + "], \"temperature\": 0.7,"
                + " \"top_p\": 0.9, \"top_k\": 40, \"min_p\": 0.05, \"seed\": 42, \"presence_penalty\": 0.1, \"frequency_penalty\": 0.1,"
                + " \"repetition_penalty\": 1.0, \"n\": 1, \"user\": \"u1\", \"logprobs\": false, \"response_format\": {\"type\": \"text\"},"
                + " \"parallel_tool_calls\": true, \"store\": false, \"metadata\": {\"k\": \"v\"}}");
        assertThat(r.status()).isEqualTo(200);
        // The scripted model gives its token logit 10 over 0: sampling at these settings still follows it.
        assertThat(r.json().get("choices").get(0).get("message").get("content").stringValue()).isEqualTo(Scripts.HELLO);
    }

    @Test
    void acceptsJsonSentWithAnyContentType() {
        ApiClient.Response r = api.post("/v1/chat/completions", "{\"messages\": [" + user("Hi") + "]}",
                "Content-Type", "application/x-www-form-urlencoded");
        assertThat(r.status()).isEqualTo(200);
    }
}
