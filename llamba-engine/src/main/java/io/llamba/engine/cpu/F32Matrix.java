package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** float32 weights. */
public final class F32Matrix extends CpuMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    F32Matrix(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    /** The same summation order as {@link #matmul}, so a row's result does not depend on the batch it is in. */
    @Override
    public float dot(int row, float[] x, int xOff) {
        long base = (long) row * cols * 4;
        int n = F.loopBound(cols);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i < n; i += F.length()) {
            acc = FloatVector.fromMemorySegment(F, data, base + i * 4L, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            sum += data.get(Floats.F32, base + i * 4L) * x[xOff + i];
        }
        return sum;
    }

    @Override
    public void matmul(float[] x, int t, float[] y, int yStride, int rowFrom, int rowTo) {
        int n = F.loopBound(cols);
        for (int r = rowFrom; r < rowTo; r++) {
            long base = (long) r * cols * 4;
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
                    FloatVector w = FloatVector.fromMemorySegment(F, data, base + i * 4L, LE);
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
                    float w = data.get(Floats.F32, base + i * 4L);
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
        MemorySegment.copy(data, Floats.F32, (long) row * cols * 4, out, outOff, cols);
    }
}
