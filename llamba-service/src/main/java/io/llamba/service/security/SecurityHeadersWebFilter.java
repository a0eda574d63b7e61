package io.llamba.service.security;

import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Headers that keep browsers from misusing what the service sends: no content-type sniffing, no
 * referrer, no framing, and for the chat page a content security policy that allows only its own
 * script, style and API (the page has no inline code, so none needs to be allowed).
 */
public class SecurityHeadersWebFilter implements WebFilter, Ordered {
    static final String PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self';"
            + " base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        HttpHeaders h = exchange.getResponse().getHeaders();
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Referrer-Policy", "no-referrer");
        h.set("X-Frame-Options", "DENY");
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        if (path.equals("/") || path.endsWith(".html")) {
            h.set("Content-Security-Policy", PAGE_POLICY);
        }
        return chain.filter(exchange);
    }
}
