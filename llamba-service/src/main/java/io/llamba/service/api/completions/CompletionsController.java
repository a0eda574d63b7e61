package io.llamba.service.api.completions;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.llamba.service.ServiceProperties;
import io.llamba.service.api.ApiResponses;
import io.llamba.service.api.MaxTokens;
import io.llamba.service.api.SamplingFields;
import io.llamba.service.api.ServedModel;
import io.llamba.service.api.Usage;
import io.llamba.service.api.error.ApiErrors;
import io.llamba.service.api.error.ApiException;
import io.llamba.service.api.json.RequestJson;
import io.llamba.spring.ai.LlambaChatOptions;
import org.jspecify.annotations.Nullable;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.JsonNode;

import java.time.Instant;
import java.util.List;

/**
 * {@code POST /v1/completions}: OpenAI's legacy text completions, a raw prompt continued (no chat
 * template). As in OpenAI's API, {@code max_tokens} defaults to 16.
 */
@RestController
public class CompletionsController {
    static final int DEFAULT_MAX_TOKENS = 16;
    private static final String PROMPT_PARAM = "prompt";

    private final ServedModel served;
    private final TextCompletions completions;
    private final ApiResponses responses;
    private final ServiceProperties properties;

    public CompletionsController(ServedModel served, TextCompletions completions, ApiResponses responses, ServiceProperties properties) {
        this.served = served;
        this.completions = completions;
        this.responses = responses;
        this.properties = properties;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Completion(String id, String object, long created, String model, List<Choice> choices, @Nullable Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Choice(String text, int index, @Nullable Object logprobs, @JsonProperty("finish_reason") @Nullable String finishReason) {
    }

    @PostMapping("/v1/completions")
    public Mono<Void> create(ServerHttpRequest httpRequest, ServerHttpResponse response) {
        long retryAfter = properties.retryAfterSeconds();
        // Parsing and tokenizing the prompt are CPU work: off the network threads.
        return ApiResponses.body(httpRequest).publishOn(Schedulers.parallel()).flatMap(body -> {
            RequestJson json = RequestJson.parse(body, responses.mapper());
            served.check(json.string("model").orElse(null));
            String prompt = prompt(json);
            rejectUnsupported(json);
            SamplingFields sampling = SamplingFields.read(json, properties.getLimits());
            boolean stream = json.bool("stream").orElse(false);
            boolean includeUsage = json.object("stream_options").flatMap(o -> o.bool("include_usage")).orElse(false);

            int[] ids = completions.encode(prompt);
            ServiceProperties.Limits limits = properties.getLimits();
            Integer requested = sampling.maxTokens() != null ? sampling.maxTokens() : Integer.valueOf(DEFAULT_MAX_TOKENS);
            Integer maxTokens = MaxTokens.resolve(requested, limits.getMaxTokens(), limits.getMaxPromptTokens(),
                    served.engine().contextLimit(), ids.length, PROMPT_PARAM);
            LlambaChatOptions options = sampling.applyTo(LlambaChatOptions.builder()).model(served.name()).maxTokens(maxTokens).build();
            long created = Instant.now().getEpochSecond();
            Flux<TextCompletions.Piece> pieces = completions.generate(prompt, ids, options, stream);
            if (stream) {
                Flux<Object> chunks = pieces.concatMap(p -> {
                    Completion chunk = new Completion(p.id(), "text_completion", created, served.name(),
                            List.of(new Choice(p.text(), 0, null, p.finishReason())), null);
                    if (p.finishReason() == null || !includeUsage) {
                        return Flux.just(chunk);
                    }
                    return Flux.just(chunk, new Completion(p.id(), "text_completion", created, served.name(), List.of(),
                            Usage.of(p.promptTokens(), p.completionTokens())));
                });
                return responses.eventStream(response, chunks, PROMPT_PARAM, retryAfter);
            }
            return pieces.collectList().flatMap(all -> {
                StringBuilder text = new StringBuilder();
                all.forEach(p -> text.append(p.text()));
                TextCompletions.Piece last = all.getLast();
                return responses.json(response, new Completion(last.id(), "text_completion", created, served.name(),
                        List.of(new Choice(text.toString(), 0, null, last.finishReason())),
                        Usage.of(last.promptTokens(), last.completionTokens())));
            });
        }).onErrorMap(e -> ApiErrors.from(e, PROMPT_PARAM, retryAfter));
    }

    /** A string, or an array holding one string (one prompt per request). */
    private static String prompt(RequestJson json) {
        JsonNode p = json.raw(PROMPT_PARAM);
        if (p == null) {
            throw json.missing(PROMPT_PARAM);
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isString()) {
            return p.get(0).stringValue();
        }
        if (p.isArray()) {
            throw json.unsupported(PROMPT_PARAM, "prompt must be a string, or an array of one string: this server completes one"
                    + " text prompt per request.");
        }
        String text = json.requiredString(PROMPT_PARAM);
        if (text.isEmpty()) {
            throw ApiException.invalid(PROMPT_PARAM, "invalid_value", "prompt is empty.");
        }
        return text;
    }

    private static void rejectUnsupported(RequestJson json) {
        if (json.bool("echo").orElse(false)) {
            throw json.unsupported("echo", "echo is not supported by this server.");
        }
        if (!json.string("suffix").orElse("").isEmpty()) {
            throw json.unsupported("suffix", "suffix is not supported by this server.");
        }
        json.integer("best_of").ifPresent(n -> {
            if (n != 1) {
                throw json.unsupported("best_of", "best_of must be 1 on this server, got " + n + ".");
            }
        });
    }
}
