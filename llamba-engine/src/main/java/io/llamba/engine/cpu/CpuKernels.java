package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import io.llamba.engine.checkpoint.TensorInfo;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Element-wise steps of a forward pass on float arrays, vectorised. Sums across lanes are taken in a
 * fixed order rather than by {@code reduceLanes}, whose order is left to the JIT, and e^x is plain
 * arithmetic: a token's result is the same whenever and however the code runs.
 */
public final class CpuKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private CpuKernels() {
    }

    /** out = w ⊙ x / sqrt(mean(x²) + eps) over {@code n} values. */
    public static void rmsnorm(float[] x, int xOff, float[] w, float[] out, int outOff, int n, float eps) {
        int bound = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            acc = v.fma(v, acc);
        }
        float ss = 0;
        for (int l = 0; l < F.length(); l++) {
            ss += acc.lane(l); // left to right, written here: a vector must not cross a call that may stay a call
        }
        for (; i < n; i++) {
            ss = Math.fma(x[xOff + i], x[xOff + i], ss);
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, w, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * scale * w[i];
        }
    }

    /**
     * Row {@code row} of a 2-D F32, BF16 or F16 tensor of {@code n} columns, read in place from the
     * checkpoint into {@code out[off ..+n)} (an embedding look-up: exact, whatever format the matrices use).
     */
    public static void tensorRow(TensorInfo t, int row, int n, float[] out, int off) {
        MemorySegment data = t.data();
        long base = (long) row * n;
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(data, Floats.F32, base * 4, out, off, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[off + i] = Floats.bf16ToFloat(data.getAtIndex(Floats.U16, base + i));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[off + i] = Floats.f16ToFloat(data.getAtIndex(Floats.U16, base + i));
                }
            }
            default -> throw new IllegalArgumentException(t.name() + ": dtype " + t.dtype() + " is not a float format");
        }
    }

    /** a[i] += b[i]. */
    public static void add(float[] a, int aOff, float[] b, int bOff, int n) {
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, a, aOff + i).add(FloatVector.fromArray(F, b, bOff + i)).intoArray(a, aOff + i);
        }
        for (; i < n; i++) {
            a[aOff + i] += b[bOff + i];
        }
    }

    private static final float LOG2E = 1.44269504f;
    /** ln 2 split in two, so that n·LN2_HI is exact for the n that occur. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5·2^23: adding and subtracting it rounds a float below 2^22 to the nearest integer. */
    private static final float ROUNDER = 12582912f;

    /**
     * a[i] = silu(a[i]) = a[i] / (1 + e^-a[i]) over {@code n} values in place. The vector part computes
     * e^x from plain arithmetic (within about 2 ulp, x clamped to [-87, 88] where float's range ends):
     * x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor polynomial of degree 7, times 2^k built in the
     * exponent bits. Not {@code VectorOperators.EXP}: the JIT's intrinsic and the interpreter compute
     * that one differently, so a token's result would depend on when the code got compiled.
     *
     * <p>Array in, array out: vectors never cross a method boundary in the engine's kernels, because a
     * call the JIT does not inline boxes them (allocation, and a hundredfold slowdown).
     */
    public static void silu(float[] a, int off, int n) {
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, a, off + i);
            FloatVector x = v.neg().max(-87f).min(88f);
            FloatVector shifted = x.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, ROUNDER));
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_HI), x);
            r = k.fma(FloatVector.broadcast(F, -LN2_LO), r);
            FloatVector p = FloatVector.broadcast(F, 1f / 5040);
            p = p.fma(r, FloatVector.broadcast(F, 1f / 720));
            p = p.fma(r, FloatVector.broadcast(F, 1f / 120));
            p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
            p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
            p = p.fma(r, FloatVector.broadcast(F, 0.5f));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            // k sits in the low mantissa bits of shifted (as k + 0x400000 over 1.5·2^23): make it 2^k.
            FloatVector scale = shifted.reinterpretAsInts().sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            v.div(p.mul(scale).add(1f)).intoArray(a, off + i);
        }
        for (; i < n; i++) {
            a[off + i] = silu(a[off + i]);
        }
    }

    public static float silu(float v) {
        return (float) (v / (1.0 + Math.exp(-v)));
    }

    /** softplus(v) = log(1 + e^v), without overflow for large v. */
    public static float softplus(float v) {
        return v > 20f ? v : (float) Math.log1p(Math.exp(v));
    }
}
