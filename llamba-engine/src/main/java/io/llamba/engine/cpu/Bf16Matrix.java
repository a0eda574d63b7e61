package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** bfloat16 weights: the high half of a float32, so widening is a 16-bit shift. */
public final class Bf16Matrix extends CpuMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Shorts with as many lanes as F has floats, and ints of F's width, for the widening. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));

    private FloatVector load(long byteOffset) {
        ShortVector h = ShortVector.fromMemorySegment(S, data, byteOffset, LE);
        return ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    Bf16Matrix(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    /** The same summation order as {@link #matmul}, so a row's result does not depend on the batch it is in. */
    @Override
    public float dot(int row, float[] x, int xOff) {
        long base = (long) row * cols * 2;
        int n = F.loopBound(cols);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i < n; i += F.length()) {
            acc = load(base + i * 2L).fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            sum += Floats.bf16ToFloat(data.get(Floats.U16, base + i * 2L)) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public void matmul(float[] x, int t, float[] y, int yStride, int rowFrom, int rowTo) {
        int n = F.loopBound(cols);
        for (int r = rowFrom; r < rowTo; r++) {
            long base = (long) r * cols * 2;
            int s = 0;
            for (; s + 4 <= t; s += 4) {
                int x0 = s * cols;
                int x1 = x0 + cols;
                int x2 = x1 + cols;
                int x3 = x2 + cols;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = FloatVector.zero(F);
                FloatVector a2 = FloatVector.zero(F);
                FloatVector a3 = FloatVector.zero(F);
                int i = 0;
                for (; i < n; i += F.length()) {
                    FloatVector w = load(base + i * 2L);
                    a0 = w.fma(FloatVector.fromArray(F, x, x0 + i), a0);
                    a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
                    a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
                    a3 = w.fma(FloatVector.fromArray(F, x, x3 + i), a3);
                }
                float s0 = a0.reduceLanes(VectorOperators.ADD);
                float s1 = a1.reduceLanes(VectorOperators.ADD);
                float s2 = a2.reduceLanes(VectorOperators.ADD);
                float s3 = a3.reduceLanes(VectorOperators.ADD);
                for (; i < cols; i++) {
                    float w = Floats.bf16ToFloat(data.get(Floats.U16, base + i * 2L));
                    s0 += w * x[x0 + i];
                    s1 += w * x[x1 + i];
                    s2 += w * x[x2 + i];
                    s3 += w * x[x3 + i];
                }
                y[s * yStride + r] = s0;
                y[(s + 1) * yStride + r] = s1;
                y[(s + 2) * yStride + r] = s2;
                y[(s + 3) * yStride + r] = s3;
            }
            for (; s < t; s++) {
                y[s * yStride + r] = dot(r, x, s * cols);
            }
        }
    }

    @Override
    public void row(int row, float[] out, int outOff) {
        long base = (long) row * cols * 2;
        for (int i = 0; i < cols; i++) {
            out[outOff + i] = Floats.bf16ToFloat(data.get(Floats.U16, base + i * 2L));
        }
    }
}
