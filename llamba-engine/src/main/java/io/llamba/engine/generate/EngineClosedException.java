package io.llamba.engine.generate;

/** The engine is shutting down or closed and accepts no new requests. */
public class EngineClosedException extends IllegalStateException {
    public EngineClosedException(String message) {
        super(message);
    }
}
