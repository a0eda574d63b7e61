package io.llamba.engine.generate;

import java.util.concurrent.CompletableFuture;

/** A submitted generation: cancel it, or wait for its result. */
public interface GenerationHandle {
    /** Engine-wide request id. */
    long id();

    /** Asks the engine to stop; takes effect within one engine step. Idempotent. */
    void cancel();

    /** Completes with the result (also for cancelled and timed-out requests), or exceptionally on an engine failure. */
    CompletableFuture<GenerationResult> result();
}
