package io.llamba.service;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The service's own settings, under {@code llamba.service}: API keys and request limits. The model,
 * engine and sampling defaults are {@code spring.ai.llamba.*} (llamba-autoconfigure). Checked when
 * bound: a bad value fails the startup naming the property.
 */
@ConfigurationProperties(ServiceProperties.PREFIX)
public class ServiceProperties implements Validator {
    public static final String PREFIX = "llamba.service";

    private final Security security = new Security();
    private final Limits limits = new Limits();

    /**
     * Sent as Retry-After (whole seconds, at least 1) with 429 and 503 answers: when a client
     * refused for lack of capacity should try again.
     */
    private Duration retryAfter = Duration.ofSeconds(1);

    public Security getSecurity() {
        return security;
    }

    public Limits getLimits() {
        return limits;
    }

    public Duration getRetryAfter() {
        return retryAfter;
    }

    public void setRetryAfter(Duration retryAfter) {
        this.retryAfter = retryAfter;
    }

    /** Retry-After in whole seconds, rounded up, at least 1. */
    public long retryAfterSeconds() {
        long ms = retryAfter.toMillis();
        return Math.max(1, (ms + 999) / 1000);
    }

    @Override
    public boolean supports(Class<?> clazz) {
        return ServiceProperties.class.isAssignableFrom(clazz);
    }

    @Override
    public void validate(Object target, Errors errors) {
        ServiceProperties p = (ServiceProperties) target;
        // Keys are checked with global errors, not field errors: Spring Boot's failure report
        // prints a rejected field's value, and a key must not end up in a log.
        List<String> keys = p.security.apiKeys;
        for (int i = 0; i < keys.size(); i++) {
            String k = keys.get(i);
            String name = PREFIX + ".security.api-keys[" + i + "]";
            if (k == null || k.isBlank()) {
                errors.reject("blank", name + " is blank: API keys must not be blank");
            } else if (k.length() < Security.MIN_KEY_LENGTH) {
                errors.reject("short", name + " is too short: API keys must have at least " + Security.MIN_KEY_LENGTH + " characters");
            } else if (k.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
                errors.reject("charset", name + " holds a space or a character that is not printable ASCII;"
                        + " API keys travel in an HTTP header");
            }
        }
        if (p.security.requireApiKey && keys.stream().noneMatch(k -> k != null && !k.isBlank())) {
            errors.reject("missing", "require-api-key is on (the prod profile) but no API key is configured:"
                    + " set " + PREFIX + ".security.api-keys, e.g. through the environment variable LLAMBA_API_KEYS");
        }
        Limits l = p.limits;
        if (l.maxBodySize == null || l.maxBodySize.toBytes() < 1024) {
            errors.rejectValue("limits.maxBodySize", "range", "must be at least 1KB");
        }
        if (l.maxMessages < 1) {
            errors.rejectValue("limits.maxMessages", "range", "must be at least 1");
        }
        if (l.maxPromptTokens < 0) {
            errors.rejectValue("limits.maxPromptTokens", "range", "must be 0 (the context limit) or positive");
        }
        if (l.maxTokens < 0) {
            errors.rejectValue("limits.maxTokens", "range", "must be 0 (the context limit) or positive");
        }
        if (l.maxStopSequences < 0) {
            errors.rejectValue("limits.maxStopSequences", "range", "must not be negative");
        }
        if (l.maxTools < 0) {
            errors.rejectValue("limits.maxTools", "range", "must not be negative");
        }
        if (p.retryAfter == null || p.retryAfter.isNegative()) {
            errors.rejectValue("retryAfter", "range", "must not be negative");
        }
    }

    public static class Security {
        static final int MIN_KEY_LENGTH = 16;

        /**
         * API keys accepted as "Authorization: Bearer KEY" on /v1 (at least 16 printable ASCII
         * characters each). Empty: the API is open (for local use).
         */
        private List<String> apiKeys = new ArrayList<>();

        /** Refuse to start without an API key (on in the prod profile). */
        private boolean requireApiKey;

        public List<String> getApiKeys() {
            return apiKeys;
        }

        public void setApiKeys(List<String> apiKeys) {
            this.apiKeys = apiKeys == null ? new ArrayList<>() : apiKeys;
        }

        public boolean isRequireApiKey() {
            return requireApiKey;
        }

        public void setRequireApiKey(boolean requireApiKey) {
            this.requireApiKey = requireApiKey;
        }
    }

    public static class Limits {
        /** Largest request body; a larger one is refused with 413 before it is read. */
        private DataSize maxBodySize = DataSize.ofMegabytes(1);

        /** Most messages in one chat request. */
        private int maxMessages = 256;

        /** Most prompt tokens (the rendered chat, tools included); 0 for the engine's context limit. */
        private int maxPromptTokens;

        /**
         * Most tokens a request may ask to generate (max_tokens / max_completion_tokens), and the
         * cap for requests that give none; 0 for as many as the context allows.
         */
        private int maxTokens = 4096;

        /** Most stop sequences in one request (OpenAI allows 4). */
        private int maxStopSequences = 4;

        /** Most tools offered in one request. */
        private int maxTools = 64;

        public DataSize getMaxBodySize() {
            return maxBodySize;
        }

        public void setMaxBodySize(DataSize maxBodySize) {
            this.maxBodySize = maxBodySize;
        }

        public int getMaxMessages() {
            return maxMessages;
        }

        public void setMaxMessages(int maxMessages) {
            this.maxMessages = maxMessages;
        }

        public int getMaxPromptTokens() {
            return maxPromptTokens;
        }

        public void setMaxPromptTokens(int maxPromptTokens) {
            this.maxPromptTokens = maxPromptTokens;
        }

        public int getMaxTokens() {
            return maxTokens;
        }

        public void setMaxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
        }

        public int getMaxStopSequences() {
            return maxStopSequences;
        }

        public void setMaxStopSequences(int maxStopSequences) {
            this.maxStopSequences = maxStopSequences;
        }

        public int getMaxTools() {
            return maxTools;
        }

        public void setMaxTools(int maxTools) {
            this.maxTools = maxTools;
        }
    }
}
