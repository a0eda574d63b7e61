package io.llamba.engine.model;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.json.JsonObject;

import java.util.List;

/**
 * A model architecture, as a plugin discovered with {@link java.util.ServiceLoader}: it recognises
 * a {@code config.json} by its {@code model_type}, names and validates the weights it needs, and
 * binds them to a backend. Register implementations in
 * {@code META-INF/services/io.llamba.engine.model.ModelArchitecture}.
 */
public interface ModelArchitecture {
    /** The {@code model_type} of config.json this plugin serves. */
    String modelType();

    /** The tensors a checkpoint of this configuration must hold (and nothing else). */
    List<TensorSpec> tensorSpecs(JsonObject config);

    /**
     * Binds a validated checkpoint to a backend. The model takes ownership of the checkpoint and
     * closes it with itself.
     */
    Model load(String name, JsonObject config, Checkpoint checkpoint, LoadOptions options);
}
