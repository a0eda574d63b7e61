package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise steps of a forward pass on float arrays, vectorised. */
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
        float ss = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, xOff + i).mul(scale).mul(FloatVector.fromArray(F, w, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = w[i] * (x[xOff + i] * scale);
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

    /** SwiGLU in place: g[i] = silu(g[i]) · u[i]. */
    public static void swiglu(float[] g, int gOff, float[] u, int uOff, int n) {
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, g, gOff + i);
            FloatVector sig = v.neg().lanewise(VectorOperators.EXP).add(1f);
            v.div(sig).mul(FloatVector.fromArray(F, u, uOff + i)).intoArray(g, gOff + i);
        }
        for (; i < n; i++) {
            g[gOff + i] = silu(g[gOff + i]) * u[uOff + i];
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
