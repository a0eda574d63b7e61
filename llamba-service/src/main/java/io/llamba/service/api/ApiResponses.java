package io.llamba.service.api;

import io.llamba.service.api.error.ApiErrors;
import io.llamba.service.api.error.ApiException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Writes API answers: a JSON body, or a stream of server-sent events ({@code data: JSON} frames,
 * each flushed, ending with {@code data: [DONE]}).
 * <p>
 * A stream commits its 200 status only with its first frame: a request refused before anything was
 * generated (overload, an invalid prompt) still gets its own status and JSON error. An error after
 * the first frame can no longer change the status; it is sent as a last {@code data: {"error":
 * ...}} frame before {@code [DONE]}, so a client always learns how its stream ended. When the client
 * goes away, the subscription is cancelled, which cancels the generation.
 */
public final class ApiResponses {
    public static final MediaType EVENT_STREAM = new MediaType("text", "event-stream", StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final JsonMapper mapper;

    public ApiResponses(JsonMapper mapper) {
        this.mapper = mapper;
    }

    public JsonMapper mapper() {
        return mapper;
    }

    /**
     * The request body as text, whatever its declared content type (clients such as curl -d send
     * JSON as a form): it is parsed as JSON in any case. Empty when there is none. The size limit is
     * the request-size filter's.
     */
    public static Mono<String> body(ServerHttpRequest request) {
        return DataBufferUtils.join(request.getBody())
                .map(buffer -> {
                    try {
                        return buffer.toString(StandardCharsets.UTF_8);
                    } finally {
                        DataBufferUtils.release(buffer);
                    }
                })
                .defaultIfEmpty("");
    }

    public Mono<Void> json(ServerHttpResponse response, Object body) {
        byte[] bytes = mapper.writeValueAsBytes(body);
        response.setStatusCode(HttpStatus.OK);
        response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
        response.getHeaders().setContentLength(bytes.length);
        return response.writeWith(Mono.fromSupplier(() -> response.bufferFactory().wrap(bytes)));
    }

    /**
     * Streams {@code events} as server-sent events.
     *
     * @param promptParam       names the prompt field in errors ("messages" or "prompt")
     * @param retryAfterSeconds for refusals at capacity
     */
    public Mono<Void> eventStream(ServerHttpResponse response, Flux<?> events, String promptParam, long retryAfterSeconds) {
        AtomicBoolean started = new AtomicBoolean();
        Flux<byte[]> frames = events
                .map(this::frame)
                .doOnNext(f -> started.set(true))
                .concatWith(Mono.just(DONE))
                .onErrorResume(e -> {
                    ApiException error = ApiErrors.from(e, promptParam, retryAfterSeconds);
                    if (!started.get()) {
                        return Mono.error(error); // nothing sent yet: the error handler answers with its status
                    }
                    return Flux.just(frame(error.toError().body()), DONE);
                });
        HttpHeaders headers = response.getHeaders();
        headers.setContentType(EVENT_STREAM);
        headers.setCacheControl("no-cache");
        headers.set("X-Accel-Buffering", "no"); // a proxy such as nginx must pass events on at once
        return response.writeAndFlushWith(frames.map(f -> Mono.just(response.bufferFactory().wrap(f))));
    }

    private byte[] frame(Object event) {
        byte[] json = mapper.writeValueAsBytes(event);
        byte[] out = new byte[json.length + 8];
        System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, out, 0, 6);
        System.arraycopy(json, 0, out, 6, json.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        return out;
    }
}
