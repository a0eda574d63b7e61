package io.llamba.engine.llama;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static io.llamba.engine.llama.LlamaCpuStatePool.BLOCK_TOKENS;

/**
 * The CPU kernels of the Llama plugin: RoPE, the KV cache layout, causal softmax attention of one
 * token over a paged cache, and the MLP's SwiGLU.
 *
 * <p>Cache blocks: keys are stored transposed, {@code [kv head][dim][position in block]}, so the
 * scores of 16 positions are one vector accumulated over the head's dimensions (no horizontal sums
 * in the hot loop); values are {@code [kv head][position in block][dim]}, so the weighted sum is a
 * vector update per position. Every reduction runs in a fixed order and the exponential is our own
 * polynomial (not {@code VectorOperators.EXP}, whose last bit may change when the JIT recompiles), so
 * a token's result depends only on its query and its sequence's cache.
 */
final class LlamaCpuKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private LlamaCpuKernels() {
    }

    /**
     * Rotates {@code heads} heads of {@code d} values at {@code x[off ..)} by the angles whose cosines
     * and sines are {@code cos/sin[csOff .. csOff + d/2)}, pairing value i with value i + d/2
     * (the "rotate half" layout of Hugging Face checkpoints).
     */
    static void rope(float[] x, int off, int heads, int d, float[] cos, float[] sin, int csOff) {
        int half = d / 2;
        for (int h = 0; h < heads; h++) {
            int a = off + h * d;
            int b = a + half;
            for (int i = 0; i < half; i++) {
                float c = cos[csOff + i];
                float s = sin[csOff + i];
                float x0 = x[a + i];
                float x1 = x[b + i];
                x[a + i] = x0 * c - x1 * s;
                x[b + i] = x1 * c + x0 * s;
            }
        }
    }

    /** Writes one token's keys and values (kv heads × d each, at {@code k/v[off ..)}) at {@code position} of the layer's cache. */
    static void store(LlamaCpuState s, int layer, int position, float[] k, float[] v, int off, int kvHeads, int d) {
        float[] kb = s.keys[layer][position / BLOCK_TOKENS];
        float[] vb = s.values[layer][position / BLOCK_TOKENS];
        int p = position % BLOCK_TOKENS;
        for (int g = 0; g < kvHeads; g++) {
            int kBase = g * d * BLOCK_TOKENS + p;
            for (int i = 0; i < d; i++) {
                kb[kBase + i * BLOCK_TOKENS] = k[off + g * d + i];
            }
            System.arraycopy(v, off + g * d, vb, (g * BLOCK_TOKENS + p) * d, d);
        }
    }

    /** Score floats one head needs for n positions: whole blocks. */
    static int paddedLength(int n) {
        return (n + BLOCK_TOKENS - 1) / BLOCK_TOKENS * BLOCK_TOKENS;
    }

    /**
     * Attention of the {@code group} query heads at {@code q[qOff ..)} (consecutive, d values each)
     * that share kv head {@code g}, over cache positions [0, n): softmax(q·kᵀ·scale)·v into
     * {@code out[outOff ..)}. Each block of keys and values is read once for the whole group.
     *
     * @param scores scratch of at least group·paddedLength(n) floats
     */
    static void attend(float[] q, int qOff, int group, int d, LlamaCpuState s, int layer, int g, int n, float scale,
                       float[] scores, float[] out, int outOff) {
        float[][] keys = s.keys[layer];
        float[][] values = s.values[layer];
        int stride = paddedLength(n);
        int blocks = stride / BLOCK_TOKENS;
        int kHead = g * d * BLOCK_TOKENS;
        for (int b = 0; b < blocks; b++) {
            float[] kb = keys[b];
            for (int h = 0; h < group; h++) {
                blockScores(q, qOff + h * d, d, kb, kHead, scale, scores, h * stride + b * BLOCK_TOKENS);
            }
        }
        for (int h = 0; h < group; h++) {
            softmax(scores, h * stride, n);
        }
        java.util.Arrays.fill(out, outOff, outOff + group * d, 0f);
        int vHead = g * BLOCK_TOKENS * d;
        for (int j = 0; j < n; j++) {
            float[] vb = values[j / BLOCK_TOKENS];
            int vo = vHead + (j % BLOCK_TOKENS) * d;
            for (int h = 0; h < group; h++) {
                axpy(scores[h * stride + j], vb, vo, out, outOff + h * d, d);
            }
        }
    }

    /**
     * scores[so + p] = scale · q·k_p for the BLOCK_TOKENS positions p of one block (positions past the
     * sequence get meaningless values, never read): four vectors of positions at a time, each
     * accumulated over the d dimensions of the transposed keys.
     */
    private static void blockScores(float[] q, int qo, int d, float[] kb, int kHead, float scale, float[] scores, int so) {
        for (int c = 0; c < BLOCK_TOKENS; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            int base = kHead + c;
            for (int i = 0; i < d; i++, base += BLOCK_TOKENS) {
                FloatVector qi = FloatVector.broadcast(F, q[qo + i]);
                a0 = FloatVector.fromArray(F, kb, base).fma(qi, a0);
                a1 = FloatVector.fromArray(F, kb, base + L).fma(qi, a1);
                a2 = FloatVector.fromArray(F, kb, base + 2 * L).fma(qi, a2);
                a3 = FloatVector.fromArray(F, kb, base + 3 * L).fma(qi, a3);
            }
            a0.mul(scale).intoArray(scores, so + c);
            a1.mul(scale).intoArray(scores, so + c + L);
            a2.mul(scale).intoArray(scores, so + c + 2 * L);
            a3.mul(scale).intoArray(scores, so + c + 3 * L);
        }
    }

    /** y += a·x over n values. */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int bound = F.loopBound(n);
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] = Math.fma(a, x[xOff + i], y[yOff + i]);
        }
    }

    /** In place: v ← exp(v - max v) / Σ exp(v - max v) over v[off .. off+n), summed in a fixed order. */
    static void softmax(float[] v, int off, int n) {
        int bound = F.loopBound(n);
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (bound > 0) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i < bound; i += L) {
                m = m.max(FloatVector.fromArray(F, v, off + i));
            }
            max = m.reduceLanes(VectorOperators.MAX); // exact whatever the order
        }
        for (; i < n; i++) {
            max = Math.max(max, v[off + i]);
        }
        FloatVector acc = FloatVector.zero(F);
        i = 0;
        for (; i < bound; i += L) {
            FloatVector e = exp(FloatVector.fromArray(F, v, off + i).sub(max));
            e.intoArray(v, off + i);
            acc = acc.add(e);
        }
        float sum = 0f;
        for (int lane = 0; lane < L; lane++) {
            sum += acc.lane(lane);
        }
        for (; i < n; i++) {
            float e = exp(v[off + i] - max);
            v[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(F, v, off + i).mul(inv).intoArray(v, off + i);
        }
        for (; i < n; i++) {
            v[off + i] *= inv;
        }
    }

    /** SwiGLU in place, as Llama's MLP: g[i] = g[i]·sigmoid(g[i]) · u[i], with {@link #exp}. */
    static void swiglu(float[] g, int gOff, float[] u, int uOff, int n) {
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(F, g, gOff + i);
            v.div(exp(v.neg()).add(1f)).mul(FloatVector.fromArray(F, u, uOff + i)).intoArray(g, gOff + i);
        }
        for (; i < n; i++) {
            float v = g[gOff + i];
            g[gOff + i] = v / (exp(-v) + 1f) * u[uOff + i];
        }
    }

    // exp(x): x = k·ln2 + r with k = round(x·log2 e) (by the 1.5·2^23 trick: plain float adds) and
    // |r| ≤ ln2/2; e^r by its Taylor series to degree 7 (relative error < 1e-8 before rounding),
    // times 2^k built in the exponent bits. Below -87 the result (< 2^-125) is 0; above 88 it is
    // clamped to e^88 (the MLP's sigmoid needs no more). Scalar and vector forms do the same
    // operations in the same order, so a value gets the same result in a vector lane or in a tail loop,
    // and the JIT tier does not change it (VectorOperators.EXP may differ in the last bit between the
    // interpreter and compiled code).
    private static final float LOG2E = 1.44269504f;
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float ROUND = 12582912f; // 1.5·2^23
    private static final float MIN_X = -87f;
    private static final float MAX_X = 88f;
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    static float exp(float x) {
        if (!(x >= MIN_X)) {
            return 0f;
        }
        x = Math.min(x, MAX_X);
        float kf = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(kf, -LN2_HI, x);
        r = Math.fma(kf, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(((int) kf + 127) << 23);
    }

    static FloatVector exp(FloatVector x) {
        var tiny = x.compare(VectorOperators.GE, MIN_X).not(); // NaN included, as in the scalar form
        x = x.max(MIN_X).min(MAX_X);
        FloatVector kf = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = kf.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = kf.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(F, C7), FloatVector.broadcast(F, C6));
        p = p.fma(r, FloatVector.broadcast(F, C5));
        p = p.fma(r, FloatVector.broadcast(F, C4));
        p = p.fma(r, FloatVector.broadcast(F, C3));
        p = p.fma(r, FloatVector.broadcast(F, C2));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
        FloatVector scale = k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale).blend(0f, tiny);
    }
}
