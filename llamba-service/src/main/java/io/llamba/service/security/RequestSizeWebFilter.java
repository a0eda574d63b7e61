package io.llamba.service.security;

import io.llamba.service.api.error.ApiErrorWebExceptionHandler;
import io.llamba.service.api.error.ApiException;
import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The body size limit of API requests ({@code llamba.service.limits.max-body-size}): a declared
 * Content-Length over it is answered 413 before the body is read; a body without one (chunked) is
 * counted as it arrives and refused with 413 as soon as it passes the limit. The JSON codecs are
 * given the same limit, so the two never disagree.
 */
public class RequestSizeWebFilter implements WebFilter, Ordered {
    public static final int ORDER = ApiKeyWebFilter.ORDER + 10;

    private final long maxBytes;
    private final JsonMapper mapper;

    public RequestSizeWebFilter(long maxBytes, JsonMapper mapper) {
        this.maxBytes = maxBytes;
        this.mapper = mapper;
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        if (!path.startsWith(ApiErrorWebExceptionHandler.API_PREFIX)) {
            return chain.filter(exchange);
        }
        long declared = exchange.getRequest().getHeaders().getContentLength();
        if (declared > maxBytes) {
            return ApiErrorWebExceptionHandler.write(exchange.getResponse(), tooLarge(declared + " bytes"), mapper);
        }
        ServerHttpRequest counted = new ServerHttpRequestDecorator(exchange.getRequest()) {
            @Override
            public Flux<DataBuffer> getBody() {
                AtomicLong seen = new AtomicLong();
                return super.getBody().map(buffer -> {
                    if (seen.addAndGet(buffer.readableByteCount()) > maxBytes) {
                        DataBufferUtils.release(buffer);
                        throw new DataBufferLimitException("request body over " + maxBytes + " bytes");
                    }
                    return buffer;
                });
            }
        };
        return chain.filter(exchange.mutate().request(counted).build());
    }

    private ApiException tooLarge(String size) {
        return new ApiException(HttpStatus.CONTENT_TOO_LARGE, ApiException.INVALID_REQUEST, null, "request_too_large",
                "The request body (" + size + ") is larger than this server accepts (" + maxBytes + " bytes).", 0, null);
    }
}
