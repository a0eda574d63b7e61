package io.llamba.service.api.error;

import io.github.resilience4j.bulkhead.BulkheadFullException;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.llamba.engine.generate.EngineClosedException;
import io.llamba.engine.generate.EngineOverloadedException;
import io.llamba.engine.generate.InvalidRequestException;
import io.llamba.spring.ai.GenerationTimeoutException;
import org.jspecify.annotations.Nullable;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.MethodNotAllowedException;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebInputException;
import org.springframework.web.server.UnsupportedMediaTypeStatusException;

import java.util.UUID;
import java.util.concurrent.CancellationException;

/**
 * Every failure a request can meet, as the API error a client gets. Known failures keep their
 * message (it names the field, the limit or what to do); anything unexpected becomes a 500 whose
 * message carries only an id to find the details in the server log: no exception class, stack
 * trace, path or configuration ever reaches a client.
 */
public final class ApiErrors {
    private static final System.Logger LOG = System.getLogger(ApiErrors.class.getName());

    private ApiErrors() {
    }

    /**
     * The API error for {@code error}.
     *
     * @param promptParam the request field holding the prompt ("messages" or "prompt"), named when
     *                    the engine refuses the prompt itself
     * @param retryAfterSeconds Retry-After for refusals at capacity
     */
    public static ApiException from(Throwable error, @Nullable String promptParam, long retryAfterSeconds) {
        return switch (error) {
            case ApiException api -> api;
            case InvalidRequestException invalid -> invalid(invalid, promptParam);
            case EngineOverloadedException e -> new ApiException(HttpStatus.TOO_MANY_REQUESTS, ApiException.RATE_LIMIT, null,
                    "engine_overloaded", "The server is at capacity (" + e.getMessage() + "); retry after " + retryAfterSeconds + " s.",
                    retryAfterSeconds, e);
            case BulkheadFullException e -> new ApiException(HttpStatus.TOO_MANY_REQUESTS, ApiException.RATE_LIMIT, null,
                    "too_many_concurrent_requests", "The server is at capacity: too many generations in flight; retry after "
                    + retryAfterSeconds + " s.", retryAfterSeconds, e);
            case CallNotPermittedException e -> new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ApiException.SERVER, null,
                    "backend_unavailable", "Generations have been failing, so the server refuses new ones for a while"
                    + " (circuit breaker open); retry later.", retryAfterSeconds, e);
            case EngineClosedException e -> new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ApiException.SERVER, null,
                    "shutting_down", "The server is shutting down and accepts no new requests.", retryAfterSeconds, e);
            case GenerationTimeoutException e -> new ApiException(HttpStatus.GATEWAY_TIMEOUT, ApiException.SERVER, null,
                    "generation_timeout", "The generation " + e.getMessage().replaceFirst("^the generation ", ""), 0, e);
            case CancellationException e -> new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ApiException.SERVER, null,
                    "cancelled", "The generation was cancelled by the server.", retryAfterSeconds, e);
            case DataBufferLimitException e -> new ApiException(HttpStatus.CONTENT_TOO_LARGE, ApiException.INVALID_REQUEST, null,
                    "request_too_large", "The request body is larger than this server accepts (" + e.getMessage() + ").", 0, e);
            case UnsupportedMediaTypeStatusException e -> new ApiException(HttpStatus.UNSUPPORTED_MEDIA_TYPE,
                    ApiException.INVALID_REQUEST, null, "unsupported_media_type", "Send the request as application/json.", 0, e);
            case MethodNotAllowedException e -> new ApiException(HttpStatus.METHOD_NOT_ALLOWED, ApiException.INVALID_REQUEST, null,
                    "method_not_allowed", "Method " + e.getHttpMethod() + " is not allowed here; use " + e.getSupportedMethods() + ".", 0, e);
            case ServerWebInputException e -> ApiException.invalid(null, "invalid_request", "The request could not be read: "
                    + (e.getReason() == null ? "bad input" : e.getReason()));
            case ResponseStatusException e when e.getStatusCode().value() == 404 -> new ApiException(HttpStatus.NOT_FOUND,
                    ApiException.NOT_FOUND, null, "not_found", "No such endpoint. The API is under /v1: POST /v1/chat/completions,"
                    + " POST /v1/completions, GET /v1/models.", 0, e);
            case ResponseStatusException e when e.getStatusCode().is4xxClientError() -> new ApiException(
                    HttpStatus.valueOf(e.getStatusCode().value()), ApiException.INVALID_REQUEST, null, null,
                    e.getReason() == null ? HttpStatus.valueOf(e.getStatusCode().value()).getReasonPhrase() : e.getReason(), 0, e);
            default -> internal(error);
        };
    }

    private static ApiException invalid(InvalidRequestException e, @Nullable String promptParam) {
        String field = e.field();
        String message = e.getMessage() == null ? "invalid request" : e.getMessage();
        boolean context = message.contains("context limit");
        String param = switch (field == null ? "" : field) {
            case "prompt" -> promptParam;
            case "options", "" -> null;
            default -> field.startsWith("messages") && promptParam != null && !promptParam.equals("messages") ? promptParam : field;
        };
        String code = context ? "context_length_exceeded" : "invalid_value";
        if ("model".equals(field)) {
            return new ApiException(HttpStatus.NOT_FOUND, ApiException.INVALID_REQUEST, "model", "model_not_found", message, 0, e);
        }
        return ApiException.invalid(param, code, message.endsWith(".") ? message : message + ".");
    }

    private static ApiException internal(Throwable error) {
        String id = UUID.randomUUID().toString().substring(0, 8);
        LOG.log(System.Logger.Level.ERROR, "request failed (error id " + id + ")", error);
        return new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, ApiException.SERVER, null, "internal_error",
                "The server failed to answer this request (error id " + id + ", in the server log).", 0, error);
    }
}
