package io.llamba.engine.generate;

/** The engine's queue is full: the request was refused at once, nothing was started. Retry later. */
public class EngineOverloadedException extends RuntimeException {
    private final int queued;
    private final int limit;

    public EngineOverloadedException(int queued, int limit) {
        super("the engine is at capacity: " + queued + " requests waiting, the limit is " + limit);
        this.queued = queued;
        this.limit = limit;
    }

    public int queued() {
        return queued;
    }

    public int limit() {
        return limit;
    }
}
