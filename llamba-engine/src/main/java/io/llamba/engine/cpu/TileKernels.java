package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-tiled microkernels for matrix-matrix products over one tile of weights already widened to
 * float32 in a thread's buffer ({@code w[i·2P + lane]}: for each input column i, the 2P rows of the
 * tile, P = lanes of a float vector). Each kernel keeps 2×T accumulators in registers for T token
 * rows: two weight loads and T broadcasts feed 2T fused multiply-adds per column.
 *
 * <p>Every output is one sequential chain of fused multiply-adds over i, lane by lane, whatever T is
 * and whatever kernel or format-specific decode loop computes it: that is what makes a row's result
 * independent of the batch it is in. (No horizontal sums: their order is left to the JIT.)
 *
 * <p>Written out per T because the Vector API keeps vectors in registers only when they are plain
 * locals of one compiled method.
 */
final class TileKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int P = F.length();
    private static final int TILE = 2 * P;
    /** Token rows per kernel call: 8 needs 16 accumulators, which fit in 32 vector registers (AVX-512) but not in 16. */
    static final int MAX_TOKENS = P >= 16 ? 8 : 4;

    private TileKernels() {
    }

    /** The largest kernel width for {@code remaining} token rows. */
    static int width(int remaining) {
        return remaining >= MAX_TOKENS ? MAX_TOKENS : remaining >= 4 ? 4 : remaining >= 2 ? 2 : 1;
    }

    static void plain(int tokens, float[] w, int n, float[] x, int xs, int x0, float[] out, int o) {
        switch (tokens) {
            case 8 -> plain8(w, n, x, xs, x0, out, o);
            case 4 -> plain4(w, n, x, xs, x0, out, o);
            case 2 -> plain2(w, n, x, xs, x0, out, o);
            default -> plain1(w, n, x, xs, x0, out, o);
        }
    }

    static void blocked(int tokens, float[] w, int n, int so, float[] x, int xs, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        switch (tokens) {
            case 8 -> blocked8(w, n, so, x, xs, x0, dx, ds, d0, out, o);
            case 4 -> blocked4(w, n, so, x, xs, x0, dx, ds, d0, out, o);
            case 2 -> blocked2(w, n, so, x, xs, x0, dx, ds, d0, out, o);
            default -> blocked1(w, n, so, x, xs, x0, dx, ds, d0, out, o);
        }
    }

    /** Rows of a tile (two panels) times 8 token rows: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + k·xs + i]. */
    static void plain8(float[] w, int n, float[] x, int xs, int x0, float[] out, int o) {
        int x1 = x0 + xs, x2 = x0 + 2 * xs, x3 = x0 + 3 * xs, x4 = x0 + 4 * xs, x5 = x0 + 5 * xs, x6 = x0 + 6 * xs, x7 = x0 + 7 * xs;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z, a02 = z, a12 = z, a03 = z, a13 = z, a04 = z, a14 = z, a05 = z, a15 = z, a06 = z, a16 = z, a07 = z, a17 = z;
        for (int i = 0, wi = 0; i < n; i++, wi += TILE) {
            FloatVector w0 = FloatVector.fromArray(F, w, wi);
            FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
            a00 = w0.fma(b0, a00);
            a10 = w1.fma(b0, a10);
            FloatVector b1 = FloatVector.broadcast(F, x[x1 + i]);
            a01 = w0.fma(b1, a01);
            a11 = w1.fma(b1, a11);
            FloatVector b2 = FloatVector.broadcast(F, x[x2 + i]);
            a02 = w0.fma(b2, a02);
            a12 = w1.fma(b2, a12);
            FloatVector b3 = FloatVector.broadcast(F, x[x3 + i]);
            a03 = w0.fma(b3, a03);
            a13 = w1.fma(b3, a13);
            FloatVector b4 = FloatVector.broadcast(F, x[x4 + i]);
            a04 = w0.fma(b4, a04);
            a14 = w1.fma(b4, a14);
            FloatVector b5 = FloatVector.broadcast(F, x[x5 + i]);
            a05 = w0.fma(b5, a05);
            a15 = w1.fma(b5, a15);
            FloatVector b6 = FloatVector.broadcast(F, x[x6 + i]);
            a06 = w0.fma(b6, a06);
            a16 = w1.fma(b6, a16);
            FloatVector b7 = FloatVector.broadcast(F, x[x7 + i]);
            a07 = w0.fma(b7, a07);
            a17 = w1.fma(b7, a17);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + P);
        a02.intoArray(out, o + 2 * TILE);
        a12.intoArray(out, o + 2 * TILE + P);
        a03.intoArray(out, o + 3 * TILE);
        a13.intoArray(out, o + 3 * TILE + P);
        a04.intoArray(out, o + 4 * TILE);
        a14.intoArray(out, o + 4 * TILE + P);
        a05.intoArray(out, o + 5 * TILE);
        a15.intoArray(out, o + 5 * TILE + P);
        a06.intoArray(out, o + 6 * TILE);
        a16.intoArray(out, o + 6 * TILE + P);
        a07.intoArray(out, o + 7 * TILE);
        a17.intoArray(out, o + 7 * TILE + P);
    }

    /** Rows of a tile (two panels) times 4 token rows: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + k·xs + i]. */
    static void plain4(float[] w, int n, float[] x, int xs, int x0, float[] out, int o) {
        int x1 = x0 + xs, x2 = x0 + 2 * xs, x3 = x0 + 3 * xs;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z, a02 = z, a12 = z, a03 = z, a13 = z;
        for (int i = 0, wi = 0; i < n; i++, wi += TILE) {
            FloatVector w0 = FloatVector.fromArray(F, w, wi);
            FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
            a00 = w0.fma(b0, a00);
            a10 = w1.fma(b0, a10);
            FloatVector b1 = FloatVector.broadcast(F, x[x1 + i]);
            a01 = w0.fma(b1, a01);
            a11 = w1.fma(b1, a11);
            FloatVector b2 = FloatVector.broadcast(F, x[x2 + i]);
            a02 = w0.fma(b2, a02);
            a12 = w1.fma(b2, a12);
            FloatVector b3 = FloatVector.broadcast(F, x[x3 + i]);
            a03 = w0.fma(b3, a03);
            a13 = w1.fma(b3, a13);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + P);
        a02.intoArray(out, o + 2 * TILE);
        a12.intoArray(out, o + 2 * TILE + P);
        a03.intoArray(out, o + 3 * TILE);
        a13.intoArray(out, o + 3 * TILE + P);
    }

    /** Rows of a tile (two panels) times 2 token rows: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + k·xs + i]. */
    static void plain2(float[] w, int n, float[] x, int xs, int x0, float[] out, int o) {
        int x1 = x0 + xs;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z;
        for (int i = 0, wi = 0; i < n; i++, wi += TILE) {
            FloatVector w0 = FloatVector.fromArray(F, w, wi);
            FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
            a00 = w0.fma(b0, a00);
            a10 = w1.fma(b0, a10);
            FloatVector b1 = FloatVector.broadcast(F, x[x1 + i]);
            a01 = w0.fma(b1, a01);
            a11 = w1.fma(b1, a11);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + P);
    }

    /** Rows of a tile (two panels) times 1 token row: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + k·xs + i]. */
    static void plain1(float[] w, int n, float[] x, int xs, int x0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z;
        for (int i = 0, wi = 0; i < n; i++, wi += TILE) {
            FloatVector w0 = FloatVector.fromArray(F, w, wi);
            FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
            a00 = w0.fma(b0, a00);
            a10 = w1.fma(b0, a10);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
    }

    /**
     * Q4_0 rows of a tile times 8 quantized token rows, per block of 32: c = Σ_i q·xq exactly (integers
     * below 2^24), then acc = fma(c, d_w·d_x, acc) with acc kept in out. The same arithmetic as
     * {@link Q4Matrix}'s integer decode kernel, so results do not depend on the path.
     */
    static void blocked8(float[] w, int n, int so, float[] x, int xs, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        int x1 = x0 + xs, x2 = x0 + 2 * xs, x3 = x0 + 3 * xs, x4 = x0 + 4 * xs, x5 = x0 + 5 * xs, x6 = x0 + 6 * xs, x7 = x0 + 7 * xs;
        FloatVector z = FloatVector.zero(F);
        z.intoArray(out, o);
        z.intoArray(out, o + P);
        z.intoArray(out, o + TILE);
        z.intoArray(out, o + TILE + P);
        z.intoArray(out, o + 2 * TILE);
        z.intoArray(out, o + 2 * TILE + P);
        z.intoArray(out, o + 3 * TILE);
        z.intoArray(out, o + 3 * TILE + P);
        z.intoArray(out, o + 4 * TILE);
        z.intoArray(out, o + 4 * TILE + P);
        z.intoArray(out, o + 5 * TILE);
        z.intoArray(out, o + 5 * TILE + P);
        z.intoArray(out, o + 6 * TILE);
        z.intoArray(out, o + 6 * TILE + P);
        z.intoArray(out, o + 7 * TILE);
        z.intoArray(out, o + 7 * TILE + P);
        for (int blk = 0, i = 0, wi = 0; i < n; blk++) {
            FloatVector c00 = z, c10 = z, c01 = z, c11 = z, c02 = z, c12 = z, c03 = z, c13 = z, c04 = z, c14 = z, c05 = z, c15 = z, c06 = z, c16 = z, c07 = z, c17 = z;
            for (int end = i + 32; i < end; i++, wi += TILE) {
                FloatVector w0 = FloatVector.fromArray(F, w, wi);
                FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
                c00 = w0.fma(b0, c00);
                c10 = w1.fma(b0, c10);
                FloatVector b1 = FloatVector.broadcast(F, x[x1 + i]);
                c01 = w0.fma(b1, c01);
                c11 = w1.fma(b1, c11);
                FloatVector b2 = FloatVector.broadcast(F, x[x2 + i]);
                c02 = w0.fma(b2, c02);
                c12 = w1.fma(b2, c12);
                FloatVector b3 = FloatVector.broadcast(F, x[x3 + i]);
                c03 = w0.fma(b3, c03);
                c13 = w1.fma(b3, c13);
                FloatVector b4 = FloatVector.broadcast(F, x[x4 + i]);
                c04 = w0.fma(b4, c04);
                c14 = w1.fma(b4, c14);
                FloatVector b5 = FloatVector.broadcast(F, x[x5 + i]);
                c05 = w0.fma(b5, c05);
                c15 = w1.fma(b5, c15);
                FloatVector b6 = FloatVector.broadcast(F, x[x6 + i]);
                c06 = w0.fma(b6, c06);
                c16 = w1.fma(b6, c16);
                FloatVector b7 = FloatVector.broadcast(F, x[x7 + i]);
                c07 = w0.fma(b7, c07);
                c17 = w1.fma(b7, c17);
            }
            FloatVector s0 = FloatVector.fromArray(F, w, so + blk * TILE);
            FloatVector s1 = FloatVector.fromArray(F, w, so + blk * TILE + P);
            float e0 = dx[d0 + blk];
            c00.fma(s0.mul(e0), FloatVector.fromArray(F, out, o)).intoArray(out, o);
            c10.fma(s1.mul(e0), FloatVector.fromArray(F, out, o + P)).intoArray(out, o + P);
            float e1 = dx[d0 + ds + blk];
            c01.fma(s0.mul(e1), FloatVector.fromArray(F, out, o + TILE)).intoArray(out, o + TILE);
            c11.fma(s1.mul(e1), FloatVector.fromArray(F, out, o + TILE + P)).intoArray(out, o + TILE + P);
            float e2 = dx[d0 + 2 * ds + blk];
            c02.fma(s0.mul(e2), FloatVector.fromArray(F, out, o + 2 * TILE)).intoArray(out, o + 2 * TILE);
            c12.fma(s1.mul(e2), FloatVector.fromArray(F, out, o + 2 * TILE + P)).intoArray(out, o + 2 * TILE + P);
            float e3 = dx[d0 + 3 * ds + blk];
            c03.fma(s0.mul(e3), FloatVector.fromArray(F, out, o + 3 * TILE)).intoArray(out, o + 3 * TILE);
            c13.fma(s1.mul(e3), FloatVector.fromArray(F, out, o + 3 * TILE + P)).intoArray(out, o + 3 * TILE + P);
            float e4 = dx[d0 + 4 * ds + blk];
            c04.fma(s0.mul(e4), FloatVector.fromArray(F, out, o + 4 * TILE)).intoArray(out, o + 4 * TILE);
            c14.fma(s1.mul(e4), FloatVector.fromArray(F, out, o + 4 * TILE + P)).intoArray(out, o + 4 * TILE + P);
            float e5 = dx[d0 + 5 * ds + blk];
            c05.fma(s0.mul(e5), FloatVector.fromArray(F, out, o + 5 * TILE)).intoArray(out, o + 5 * TILE);
            c15.fma(s1.mul(e5), FloatVector.fromArray(F, out, o + 5 * TILE + P)).intoArray(out, o + 5 * TILE + P);
            float e6 = dx[d0 + 6 * ds + blk];
            c06.fma(s0.mul(e6), FloatVector.fromArray(F, out, o + 6 * TILE)).intoArray(out, o + 6 * TILE);
            c16.fma(s1.mul(e6), FloatVector.fromArray(F, out, o + 6 * TILE + P)).intoArray(out, o + 6 * TILE + P);
            float e7 = dx[d0 + 7 * ds + blk];
            c07.fma(s0.mul(e7), FloatVector.fromArray(F, out, o + 7 * TILE)).intoArray(out, o + 7 * TILE);
            c17.fma(s1.mul(e7), FloatVector.fromArray(F, out, o + 7 * TILE + P)).intoArray(out, o + 7 * TILE + P);
        }
    }

    /**
     * Q4_0 rows of a tile times 4 quantized token rows, per block of 32: c = Σ_i q·xq exactly (integers
     * below 2^24), then acc = fma(c, d_w·d_x, acc) with acc kept in out. The same arithmetic as
     * {@link Q4Matrix}'s integer decode kernel, so results do not depend on the path.
     */
    static void blocked4(float[] w, int n, int so, float[] x, int xs, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        int x1 = x0 + xs, x2 = x0 + 2 * xs, x3 = x0 + 3 * xs;
        FloatVector z = FloatVector.zero(F);
        z.intoArray(out, o);
        z.intoArray(out, o + P);
        z.intoArray(out, o + TILE);
        z.intoArray(out, o + TILE + P);
        z.intoArray(out, o + 2 * TILE);
        z.intoArray(out, o + 2 * TILE + P);
        z.intoArray(out, o + 3 * TILE);
        z.intoArray(out, o + 3 * TILE + P);
        for (int blk = 0, i = 0, wi = 0; i < n; blk++) {
            FloatVector c00 = z, c10 = z, c01 = z, c11 = z, c02 = z, c12 = z, c03 = z, c13 = z;
            for (int end = i + 32; i < end; i++, wi += TILE) {
                FloatVector w0 = FloatVector.fromArray(F, w, wi);
                FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
                c00 = w0.fma(b0, c00);
                c10 = w1.fma(b0, c10);
                FloatVector b1 = FloatVector.broadcast(F, x[x1 + i]);
                c01 = w0.fma(b1, c01);
                c11 = w1.fma(b1, c11);
                FloatVector b2 = FloatVector.broadcast(F, x[x2 + i]);
                c02 = w0.fma(b2, c02);
                c12 = w1.fma(b2, c12);
                FloatVector b3 = FloatVector.broadcast(F, x[x3 + i]);
                c03 = w0.fma(b3, c03);
                c13 = w1.fma(b3, c13);
            }
            FloatVector s0 = FloatVector.fromArray(F, w, so + blk * TILE);
            FloatVector s1 = FloatVector.fromArray(F, w, so + blk * TILE + P);
            float e0 = dx[d0 + blk];
            c00.fma(s0.mul(e0), FloatVector.fromArray(F, out, o)).intoArray(out, o);
            c10.fma(s1.mul(e0), FloatVector.fromArray(F, out, o + P)).intoArray(out, o + P);
            float e1 = dx[d0 + ds + blk];
            c01.fma(s0.mul(e1), FloatVector.fromArray(F, out, o + TILE)).intoArray(out, o + TILE);
            c11.fma(s1.mul(e1), FloatVector.fromArray(F, out, o + TILE + P)).intoArray(out, o + TILE + P);
            float e2 = dx[d0 + 2 * ds + blk];
            c02.fma(s0.mul(e2), FloatVector.fromArray(F, out, o + 2 * TILE)).intoArray(out, o + 2 * TILE);
            c12.fma(s1.mul(e2), FloatVector.fromArray(F, out, o + 2 * TILE + P)).intoArray(out, o + 2 * TILE + P);
            float e3 = dx[d0 + 3 * ds + blk];
            c03.fma(s0.mul(e3), FloatVector.fromArray(F, out, o + 3 * TILE)).intoArray(out, o + 3 * TILE);
            c13.fma(s1.mul(e3), FloatVector.fromArray(F, out, o + 3 * TILE + P)).intoArray(out, o + 3 * TILE + P);
        }
    }

    /**
     * Q4_0 rows of a tile times 2 quantized token rows, per block of 32: c = Σ_i q·xq exactly (integers
     * below 2^24), then acc = fma(c, d_w·d_x, acc) with acc kept in out. The same arithmetic as
     * {@link Q4Matrix}'s integer decode kernel, so results do not depend on the path.
     */
    static void blocked2(float[] w, int n, int so, float[] x, int xs, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        int x1 = x0 + xs;
        FloatVector z = FloatVector.zero(F);
        z.intoArray(out, o);
        z.intoArray(out, o + P);
        z.intoArray(out, o + TILE);
        z.intoArray(out, o + TILE + P);
        for (int blk = 0, i = 0, wi = 0; i < n; blk++) {
            FloatVector c00 = z, c10 = z, c01 = z, c11 = z;
            for (int end = i + 32; i < end; i++, wi += TILE) {
                FloatVector w0 = FloatVector.fromArray(F, w, wi);
                FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
                c00 = w0.fma(b0, c00);
                c10 = w1.fma(b0, c10);
                FloatVector b1 = FloatVector.broadcast(F, x[x1 + i]);
                c01 = w0.fma(b1, c01);
                c11 = w1.fma(b1, c11);
            }
            FloatVector s0 = FloatVector.fromArray(F, w, so + blk * TILE);
            FloatVector s1 = FloatVector.fromArray(F, w, so + blk * TILE + P);
            float e0 = dx[d0 + blk];
            c00.fma(s0.mul(e0), FloatVector.fromArray(F, out, o)).intoArray(out, o);
            c10.fma(s1.mul(e0), FloatVector.fromArray(F, out, o + P)).intoArray(out, o + P);
            float e1 = dx[d0 + ds + blk];
            c01.fma(s0.mul(e1), FloatVector.fromArray(F, out, o + TILE)).intoArray(out, o + TILE);
            c11.fma(s1.mul(e1), FloatVector.fromArray(F, out, o + TILE + P)).intoArray(out, o + TILE + P);
        }
    }

    /**
     * Q4_0 rows of a tile times 1 quantized token row, per block of 32: c = Σ_i q·xq exactly (integers
     * below 2^24), then acc = fma(c, d_w·d_x, acc) with acc kept in out. The same arithmetic as
     * {@link Q4Matrix}'s integer decode kernel, so results do not depend on the path.
     */
    static void blocked1(float[] w, int n, int so, float[] x, int xs, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        z.intoArray(out, o);
        z.intoArray(out, o + P);
        for (int blk = 0, i = 0, wi = 0; i < n; blk++) {
            FloatVector c00 = z, c10 = z;
            for (int end = i + 32; i < end; i++, wi += TILE) {
                FloatVector w0 = FloatVector.fromArray(F, w, wi);
                FloatVector w1 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b0 = FloatVector.broadcast(F, x[x0 + i]);
                c00 = w0.fma(b0, c00);
                c10 = w1.fma(b0, c10);
            }
            FloatVector s0 = FloatVector.fromArray(F, w, so + blk * TILE);
            FloatVector s1 = FloatVector.fromArray(F, w, so + blk * TILE + P);
            float e0 = dx[d0 + blk];
            c00.fma(s0.mul(e0), FloatVector.fromArray(F, out, o)).intoArray(out, o);
            c10.fma(s1.mul(e0), FloatVector.fromArray(F, out, o + P)).intoArray(out, o + P);
        }
    }
}
