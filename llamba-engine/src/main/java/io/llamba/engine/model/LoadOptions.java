package io.llamba.engine.model;

/**
 * How to load a model.
 *
 * @param backend where to compute
 * @param threads CPU threads for the CPU backend (0: one per available processor)
 */
public record LoadOptions(BackendKind backend, int threads) {
    public LoadOptions {
        if (backend == null) {
            backend = BackendKind.AUTO;
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be 0 (all processors) or positive, got " + threads);
        }
    }

    public static LoadOptions defaults() {
        return new LoadOptions(BackendKind.AUTO, 0);
    }

    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    public LoadOptions withBackend(BackendKind b) {
        return new LoadOptions(b, threads);
    }

    public LoadOptions withThreads(int t) {
        return new LoadOptions(backend, t);
    }
}
