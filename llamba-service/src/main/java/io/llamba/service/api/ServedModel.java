package io.llamba.service.api;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.model.ModelInfo;
import io.llamba.service.api.error.ApiException;
import io.llamba.spring.ai.LlambaChatModel;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;

import java.time.Instant;

/** The one model this service serves: its API name, when it was loaded, and the engine that runs it. */
public final class ServedModel {
    private final LlambaChatModel chatModel;
    private final long created = Instant.now().getEpochSecond();

    public ServedModel(LlambaChatModel chatModel) {
        this.chatModel = chatModel;
    }

    public LlambaChatModel chatModel() {
        return chatModel;
    }

    public Engine engine() {
        return chatModel.getEngine();
    }

    public ModelInfo info() {
        return engine().modelInfo();
    }

    /** The name clients give as {@code model} (spring.ai.llamba.served-model-name, else the model's own). */
    public String name() {
        return chatModel.getModelName();
    }

    /** Seconds since the epoch when the model was loaded (the {@code created} of /v1/models). */
    public long created() {
        return created;
    }

    /**
     * Checks the {@code model} a request names: absent means this one; any other name is a 404, as
     * OpenAI answers for a model that does not exist.
     */
    public void check(@Nullable String requested) {
        if (requested != null && !requested.equals(name())) {
            throw notFound(requested);
        }
    }

    public ApiException notFound(String requested) {
        return new ApiException(HttpStatus.NOT_FOUND, ApiException.INVALID_REQUEST, "model", "model_not_found",
                "The model '" + requested + "' does not exist; this server serves '" + name() + "' (GET /v1/models).", 0, null);
    }
}
