package io.llamba.service.api.error;

import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;

/**
 * An API error as OpenAI reports it: an HTTP status and {@code {"error": {"message", "type", "param",
 * "code"}}}. {@code retryAfterSeconds} (positive) adds a Retry-After header.
 */
public class ApiException extends RuntimeException {
    public static final String INVALID_REQUEST = "invalid_request_error";
    public static final String AUTHENTICATION = "authentication_error";
    public static final String NOT_FOUND = "not_found_error";
    public static final String RATE_LIMIT = "rate_limit_error";
    public static final String SERVER = "server_error";

    private final HttpStatus status;
    private final String type;
    private final @Nullable String param;
    private final @Nullable String code;
    private final long retryAfterSeconds;

    public ApiException(HttpStatus status, String type, @Nullable String param, @Nullable String code, String message,
                        long retryAfterSeconds, @Nullable Throwable cause) {
        super(message, cause);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: the request as given cannot be served; {@code param} names the field. */
    public static ApiException invalid(@Nullable String param, String code, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, INVALID_REQUEST, param, code, message, 0, null);
    }

    public HttpStatus status() {
        return status;
    }

    public String type() {
        return type;
    }

    public @Nullable String param() {
        return param;
    }

    public @Nullable String code() {
        return code;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** The error object of the JSON body. */
    public ApiError toError() {
        return new ApiError(getMessage(), type, param, code);
    }
}
