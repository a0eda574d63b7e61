package io.llamba.engine.model;

import io.llamba.engine.cpu.CpuTopology;

/**
 * How to load a model.
 *
 * @param backend      where to compute
 * @param threads      CPU threads for the CPU backend (0: one per physical core available)
 * @param quantization how weight matrices are held: as in the checkpoint, or quantized at load time
 */
public record LoadOptions(BackendKind backend, int threads, Quantization quantization) {
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
    }

    public LoadOptions(BackendKind backend, int threads) {
        this(backend, threads, Quantization.NONE);
    }

    public static LoadOptions defaults() {
        return new LoadOptions(BackendKind.AUTO, 0, Quantization.NONE);
    }

    /**
     * The threads to use: as given, else one per physical core. Memory-bound decoding gains nothing from
     * a core's second hardware thread, and compute-bound kernels that fill the vector units lose by it.
     */
    public int effectiveThreads() {
        return threads > 0 ? threads : CpuTopology.defaultThreads();
    }

    public LoadOptions withBackend(BackendKind b) {
        return new LoadOptions(b, threads, quantization);
    }

    public LoadOptions withThreads(int t) {
        return new LoadOptions(backend, t, quantization);
    }

    public LoadOptions withQuantization(Quantization q) {
        return new LoadOptions(backend, threads, q);
    }
}
