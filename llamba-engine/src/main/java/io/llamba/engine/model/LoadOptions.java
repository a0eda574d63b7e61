package io.llamba.engine.model;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.cpu.CpuTopology;

/**
 * How to load a model.
 *
 * @param backend       where to compute
 * @param threads       CPU threads for the CPU backend (0: one per physical core available)
 * @param quantization  how the CPU backend holds weight matrices: as in the checkpoint, or quantized
 *                      at load time
 * @param deviceWeights the format weights are kept in on a GPU: F32 or BF16; null keeps the
 *                      checkpoint's precision (BF16 stays BF16, F32 and F16 become F32). The CPU
 *                      backend reads the checkpoint's own format (or {@code quantization}) and ignores it.
 * @param deviceState   the format of the SSM state on a GPU: F32 (null, the reference's) or BF16
 *                      (half the memory and traffic per sequence, rounded every step)
 */
public record LoadOptions(BackendKind backend, int threads, Quantization quantization, DType deviceWeights, DType deviceState) {
    public LoadOptions {
        if (backend == null) {
            backend = BackendKind.AUTO;
        }
        if (quantization == null) {
            quantization = Quantization.NONE;
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be 0 (all cores) or positive, got " + threads);
        }
        if (deviceWeights != null && deviceWeights != DType.F32 && deviceWeights != DType.BF16) {
            throw new IllegalArgumentException("device weights must be F32 or BF16, got " + deviceWeights);
        }
        if (deviceState != null && deviceState != DType.F32 && deviceState != DType.BF16) {
            throw new IllegalArgumentException("device state must be F32 or BF16, got " + deviceState);
        }
    }

    public LoadOptions(BackendKind backend, int threads) {
        this(backend, threads, Quantization.NONE, null, null);
    }

    public LoadOptions(BackendKind backend, int threads, Quantization quantization) {
        this(backend, threads, quantization, null, null);
    }

    public LoadOptions(BackendKind backend, int threads, DType deviceWeights, DType deviceState) {
        this(backend, threads, Quantization.NONE, deviceWeights, deviceState);
    }

    public static LoadOptions defaults() {
        return new LoadOptions(BackendKind.AUTO, 0, Quantization.NONE, null, null);
    }

    /**
     * The threads to use: as given, else one per physical core. Memory-bound decoding gains nothing from
     * a core's second hardware thread, and compute-bound kernels that fill the vector units lose by it.
     */
    public int effectiveThreads() {
        return threads > 0 ? threads : CpuTopology.defaultThreads();
    }

    /**
     * The backend an architecture should try: as asked, except that quantized weights are the CPU
     * backend's, so asking for them picks it (and asking for them on CUDA is an error saying so).
     */
    public BackendKind backendToTry() {
        if (quantization == Quantization.NONE) {
            return backend;
        }
        if (backend == BackendKind.CUDA) {
            throw new ModelException("quantization " + quantization.name().toLowerCase(java.util.Locale.ROOT)
                    + " is for the CPU backend; the CUDA backend keeps weights in f32 or bf16 (--gpu-weights); use --backend cpu or no quantization");
        }
        return BackendKind.CPU;
    }

    public LoadOptions withBackend(BackendKind b) {
        return new LoadOptions(b, threads, quantization, deviceWeights, deviceState);
    }

    public LoadOptions withThreads(int t) {
        return new LoadOptions(backend, t, quantization, deviceWeights, deviceState);
    }

    public LoadOptions withQuantization(Quantization q) {
        return new LoadOptions(backend, threads, q, deviceWeights, deviceState);
    }

    public LoadOptions withDeviceWeights(DType d) {
        return new LoadOptions(backend, threads, quantization, d, deviceState);
    }

    public LoadOptions withDeviceState(DType d) {
        return new LoadOptions(backend, threads, quantization, deviceWeights, d);
    }
}
