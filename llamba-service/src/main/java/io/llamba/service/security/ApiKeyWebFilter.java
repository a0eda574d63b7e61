package io.llamba.service.security;

import io.llamba.service.ServiceProperties;
import io.llamba.service.api.error.ApiErrorWebExceptionHandler;
import io.llamba.service.api.error.ApiException;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Locale;

/**
 * API keys on {@code /v1}: with keys configured ({@code llamba.service.security.api-keys}), every
 * API request must carry one as {@code Authorization: Bearer KEY}, else it is answered 401 before
 * its body is read. Keys are compared in constant time: the presented key and every configured one
 * are hashed (SHA-256) and all digests are compared with {@link MessageDigest#isEqual}, so neither
 * the position of the first differing byte, nor the key's length, nor which key matched shows in
 * the timing. Without keys (local use) the API is open. The chat page and the actuator's health,
 * info and prometheus endpoints are not behind the keys (the page asks for a key and sends it).
 */
public class ApiKeyWebFilter implements WebFilter, Ordered {
    /** First of the service's filters: an unauthenticated request costs nothing more. */
    public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 10;
    private static final String SCHEME = "bearer ";

    private final List<byte[]> keyDigests;
    private final JsonMapper mapper;

    public ApiKeyWebFilter(ServiceProperties properties, JsonMapper mapper) {
        this.keyDigests = properties.getSecurity().getApiKeys().stream().map(ApiKeyWebFilter::sha256).toList();
        this.mapper = mapper;
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    public boolean isEnabled() {
        return !keyDigests.isEmpty();
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        if (keyDigests.isEmpty() || !(path.startsWith(ApiErrorWebExceptionHandler.API_PREFIX) || path.equals("/v1"))) {
            return chain.filter(exchange);
        }
        String header = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
        if (header == null || header.isBlank()) {
            return reject(exchange, "missing_api_key", "No API key given: send it as the header 'Authorization: Bearer YOUR_KEY'.");
        }
        if (header.length() <= SCHEME.length() || !header.substring(0, SCHEME.length()).toLowerCase(Locale.ROOT).equals(SCHEME)) {
            return reject(exchange, "invalid_api_key", "The Authorization header must be 'Bearer YOUR_KEY'.");
        }
        if (!matches(header.substring(SCHEME.length()).strip())) {
            return reject(exchange, "invalid_api_key", "Incorrect API key provided.");
        }
        return chain.filter(exchange);
    }

    /** Whether the key is one of the configured ones, in time independent of the keys' contents. */
    boolean matches(String presented) {
        byte[] digest = sha256(presented);
        boolean match = false;
        for (byte[] key : keyDigests) {
            match |= MessageDigest.isEqual(digest, key);
        }
        return match;
    }

    private Mono<Void> reject(ServerWebExchange exchange, String code, String message) {
        return ApiErrorWebExceptionHandler.write(exchange.getResponse(),
                new ApiException(HttpStatus.UNAUTHORIZED, ApiException.INVALID_REQUEST, null, code, message, 0, null), mapper);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }
}
