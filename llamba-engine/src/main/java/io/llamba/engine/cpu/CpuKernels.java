package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise steps of a forward pass on float arrays, vectorised. Sums across lanes are taken in a
 * fixed order ({@link #sumLanes}) rather than by {@code reduceLanes}, whose order is left to the JIT,
 * so a token's result is the same whenever and however the code runs.
 */
public final class CpuKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private CpuKernels() {
    }

    /** The lanes of {@code v} added left to right. */
    public static float sumLanes(FloatVector v) {
        float s = 0;
        for (int i = 0; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
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
        float ss = sumLanes(acc);
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

    /** silu(v) = v·sigmoid(v), lane-wise. */
    public static FloatVector silu(FloatVector v) {
        return v.div(exp(v.neg()).add(1f));
    }

    private static final float LOG2E = 1.44269504f;
    /** ln 2 split in two, so that n·LN2_HI is exact for the n that occur. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5·2^23: adding and subtracting it rounds a float below 2^22 to the nearest integer. */
    private static final float ROUNDER = 12582912f;

    /**
     * e^x lane-wise (within about 2 ulp; inputs clamped to [-87, 88], where float's range ends), from
     * plain arithmetic: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor polynomial of degree 7, times
     * 2^n built in the exponent bits. Not {@code VectorOperators.EXP}: that one is computed differently
     * by the JIT's intrinsic and by the interpreter, so a token's result would depend on when the code
     * was compiled; these operations give the same bits everywhere.
     */
    public static FloatVector exp(FloatVector x) {
        x = x.max(-87f).min(88f);
        FloatVector shifted = x.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, ROUNDER));
        FloatVector n = shifted.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1f / 5040);
        p = p.fma(r, FloatVector.broadcast(F, 1f / 720));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        // n sits in the low mantissa bits of shifted (as n + 0x400000 over 1.5·2^23): make it 2^n.
        FloatVector scale = shifted.reinterpretAsInts().sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }

    public static float silu(float v) {
        return (float) (v / (1.0 + Math.exp(-v)));
    }

    /** softplus(v) = log(1 + e^v), without overflow for large v. */
    public static float softplus(float v) {
        return v > 20f ? v : (float) Math.log1p(Math.exp(v));
    }
}
