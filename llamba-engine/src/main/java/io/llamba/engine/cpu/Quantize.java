package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.CheckpointException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static io.llamba.engine.cpu.CpuMatrix.BLOCK;

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

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));

    /**
     * Activations of one token for Q4_0 products: per block of 32, d = max|x|/127 and q = round(x/d)
     * (ties away from zero) in [-127, 127], into {@code q[0, blocks·32)} (zero past {@code cols}) and
     * {@code scale[sOff + b]}. Vectorised, and exact: the rounding is trunc(v) plus one away from zero
     * when |v - trunc(v)| ≥ 1/2, every step exact in float, so it equals {@link #roundAway}.
     */
    static void activations(float[] x, int xOff, int cols, int blocks, int[] q, float[] scale, int sOff) {
        int l = F.length();
        boolean vector = BLOCK % l == 0;
        for (int b = 0; b < blocks; b++) {
            int from = b * BLOCK;
            int to = Math.min(cols, from + BLOCK);
            if (vector && to - from == BLOCK) {
                FloatVector m = FloatVector.zero(F);
                for (int i = from; i < to; i += l) {
                    m = m.max(FloatVector.fromArray(F, x, xOff + i).abs());
                }
                float amax = m.reduceLanes(VectorOperators.MAX); // max: exact in any order
                float d = amax / 127f;
                float id = d != 0 ? 1f / d : 0f;
                scale[sOff + b] = d;
                for (int i = from; i < to; i += l) {
                    FloatVector v = FloatVector.fromArray(F, x, xOff + i).mul(id);
                    IntVector t = (IntVector) v.convert(VectorOperators.F2I, 0);
                    FloatVector frac = v.sub((FloatVector) t.convert(VectorOperators.I2F, 0));
                    t = t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(I))
                            .sub(1, frac.compare(VectorOperators.LE, -0.5f).cast(I));
                    t.max(-127).min(127).intoArray(q, i);
                }
                continue;
            }
            float amax = 0;
            for (int i = from; i < to; i++) {
                amax = Math.max(amax, Math.abs(x[xOff + i]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            scale[sOff + b] = d;
            for (int i = from; i < from + BLOCK; i++) {
                q[i] = i < to ? Math.clamp(roundAway(x[xOff + i] * id), -127, 127) : 0;
            }
        }
    }
}
