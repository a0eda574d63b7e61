package io.llamba.service.api.completions;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineClosedException;
import io.llamba.engine.generate.FinishReason;
import io.llamba.engine.generate.GenerationHandle;
import io.llamba.engine.generate.GenerationListener;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.spring.ai.GenerationTimeoutException;
import io.llamba.spring.ai.LlambaChatModel;
import io.llamba.spring.ai.LlambaChatOptions;
import io.llamba.spring.ai.LlambaResilience;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.observation.ChatModelObservationContext;
import org.springframework.ai.chat.observation.ChatModelObservationDocumentation;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Schedulers;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Text completions: a raw prompt continued by the engine, no chat template. The ChatModel renders
 * chats only, so these go to the engine directly, but the way a chat call does: the same
 * Resilience4j guards (bulkhead, circuit breaker, deadline), the model's default sampling options,
 * and a Spring AI chat-model observation ({@code gen_ai.client.operation} with
 * {@code gen_ai.operation.name=text_completion}, and the token-usage meter).
 */
public final class TextCompletions {
    private static final TextCompletionObservationConvention CONVENTION = new TextCompletionObservationConvention();

    private final LlambaChatModel chatModel;
    private final ObservationRegistry observations;
    private final AtomicLong responseIds = new AtomicLong();

    public TextCompletions(LlambaChatModel chatModel, ObservationRegistry observations) {
        this.chatModel = chatModel;
        this.observations = observations;
    }

    /** What the engine produces for one completion: text deltas, then one last piece with the outcome. */
    public record Piece(String id, String text, @Nullable String finishReason, int promptTokens, int completionTokens) {
    }

    /** The prompt's token ids: {@code <|begin_of_text|>} and the text, special-token text taken literally. */
    public int[] encode(String prompt) {
        Tokenizer tokenizer = chatModel.getEngine().tokenizer();
        int[] text = tokenizer.encode(prompt);
        int[] ids = new int[text.length + 1];
        ids[0] = tokenizer.beginOfText();
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /**
     * The completion as it is generated. Nothing starts before subscription; cancelling the
     * subscription cancels the generation and frees its slot.
     */
    public Flux<Piece> generate(String prompt, int[] ids, LlambaChatOptions requestOptions, boolean streaming) {
        return Flux.defer(() -> {
            LlambaChatOptions options = requestOptions.withDefaults(chatModel.getOptions());
            LlambaResilience resilience = chatModel.getResilience();
            Integer maxTokens = options.getMaxTokens();
            GenerationRequest request = new GenerationRequest(ids, options.toSamplingParams(), maxTokens == null ? 0 : maxTokens,
                    options.getStopSequences(), resilience.timeout());
            String id = "cmpl-llamba-" + responseIds.incrementAndGet();
            ChatModelObservationContext context = ChatModelObservationContext.builder()
                    .prompt(new Prompt(new UserMessage(prompt), options))
                    .provider(LlambaChatModel.PROVIDER)
                    .streaming(streaming)
                    .build();
            Observation observation = ChatModelObservationDocumentation.CHAT_MODEL_OPERATION
                    .observation(null, CONVENTION, () -> context, observations)
                    .start();
            AtomicBoolean stopped = new AtomicBoolean();
            Runnable stop = () -> {
                if (stopped.compareAndSet(false, true)) {
                    observation.stop();
                }
            };
            return Flux.<Piece>create(sink -> start(chatModel.getEngine(), request, resilience, id, sink), FluxSink.OverflowStrategy.BUFFER)
                    // The engine thread only queues pieces; JSON and network writes happen elsewhere.
                    .publishOn(Schedulers.parallel())
                    .doOnNext(p -> {
                        if (p.finishReason() != null) {
                            context.setResponse(response(id, p));
                        }
                    })
                    .doOnError(observation::error)
                    .doOnTerminate(stop)
                    .doOnCancel(stop);
        });
    }

    private ChatResponse response(String id, Piece last) {
        return new ChatResponse(List.of(new Generation(new AssistantMessage(""),
                ChatGenerationMetadata.builder().finishReason(last.finishReason()).build())),
                ChatResponseMetadata.builder().id(id).model(chatModel.getModelName())
                        .usage(new DefaultUsage(last.promptTokens(), last.completionTokens())).build());
    }

    private static void start(Engine engine, GenerationRequest request, LlambaResilience resilience, String id, FluxSink<Piece> sink) {
        LlambaResilience.Permit permit;
        try {
            permit = resilience.acquire();
        } catch (RuntimeException e) {
            sink.error(e);
            return;
        }
        GenerationHandle handle;
        try {
            handle = engine.submit(request, new GenerationListener() {
                @Override
                public void onDelta(String text) {
                    sink.next(new Piece(id, text, null, 0, 0));
                }

                @Override
                public void onComplete(GenerationResult result) {
                    FinishReason reason = result.finishReason();
                    switch (reason) {
                        case DEADLINE -> {
                            GenerationTimeoutException timeout = new GenerationTimeoutException(request.timeout());
                            permit.failed(timeout);
                            sink.error(timeout);
                        }
                        case CANCELLED -> {
                            permit.released();
                            if (!sink.isCancelled()) {
                                sink.error(engine.isAccepting() ? new CancellationException("the generation was cancelled")
                                        : new EngineClosedException("the engine shut down before the generation finished"));
                            }
                        }
                        default -> {
                            permit.succeeded();
                            String finish = reason == FinishReason.LENGTH ? "length" : "stop";
                            sink.next(new Piece(id, "", finish, result.promptTokens(), result.completionTokens()));
                            sink.complete();
                        }
                    }
                }

                @Override
                public void onError(Throwable error) {
                    permit.failed(error);
                    sink.error(error);
                }
            });
        } catch (RuntimeException e) {
            permit.released();
            sink.error(e);
            return;
        }
        sink.onCancel(() -> {
            handle.cancel();
            permit.released();
        });
    }
}
