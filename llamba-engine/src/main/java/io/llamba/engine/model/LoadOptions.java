package io.llamba.engine.model;

import io.llamba.engine.checkpoint.DType;

/**
 * How to load a model.
 *
 * @param backend       where to compute
 * @param threads       CPU threads for the CPU backend (0: one per available processor)
 * @param deviceWeights the format weights are kept in on a GPU: F32 or BF16; null keeps the
 *                      checkpoint's precision (BF16 stays BF16, F32 and F16 become F32). The CPU
 *                      backend reads the checkpoint's own format and ignores it.
 * @param deviceState   the format of the SSM state on a GPU: F32 (null, the reference's) or BF16
 *                      (half the memory and traffic per sequence, rounded every step)
 */
public record LoadOptions(BackendKind backend, int threads, DType deviceWeights, DType deviceState) {
    public LoadOptions {
        if (backend == null) {
            backend = BackendKind.AUTO;
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be 0 (all processors) or positive, got " + threads);
        }
        if (deviceWeights != null && deviceWeights != DType.F32 && deviceWeights != DType.BF16) {
            throw new IllegalArgumentException("device weights must be F32 or BF16, got " + deviceWeights);
        }
        if (deviceState != null && deviceState != DType.F32 && deviceState != DType.BF16) {
            throw new IllegalArgumentException("device state must be F32 or BF16, got " + deviceState);
        }
    }

    public LoadOptions(BackendKind backend, int threads) {
        this(backend, threads, null, null);
    }

    public static LoadOptions defaults() {
        return new LoadOptions(BackendKind.AUTO, 0);
    }

    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    public LoadOptions withBackend(BackendKind b) {
        return new LoadOptions(b, threads, deviceWeights, deviceState);
    }

    public LoadOptions withThreads(int t) {
        return new LoadOptions(backend, t, deviceWeights, deviceState);
    }

    public LoadOptions withDeviceWeights(DType d) {
        return new LoadOptions(backend, threads, d, deviceState);
    }

    public LoadOptions withDeviceState(DType d) {
        return new LoadOptions(backend, threads, deviceWeights, d);
    }
}
