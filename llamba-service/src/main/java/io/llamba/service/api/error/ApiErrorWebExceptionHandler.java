package io.llamba.service.api.error;

import io.llamba.service.ServiceProperties;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every failure under {@code /v1} as OpenAI's error body with its status (and Retry-After, and
 * WWW-Authenticate for 401), whether a controller raised it or the framework did (unknown path,
 * wrong method, unreadable body). Runs before Spring Boot's own handler (order -1), which keeps the
 * other paths; Boot's never includes stack traces or exception details (its defaults, kept).
 */
@Component
@Order(-2)
public class ApiErrorWebExceptionHandler implements WebExceptionHandler {
    public static final String API_PREFIX = "/v1/";

    private final JsonMapper mapper;
    private final ServiceProperties properties;

    public ApiErrorWebExceptionHandler(JsonMapper mapper, ServiceProperties properties) {
        this.mapper = mapper;
        this.properties = properties;
    }

    /**
     * API paths, and the API's paths without {@code /v1}: a client whose base URL lacks it (Spring AI
     * 1.x habits: 2.0's OpenAI client appends only "/chat/completions") hears where the API is.
     */
    static boolean isApi(ServerWebExchange exchange) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        return path.startsWith(API_PREFIX) || path.equals("/v1") || path.startsWith("/chat/") || path.equals("/completions")
                || path.startsWith("/models");
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        if (!isApi(exchange) || exchange.getResponse().isCommitted()) {
            return Mono.error(ex);
        }
        return write(exchange.getResponse(), ApiErrors.from(ex, null, properties.retryAfterSeconds()), mapper);
    }

    /** Writes the error as the whole response (also used by the web filters, before any controller). */
    public static Mono<Void> write(ServerHttpResponse response, ApiException error, JsonMapper mapper) {
        byte[] body = mapper.writeValueAsBytes(error.toError().body());
        response.setStatusCode(error.status());
        HttpHeaders headers = response.getHeaders();
        headers.remove(HttpHeaders.CONTENT_LENGTH);
        headers.setContentType(MediaType.APPLICATION_JSON);
        headers.setCacheControl("no-store");
        headers.remove("X-Accel-Buffering");
        if (error.retryAfterSeconds() > 0) {
            headers.set(HttpHeaders.RETRY_AFTER, Long.toString(error.retryAfterSeconds()));
        }
        if (error.status() == HttpStatus.UNAUTHORIZED) {
            headers.set(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"llamba\"");
        }
        return response.writeWith(Mono.fromSupplier(() -> response.bufferFactory().wrap(body)));
    }
}
