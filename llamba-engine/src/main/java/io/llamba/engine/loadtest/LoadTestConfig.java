package io.llamba.engine.loadtest;

import java.net.URI;
import java.time.Duration;

/**
 * What a load test does.
 *
 * @param baseUrl         the API root, e.g. {@code http://127.0.0.1:8080/v1} (requests go to {@code /chat/completions})
 * @param model           the model name sent with each request, or null to ask {@code /models} for the first one
 * @param clients         concurrent streaming clients, each sending its next request when the last one ends
 * @param duration        how long requests are started; those under way then run to their end
 * @param prompts         distinct prompts, used in turn
 * @param maxTokens       max_tokens of each request
 * @param requestTimeout  the longest one request may take before it counts as lost
 * @param exact           compare every reply with the prompt's expected reply (greedy, fetched once first,
 *                        one request at a time); otherwise check only the stream's protocol
 * @param apiKey          sent as a bearer token, or null
 */
public record LoadTestConfig(URI baseUrl, String model, int clients, Duration duration, int prompts, int maxTokens,
                             Duration requestTimeout, boolean exact, String apiKey) {
    public LoadTestConfig {
        if (baseUrl == null || baseUrl.getScheme() == null || !(baseUrl.getScheme().equals("http") || baseUrl.getScheme().equals("https"))) {
            throw new IllegalArgumentException("the URL must be http:// or https://, got " + baseUrl);
        }
        require(clients >= 1 && clients <= 10_000, "clients must be within 1..10000, got " + clients);
        require(!duration.isNegative() && !duration.isZero(), "duration must be positive, got " + duration);
        require(prompts >= 1 && prompts <= 10_000, "prompts must be within 1..10000, got " + prompts);
        require(maxTokens >= 1, "max tokens must be positive, got " + maxTokens);
        require(!requestTimeout.isNegative() && !requestTimeout.isZero(), "request timeout must be positive, got " + requestTimeout);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    URI endpoint(String path) {
        String base = baseUrl.toString();
        return URI.create(base.endsWith("/") ? base + path : base + "/" + path);
    }
}
