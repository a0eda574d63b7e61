package io.llamba.spring.ai;

import io.llamba.engine.chat.Llama3Tools;
import io.llamba.engine.chat.ToolCall;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineClosedException;
import io.llamba.engine.generate.FinishReason;
import io.llamba.engine.generate.GenerationHandle;
import io.llamba.engine.generate.GenerationListener;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.engine.tokenizer.ChatMessage;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.model.MessageAggregator;
import org.springframework.ai.chat.observation.ChatModelObservationContext;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.chat.observation.ChatModelObservationDocumentation;
import org.springframework.ai.chat.observation.DefaultChatModelObservationConvention;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.util.Assert;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Spring AI {@link ChatModel} running Llamba in-process on an {@link Engine}.
 * <p>
 * Messages are rendered with the Llama 3 chat template; tools offered in the options are written
 * into the prompt in the Llama 3.1 JSON tool-calling format, and a reply made entirely of calls comes
 * back as {@link AssistantMessage.ToolCall}s with finish reason {@value #FINISH_TOOL_CALLS}, for
 * Spring AI's tool-calling advisor to execute (this model never executes tools itself). A reply that
 * only looks like a call but is malformed is plain text.
 * <p>
 * Requests use the prompt's options, their unset values taken from this model's defaults. Every
 * call and stream is observed as Spring AI's {@code gen_ai.client.operation} with provider
 * {@value #PROVIDER}, and guarded by the {@link LlambaResilience} given.
 */
public class LlambaChatModel implements ChatModel {
    /** The provider name in observations, and the value of {@code spring.ai.model.chat} that selects this model. */
    public static final String PROVIDER = "llamba";
    public static final String FINISH_STOP = "stop";
    public static final String FINISH_LENGTH = "length";
    public static final String FINISH_TOOL_CALLS = "tool_calls";

    private static final ChatModelObservationConvention DEFAULT_OBSERVATION_CONVENTION = new DefaultChatModelObservationConvention();
    private static final ToolCallingManager DEFAULT_TOOL_CALLING_MANAGER = ToolCallingManager.builder().build();
    /** How long a blocking call waits past the deadline for the engine to report it, before giving up itself. */
    private static final Duration DEADLINE_GRACE = Duration.ofSeconds(5);

    private final Engine engine;
    private final LlambaChatOptions defaultOptions;
    private final String modelName;
    private final ToolCallingManager toolCallingManager;
    private final ObservationRegistry observationRegistry;
    private final LlambaResilience resilience;
    private final Scheduler streamScheduler;
    private ChatModelObservationConvention observationConvention = DEFAULT_OBSERVATION_CONVENTION;
    /** Response ids (and tool call ids), known before the engine accepts a request. */
    private final AtomicLong responseIds = new AtomicLong();

    protected LlambaChatModel(Builder b) {
        Assert.notNull(b.engine, "engine must not be null");
        this.engine = b.engine;
        this.modelName = b.modelName != null ? b.modelName : engine.modelInfo().name();
        LlambaChatOptions options = b.options != null ? b.options : LlambaChatOptions.builder().build();
        this.defaultOptions = options.getModel() != null ? options : options.mutate().model(modelName).build();
        this.toolCallingManager = b.toolCallingManager != null ? b.toolCallingManager : DEFAULT_TOOL_CALLING_MANAGER;
        this.observationRegistry = b.observationRegistry;
        this.resilience = b.resilience;
        this.streamScheduler = b.streamScheduler;
        // Fail at construction, not at the first request, when the defaults are out of range.
        defaultOptions.toSamplingParams();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Engine getEngine() {
        return engine;
    }

    /** The name requests may give as their model (any other is refused). */
    public String getModelName() {
        return modelName;
    }

    public LlambaResilience getResilience() {
        return resilience;
    }

    @Override
    public LlambaChatOptions getOptions() {
        return defaultOptions;
    }

    public void setObservationConvention(ChatModelObservationConvention observationConvention) {
        Assert.notNull(observationConvention, "observationConvention cannot be null");
        this.observationConvention = observationConvention;
    }

    /**
     * How many tokens the prompt comes to once rendered (chat template and offered tools included),
     * resolving its options as a request would: for limits a server checks before generating.
     *
     * @throws InvalidRequestException as {@link #call} would for the same prompt
     */
    public int promptTokens(Prompt prompt) {
        return prepare(prompt).generation().prompt().length;
    }

    // ------------------------------------------------------------------ call

    @Override
    public ChatResponse call(Prompt prompt) {
        PreparedRequest request = prepare(prompt);
        ChatModelObservationContext context = ChatModelObservationContext.builder()
                .prompt(request.prompt())
                .provider(PROVIDER)
                .build();
        return ChatModelObservationDocumentation.CHAT_MODEL_OPERATION
                .observation(observationConvention, DEFAULT_OBSERVATION_CONVENTION, () -> context, observationRegistry)
                .observe(() -> {
                    ChatResponse response = generate(request);
                    context.setResponse(response);
                    return response;
                });
    }

    private ChatResponse generate(PreparedRequest request) {
        long id = responseIds.incrementAndGet();
        LlambaResilience.Permit permit = resilience.acquire();
        GenerationHandle handle;
        try {
            handle = engine.submit(request.generation(), null);
        } catch (RuntimeException e) {
            permit.released(); // refused before it started: says nothing about the backend
            throw e;
        }
        GenerationResult result;
        try {
            Duration timeout = request.generation().timeout();
            result = timeout == null ? handle.result().get()
                    : handle.result().get(timeout.plus(DEADLINE_GRACE).toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // The engine did not even report the deadline (a hung backend): give up on it.
            handle.cancel();
            GenerationTimeoutException timeout = new GenerationTimeoutException(request.generation().timeout());
            permit.failed(timeout);
            throw timeout;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            permit.failed(cause);
            throw cause instanceof RuntimeException re ? re : new IllegalStateException("generation failed: " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            handle.cancel();
            permit.released();
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the generation; it was cancelled");
        }
        if (result.finishReason() == FinishReason.DEADLINE) {
            GenerationTimeoutException timeout = new GenerationTimeoutException(request.generation().timeout());
            permit.failed(timeout);
            throw timeout;
        }
        if (result.finishReason() == FinishReason.CANCELLED) {
            permit.released();
            throw cancelledByEngine();
        }
        permit.succeeded();
        Reply reply = Reply.of(result.text(), request.toolsOffered());
        return new ChatResponse(List.of(new Generation(reply.message(id), generationMetadata(reply.finishReason(result)))),
                responseMetadata(id, result));
    }

    private RuntimeException cancelledByEngine() {
        return engine.isAccepting() ? new CancellationException("the generation was cancelled")
                : new EngineClosedException("the engine shut down before the generation finished");
    }

    // ------------------------------------------------------------------ stream

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        return Flux.deferContextual(contextView -> {
            PreparedRequest request = prepare(prompt);
            ChatModelObservationContext context = ChatModelObservationContext.builder()
                    .prompt(request.prompt())
                    .provider(PROVIDER)
                    .streaming(true)
                    .build();
            Observation observation = ChatModelObservationDocumentation.CHAT_MODEL_OPERATION.observation(
                    observationConvention, DEFAULT_OBSERVATION_CONVENTION, () -> context, observationRegistry);
            Observation parent = contextView.getOrDefault(ObservationThreadLocalAccessor.KEY, null);
            observation.parentObservation(parent);
            Observation.Scope scope = parent != null ? parent.openScope() : Observation.Scope.NOOP;
            try {
                observation.start();
            } finally {
                scope.close();
            }
            Flux<ChatResponse> chunks = Flux.<ChatResponse>create(sink -> startStream(request, sink), FluxSink.OverflowStrategy.BUFFER)
                    // The engine thread only queues chunks; subscribers run elsewhere and can never stall a step.
                    .publishOn(streamScheduler);
            // The observation stops once the aggregated response is in its context, and before the end
            // of the stream reaches the subscriber, so a caller that saw the end sees it stopped.
            AtomicBoolean stopped = new AtomicBoolean();
            Runnable stop = () -> {
                if (stopped.compareAndSet(false, true)) {
                    observation.stop();
                }
            };
            return new MessageAggregator().aggregate(chunks, context::setResponse)
                    .doOnError(observation::error)
                    .doOnTerminate(stop)
                    .doOnCancel(stop)
                    .contextWrite(ctx -> ctx.put(ObservationThreadLocalAccessor.KEY, observation));
        });
    }

    private void startStream(PreparedRequest request, FluxSink<ChatResponse> sink) {
        LlambaResilience.Permit permit;
        try {
            permit = resilience.acquire();
        } catch (RuntimeException e) {
            sink.error(e);
            return;
        }
        StreamRelay relay = new StreamRelay(sink, request, permit, responseIds.incrementAndGet());
        GenerationHandle handle;
        try {
            handle = engine.submit(request.generation(), relay);
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

    /** Turns engine callbacks (on the engine thread) into chunks; holds back text that may be a tool call. */
    private final class StreamRelay implements GenerationListener {
        private final FluxSink<ChatResponse> sink;
        private final PreparedRequest request;
        private final LlambaResilience.Permit permit;
        private final StringBuilder held = new StringBuilder();
        /** While tools are offered and the reply so far may still be a call, text is held, not sent. */
        private boolean holding;
        private final long id;

        StreamRelay(FluxSink<ChatResponse> sink, PreparedRequest request, LlambaResilience.Permit permit, long id) {
            this.id = id;
            this.sink = sink;
            this.request = request;
            this.permit = permit;
            this.holding = request.toolsOffered();
        }

        @Override
        public void onDelta(String text) {
            if (holding) {
                held.append(text);
                if (Reply.mayBeToolCall(held)) {
                    return;
                }
                holding = false;
                text = held.toString();
                held.setLength(0);
            }
            sink.next(new ChatResponse(List.of(new Generation(new AssistantMessage(text))), chunkMetadata(id)));
        }

        @Override
        public void onComplete(GenerationResult result) {
            switch (result.finishReason()) {
                case DEADLINE -> {
                    GenerationTimeoutException timeout = new GenerationTimeoutException(request.generation().timeout());
                    permit.failed(timeout);
                    sink.error(timeout);
                }
                case CANCELLED -> {
                    permit.released();
                    if (!sink.isCancelled()) {
                        sink.error(cancelledByEngine());
                    }
                }
                default -> {
                    permit.succeeded();
                    Reply reply = Reply.of(held.toString(), request.toolsOffered() && !held.isEmpty());
                    if (reply.toolCalls().isEmpty() && !held.isEmpty()) {
                        sink.next(new ChatResponse(List.of(new Generation(new AssistantMessage(held.toString()))), chunkMetadata(id)));
                    }
                    AssistantMessage last = reply.toolCalls().isEmpty() ? new AssistantMessage("") : reply.message(id);
                    sink.next(new ChatResponse(List.of(new Generation(last, generationMetadata(reply.finishReason(result)))),
                            responseMetadata(id, result)));
                    sink.complete();
                }
            }
        }

        @Override
        public void onError(Throwable error) {
            permit.failed(error);
            sink.error(error);
        }
    }

    // ------------------------------------------------------------------ request and response

    /** A prompt made ready for the engine: the options resolved, the messages rendered and encoded. */
    private record PreparedRequest(Prompt prompt, GenerationRequest generation, boolean toolsOffered) {
    }

    private PreparedRequest prepare(Prompt prompt) {
        LlambaChatOptions options = LlambaChatOptions.from(prompt.getOptions()).withDefaults(defaultOptions);
        if (options.getModel() != null && !options.getModel().equals(modelName)) {
            throw new InvalidRequestException("model", "model '" + options.getModel() + "' is not served here; this ChatModel runs '"
                    + modelName + "' (give that name, or none)");
        }
        Integer maxTokens = options.getMaxTokens();
        if (maxTokens != null && maxTokens < 1) {
            throw new InvalidRequestException("max_tokens", "max_tokens must be positive, got " + maxTokens);
        }
        var tools = toolCallingManager.resolveToolDefinitions(options);
        List<ChatMessage> messages = LlambaPrompts.messages(prompt.getInstructions(), tools);
        int[] ids = LlambaPrompts.encode(engine.chatTemplate(), messages);
        GenerationRequest generation = new GenerationRequest(ids, options.toSamplingParams(), maxTokens == null ? 0 : maxTokens,
                options.getStopSequences(), resilience.timeout());
        return new PreparedRequest(prompt.mutate().chatOptions(options).build(), generation, !tools.isEmpty());
    }

    /** A finished reply: its text, or the tool calls it consists of. */
    private record Reply(String text, List<ToolCall> toolCalls) {
        static Reply of(String text, boolean parseToolCalls) {
            List<ToolCall> calls = parseToolCalls ? Llama3Tools.parse(text).orElse(List.of()) : List.of();
            return new Reply(text, calls);
        }

        /** Whether text received so far could still turn out to be a tool call (JSON starts with '{' or '['). */
        static boolean mayBeToolCall(CharSequence text) {
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (!Character.isWhitespace(c)) {
                    return c == '{' || c == '[';
                }
            }
            return true;
        }

        AssistantMessage message(long requestId) {
            if (toolCalls.isEmpty()) {
                return new AssistantMessage(text);
            }
            List<AssistantMessage.ToolCall> calls = new ArrayList<>(toolCalls.size());
            for (int i = 0; i < toolCalls.size(); i++) {
                ToolCall c = toolCalls.get(i);
                calls.add(new AssistantMessage.ToolCall("call_" + requestId + "_" + i, "function", c.name(), c.arguments()));
            }
            return AssistantMessage.builder().content("").toolCalls(calls).build();
        }

        String finishReason(GenerationResult result) {
            if (!toolCalls.isEmpty()) {
                return FINISH_TOOL_CALLS;
            }
            return result.finishReason() == FinishReason.LENGTH ? FINISH_LENGTH : FINISH_STOP;
        }
    }

    private static ChatGenerationMetadata generationMetadata(String finishReason) {
        return ChatGenerationMetadata.builder().finishReason(finishReason).build();
    }

    private ChatResponseMetadata chunkMetadata(long id) {
        return ChatResponseMetadata.builder().id(responseId(id)).model(modelName).build();
    }

    private ChatResponseMetadata responseMetadata(long id, GenerationResult r) {
        return ChatResponseMetadata.builder()
                .id(responseId(id))
                .model(modelName)
                .usage(new DefaultUsage(r.promptTokens(), r.completionTokens()))
                .keyValue("queue-time", Duration.ofNanos(r.queueNanos()))
                .keyValue("time-to-first-token", Duration.ofNanos(r.timeToFirstTokenNanos()))
                .keyValue("total-time", Duration.ofNanos(r.totalNanos()))
                .build();
    }

    private static String responseId(long id) {
        return "llamba-" + id;
    }

    // ------------------------------------------------------------------ builder

    public static final class Builder {
        private @Nullable Engine engine;
        private @Nullable LlambaChatOptions options;
        private @Nullable String modelName;
        private @Nullable ToolCallingManager toolCallingManager;
        private ObservationRegistry observationRegistry = ObservationRegistry.NOOP;
        private LlambaResilience resilience = LlambaResilience.none();
        private Scheduler streamScheduler = Schedulers.boundedElastic();

        private Builder() {
        }

        /** The engine that generates (required). The model does not own it: closing is the caller's. */
        public Builder engine(Engine engine) {
            this.engine = engine;
            return this;
        }

        /** Default options, used where a prompt's options leave a value unset. */
        public Builder options(LlambaChatOptions options) {
            this.options = options;
            return this;
        }

        /** The name requests may give as their model; default: the loaded model's name. */
        public Builder modelName(@Nullable String modelName) {
            this.modelName = modelName;
            return this;
        }

        /** Resolves the tool definitions of the options (tools are executed by the caller's advisor, not here). */
        public Builder toolCallingManager(ToolCallingManager toolCallingManager) {
            this.toolCallingManager = toolCallingManager;
            return this;
        }

        public Builder observationRegistry(ObservationRegistry observationRegistry) {
            this.observationRegistry = observationRegistry;
            return this;
        }

        public Builder resilience(LlambaResilience resilience) {
            this.resilience = resilience;
            return this;
        }

        /** Where streamed chunks are delivered; default {@link Schedulers#boundedElastic()}. */
        public Builder streamScheduler(Scheduler streamScheduler) {
            this.streamScheduler = streamScheduler;
            return this;
        }

        public LlambaChatModel build() {
            return new LlambaChatModel(this);
        }
    }
}
