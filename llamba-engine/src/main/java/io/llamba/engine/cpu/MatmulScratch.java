package io.llamba.engine.cpu;

/**
 * What one caller needs to run matrix products on a thread team: the activations as the kernels read
 * them (padded to whole blocks, or quantized for Q4_0) and the description of the running product,
 * which the team's threads read. A model's forward pass owns one and runs its products one at a
 * time; its buffers grow to the largest pass and are then reused, so the hot path allocates nothing.
 */
public final class MatmulScratch implements Parallel.WorkerRange {
    static final int PREPARE = 0;
    static final int TILES = 1;

    /** The activations the kernels read: the caller's array or {@link #padded}, {@link #stride} floats per token. */
    float[] x;
    int stride;
    private float[] padded = new float[0];
    /** Q4_0 activations: per block of 32, int8-range values (as ints, then pairs, for one token; as floats for several) and a scale. */
    int[] qint = new int[0];
    int[] qpair = new int[0];
    int[] qstart = new int[0];
    float[] qf = new float[0];
    float[] qscale = new float[0];

    // The running product.
    Parallel parallel;
    CpuMatrix matrix;
    float[] source;
    int tokens;
    float[] y;
    int yStride;
    boolean accumulate;
    int phase;
    /** Tiles per unit of parallel work. */
    int unit = 1;

    float[] padded(int floats) {
        if (padded.length < floats) {
            padded = new float[floats];
        }
        return padded;
    }

    void ensureQuantized(int floats, int scales, boolean asShorts) {
        if (asShorts && qpair.length < floats) {
            qint = new int[floats];
            qpair = new int[floats];
        }
        if (asShorts && qstart.length < scales) {
            qstart = new int[scales];
        }
        if (!asShorts && qf.length < floats) {
            qf = new float[floats];
        }
        if (qscale.length < scales) {
            qscale = new float[scales];
        }
    }

    @Override
    public void run(int worker, int from, int to) {
        if (phase == PREPARE) {
            matrix.prepareTokens(this, worker, from, to);
        } else {
            matrix.runTiles(this, worker, from, to);
        }
    }
}
