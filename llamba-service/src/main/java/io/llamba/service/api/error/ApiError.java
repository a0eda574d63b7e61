package io.llamba.service.api.error;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/** The inner object of OpenAI's error body; {@code param} and {@code code} are always present, null when unknown. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ApiError(String message, String type, @Nullable String param, @Nullable String code) {
    /** The whole body: {@code {"error": {...}}}. */
    public record Body(ApiError error) {
    }

    public Body body() {
        return new Body(this);
    }
}
