package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.CheckpointException;

/** Rounding and scale rules shared by the block formats and by the quantization of activations. */
final class Quantize {
    private Quantize() {
    }

    /** Nearest integer, ties away from zero (C's roundf, which ggml uses). */
    static int roundAway(float v) {
        int q = Math.round(Math.abs(v)); // exact: rounds half up, so away from zero on |v|
        return v < 0 ? -q : q;
    }

    /**
     * A block's scale as float16, checked: a non-finite weight or a scale beyond float16's range is an
     * error naming the tensor, row and block instead of silently wrong weights.
     */
    static short scale(float d, WeightSource src, int tile, int lane, int column, WeightFormat format) {
        short h = Float.floatToFloat16(d);
        if (!Float.isFinite(d) || !Float.isFinite(Float.float16ToFloat(h))) {
            throw new CheckpointException("tensor " + src.name() + ": cannot quantize to " + format.label() + ": the block at packed row "
                    + (tile * CpuMatrix.TILE + lane) + ", column " + column + " holds a non-finite weight or one too large"
                    + " for a float16 scale (scale " + d + ")");
        }
        return h;
    }

    /**
     * Activations of one token for Q4_0 products: per block of 32, d = max|x|/127 and q = round(x/d) in
     * [-127, 127], written as shorts (one token) or floats (several), value i at {@code qOff + i·qStride},
     * zero past {@code cols}.
     */
    static void activations(float[] x, int xOff, int cols, int blocks, short[] q16, float[] qf, int qOff, int qStride, float[] scale, int sOff) {
        for (int b = 0; b < blocks; b++) {
            int from = b * CpuMatrix.BLOCK;
            int to = Math.min(cols, from + CpuMatrix.BLOCK);
            float amax = 0;
            for (int i = from; i < to; i++) {
                amax = Math.max(amax, Math.abs(x[xOff + i]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            scale[sOff + b] = d;
            for (int i = from; i < from + CpuMatrix.BLOCK; i++) {
                int q = i < to ? Math.clamp(roundAway(x[xOff + i] * id), -127, 127) : 0;
                if (q16 != null) {
                    q16[qOff + i * qStride] = (short) q;
                } else {
                    qf[qOff + i * qStride] = q;
                }
            }
        }
    }
}
