package io.llamba.service.api.chat;

import io.llamba.service.ServiceProperties;
import io.llamba.service.api.ApiResponses;
import io.llamba.service.api.MaxTokens;
import io.llamba.service.api.ServedModel;
import io.llamba.service.api.error.ApiErrors;
import io.llamba.service.api.json.RequestJson;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.ai.LlambaChatOptions;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.core.scheduler.Scheduler;

import java.time.Instant;

/**
 * {@code POST /v1/chat/completions}: through the Llamba {@code ChatModel}, so every request is a
 * Spring AI chat call, observed as {@code gen_ai.client.operation} with its token usage, and guarded
 * by the model's bulkhead, circuit breaker and deadline. Streams with {@code stream: true}.
 */
@RestController
public class ChatCompletionsController {
    private static final String PROMPT_PARAM = "messages";

    private final ServedModel served;
    private final ApiResponses responses;
    private final ServiceProperties properties;
    private final Scheduler calls;

    public ChatCompletionsController(ServedModel served, ApiResponses responses, ServiceProperties properties,
                                     @Qualifier("llambaCallScheduler") Scheduler calls) {
        this.served = served;
        this.responses = responses;
        this.properties = properties;
        this.calls = calls;
    }

    @PostMapping("/v1/chat/completions")
    public Mono<Void> create(ServerHttpRequest httpRequest, ServerHttpResponse response) {
        long retryAfter = properties.retryAfterSeconds();
        // Parsing and tokenizing the prompt are CPU work: off the network threads.
        return ApiResponses.body(httpRequest).publishOn(Schedulers.parallel()).flatMap(body -> {
            ChatCompletionRequest request = ChatCompletionRequest.read(RequestJson.parse(body, responses.mapper()),
                    properties.getLimits(), responses.mapper());
            served.check(request.model());
            Prompt prompt = prompt(request);
            long created = Instant.now().getEpochSecond();
            LlambaChatModel model = served.chatModel();
            if (request.stream()) {
                ChatReplies.Stream stream = new ChatReplies.Stream(served.name(), created, request.includeUsage());
                Flux<Object> chunks = model.stream(prompt)
                        .concatMapIterable(stream::chunks)
                        .cast(Object.class)
                        .concatWith(Mono.fromSupplier(stream::usageChunk));
                return responses.eventStream(response, chunks, PROMPT_PARAM, retryAfter);
            }
            // call() blocks until the reply is whole: it runs on a virtual thread, which a client
            // that goes away interrupts (the subscription is cancelled), and the model then cancels
            // the generation.
            return Mono.fromCallable(() -> model.call(prompt))
                    .subscribeOn(calls)
                    .map((ChatResponse r) -> ChatReplies.completion(r, served.name(), created))
                    .flatMap(completion -> responses.json(response, completion));
        }).onErrorMap(e -> ApiErrors.from(e, PROMPT_PARAM, retryAfter));
    }

    /** The request as a Spring AI prompt, its max tokens settled once the prompt is counted. */
    private Prompt prompt(ChatCompletionRequest request) {
        LlambaChatModel model = served.chatModel();
        LlambaChatOptions options = request.sampling().applyTo(LlambaChatOptions.builder())
                .model(served.name())
                .maxTokens(request.sampling().maxTokens())
                .toolCallbacks(request.tools())
                .build();
        Prompt prompt = new Prompt(request.messages(), options);
        int promptTokens = model.promptTokens(prompt);
        Integer requested = request.sampling().maxTokens() != null ? request.sampling().maxTokens() : model.getOptions().getMaxTokens();
        ServiceProperties.Limits limits = properties.getLimits();
        Integer maxTokens = MaxTokens.resolve(requested, limits.getMaxTokens(), limits.getMaxPromptTokens(),
                served.engine().contextLimit(), promptTokens, PROMPT_PARAM);
        return new Prompt(request.messages(), options.mutate().maxTokens(maxTokens).build());
    }
}
