package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-tiled microkernels for matrix-matrix products over one tile of weights already widened to
 * float32 in a thread's buffer ({@code w[i·2P + lane]}: for each input column i, the 2P rows of the
 * tile, P = lanes of a float vector) and a group of T token rows packed column-major
 * ({@code x[x0 + i·T + k]}, see {@link CpuMatrix#prepare}). Each kernel keeps 2×T accumulators in
 * registers: two weight loads and T broadcasts (all at fixed offsets from two moving indexes) feed
 * 2T fused multiply-adds per column.
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
    /** Token rows per plain kernel call: 8 needs 16 accumulators, which fit in 32 vector registers (AVX-512) but not in 16. */
    static final int MAX_TOKENS = P >= 16 ? 8 : 4;
    /**
     * Token rows per blocked kernel call: 6 keeps 24 accumulators (block sums and totals) in 32
     * registers (AVX-512); with 16 (AVX2), 4 keeps its block sums in registers and its totals in memory.
     */
    static final int MAX_BLOCKED_TOKENS = P >= 16 ? 6 : 4;

    private TileKernels() {
    }

    /** The kernel width for {@code remaining} token rows: the largest of {@code max}, 4, 2, 1 that fits. */
    static int width(int remaining, int max) {
        return remaining >= max ? max : remaining >= 4 && max > 4 ? 4 : remaining >= 2 ? 2 : 1;
    }

    static void plain(int tokens, float[] w, int n, float[] x, int x0, float[] out, int o) {
        switch (tokens) {
            case 8 -> plain8(w, n, x, x0, out, o);
            case 4 -> plain4(w, n, x, x0, out, o);
            case 2 -> plain2(w, n, x, x0, out, o);
            default -> plain1(w, n, x, x0, out, o);
        }
    }

    static void blocked(int tokens, float[] w, int n, int so, float[] x, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        switch (tokens) {
            case 6 -> blocked6(w, n, so, x, x0, dx, ds, d0, out, o);
            case 4 -> blocked4(w, n, so, x, x0, dx, ds, d0, out, o);
            case 2 -> blocked2(w, n, so, x, x0, dx, ds, d0, out, o);
            default -> blocked1(w, n, so, x, x0, dx, ds, d0, out, o);
        }
    }

    /** Rows of a tile times 8 token rows packed at x0: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + i·8 + k]. */
    static void plain8(float[] w, int n, float[] x, int x0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z, a02 = z, a12 = z, a03 = z, a13 = z, a04 = z, a14 = z, a05 = z, a15 = z, a06 = z, a16 = z, a07 = z, a17 = z;
        // Two columns per iteration (n is a multiple of 32): less loop overhead per multiply-add.
        for (int i = 0, wi = 0, xi = x0; i < n; i += 2, wi += 2 * TILE, xi += 16) {
            FloatVector w00 = FloatVector.fromArray(F, w, wi);
            FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b00 = FloatVector.broadcast(F, x[xi]);
            a00 = w00.fma(b00, a00);
            a10 = w10.fma(b00, a10);
            FloatVector b01 = FloatVector.broadcast(F, x[xi + 1]);
            a01 = w00.fma(b01, a01);
            a11 = w10.fma(b01, a11);
            FloatVector b02 = FloatVector.broadcast(F, x[xi + 2]);
            a02 = w00.fma(b02, a02);
            a12 = w10.fma(b02, a12);
            FloatVector b03 = FloatVector.broadcast(F, x[xi + 3]);
            a03 = w00.fma(b03, a03);
            a13 = w10.fma(b03, a13);
            FloatVector b04 = FloatVector.broadcast(F, x[xi + 4]);
            a04 = w00.fma(b04, a04);
            a14 = w10.fma(b04, a14);
            FloatVector b05 = FloatVector.broadcast(F, x[xi + 5]);
            a05 = w00.fma(b05, a05);
            a15 = w10.fma(b05, a15);
            FloatVector b06 = FloatVector.broadcast(F, x[xi + 6]);
            a06 = w00.fma(b06, a06);
            a16 = w10.fma(b06, a16);
            FloatVector b07 = FloatVector.broadcast(F, x[xi + 7]);
            a07 = w00.fma(b07, a07);
            a17 = w10.fma(b07, a17);
            FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
            FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
            FloatVector b10 = FloatVector.broadcast(F, x[xi + 8]);
            a00 = w01.fma(b10, a00);
            a10 = w11.fma(b10, a10);
            FloatVector b11 = FloatVector.broadcast(F, x[xi + 9]);
            a01 = w01.fma(b11, a01);
            a11 = w11.fma(b11, a11);
            FloatVector b12 = FloatVector.broadcast(F, x[xi + 10]);
            a02 = w01.fma(b12, a02);
            a12 = w11.fma(b12, a12);
            FloatVector b13 = FloatVector.broadcast(F, x[xi + 11]);
            a03 = w01.fma(b13, a03);
            a13 = w11.fma(b13, a13);
            FloatVector b14 = FloatVector.broadcast(F, x[xi + 12]);
            a04 = w01.fma(b14, a04);
            a14 = w11.fma(b14, a14);
            FloatVector b15 = FloatVector.broadcast(F, x[xi + 13]);
            a05 = w01.fma(b15, a05);
            a15 = w11.fma(b15, a15);
            FloatVector b16 = FloatVector.broadcast(F, x[xi + 14]);
            a06 = w01.fma(b16, a06);
            a16 = w11.fma(b16, a16);
            FloatVector b17 = FloatVector.broadcast(F, x[xi + 15]);
            a07 = w01.fma(b17, a07);
            a17 = w11.fma(b17, a17);
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

    /** Rows of a tile times 4 token rows packed at x0: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + i·4 + k]. */
    static void plain4(float[] w, int n, float[] x, int x0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z, a02 = z, a12 = z, a03 = z, a13 = z;
        // Two columns per iteration (n is a multiple of 32): less loop overhead per multiply-add.
        for (int i = 0, wi = 0, xi = x0; i < n; i += 2, wi += 2 * TILE, xi += 8) {
            FloatVector w00 = FloatVector.fromArray(F, w, wi);
            FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b00 = FloatVector.broadcast(F, x[xi]);
            a00 = w00.fma(b00, a00);
            a10 = w10.fma(b00, a10);
            FloatVector b01 = FloatVector.broadcast(F, x[xi + 1]);
            a01 = w00.fma(b01, a01);
            a11 = w10.fma(b01, a11);
            FloatVector b02 = FloatVector.broadcast(F, x[xi + 2]);
            a02 = w00.fma(b02, a02);
            a12 = w10.fma(b02, a12);
            FloatVector b03 = FloatVector.broadcast(F, x[xi + 3]);
            a03 = w00.fma(b03, a03);
            a13 = w10.fma(b03, a13);
            FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
            FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
            FloatVector b10 = FloatVector.broadcast(F, x[xi + 4]);
            a00 = w01.fma(b10, a00);
            a10 = w11.fma(b10, a10);
            FloatVector b11 = FloatVector.broadcast(F, x[xi + 5]);
            a01 = w01.fma(b11, a01);
            a11 = w11.fma(b11, a11);
            FloatVector b12 = FloatVector.broadcast(F, x[xi + 6]);
            a02 = w01.fma(b12, a02);
            a12 = w11.fma(b12, a12);
            FloatVector b13 = FloatVector.broadcast(F, x[xi + 7]);
            a03 = w01.fma(b13, a03);
            a13 = w11.fma(b13, a13);
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

    /** Rows of a tile times 2 token rows packed at x0: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + i·2 + k]. */
    static void plain2(float[] w, int n, float[] x, int x0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z;
        // Two columns per iteration (n is a multiple of 32): less loop overhead per multiply-add.
        for (int i = 0, wi = 0, xi = x0; i < n; i += 2, wi += 2 * TILE, xi += 4) {
            FloatVector w00 = FloatVector.fromArray(F, w, wi);
            FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b00 = FloatVector.broadcast(F, x[xi]);
            a00 = w00.fma(b00, a00);
            a10 = w10.fma(b00, a10);
            FloatVector b01 = FloatVector.broadcast(F, x[xi + 1]);
            a01 = w00.fma(b01, a01);
            a11 = w10.fma(b01, a11);
            FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
            FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
            FloatVector b10 = FloatVector.broadcast(F, x[xi + 2]);
            a00 = w01.fma(b10, a00);
            a10 = w11.fma(b10, a10);
            FloatVector b11 = FloatVector.broadcast(F, x[xi + 3]);
            a01 = w01.fma(b11, a01);
            a11 = w11.fma(b11, a11);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + P);
    }

    /** Rows of a tile times 1 token row packed at x0: out[o + k·2P + lane] = Σ_i w[i·2P + lane]·x[x0 + i·1 + k]. */
    static void plain1(float[] w, int n, float[] x, int x0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z;
        // Two columns per iteration (n is a multiple of 32): less loop overhead per multiply-add.
        for (int i = 0, wi = 0, xi = x0; i < n; i += 2, wi += 2 * TILE, xi += 2) {
            FloatVector w00 = FloatVector.fromArray(F, w, wi);
            FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
            FloatVector b00 = FloatVector.broadcast(F, x[xi]);
            a00 = w00.fma(b00, a00);
            a10 = w10.fma(b00, a10);
            FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
            FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
            FloatVector b10 = FloatVector.broadcast(F, x[xi + 1]);
            a00 = w01.fma(b10, a00);
            a10 = w11.fma(b10, a10);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
    }

    /**
     * The blocked product for 6 token rows with every accumulator in registers (2×6 for the block sums, 2×6
     * for the totals): per block, c = Σ_i w·x as a chain of fused multiply-adds, then acc = fma(c, d_w·d_x, acc).
     */
    static void blocked6(float[] w, int n, int so, float[] x, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z, a02 = z, a12 = z, a03 = z, a13 = z, a04 = z, a14 = z, a05 = z, a15 = z;
        for (int blk = 0, i = 0, wi = 0, xi = x0; i < n; blk++) {
            FloatVector c00 = z, c10 = z, c01 = z, c11 = z, c02 = z, c12 = z, c03 = z, c13 = z, c04 = z, c14 = z, c05 = z, c15 = z;
            for (int end = i + 32; i < end; i += 2, wi += 2 * TILE, xi += 12) {
                FloatVector w00 = FloatVector.fromArray(F, w, wi);
                FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b00 = FloatVector.broadcast(F, x[xi]);
                c00 = w00.fma(b00, c00);
                c10 = w10.fma(b00, c10);
                FloatVector b01 = FloatVector.broadcast(F, x[xi + 1]);
                c01 = w00.fma(b01, c01);
                c11 = w10.fma(b01, c11);
                FloatVector b02 = FloatVector.broadcast(F, x[xi + 2]);
                c02 = w00.fma(b02, c02);
                c12 = w10.fma(b02, c12);
                FloatVector b03 = FloatVector.broadcast(F, x[xi + 3]);
                c03 = w00.fma(b03, c03);
                c13 = w10.fma(b03, c13);
                FloatVector b04 = FloatVector.broadcast(F, x[xi + 4]);
                c04 = w00.fma(b04, c04);
                c14 = w10.fma(b04, c14);
                FloatVector b05 = FloatVector.broadcast(F, x[xi + 5]);
                c05 = w00.fma(b05, c05);
                c15 = w10.fma(b05, c15);
                FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
                FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
                FloatVector b10 = FloatVector.broadcast(F, x[xi + 6]);
                c00 = w01.fma(b10, c00);
                c10 = w11.fma(b10, c10);
                FloatVector b11 = FloatVector.broadcast(F, x[xi + 7]);
                c01 = w01.fma(b11, c01);
                c11 = w11.fma(b11, c11);
                FloatVector b12 = FloatVector.broadcast(F, x[xi + 8]);
                c02 = w01.fma(b12, c02);
                c12 = w11.fma(b12, c12);
                FloatVector b13 = FloatVector.broadcast(F, x[xi + 9]);
                c03 = w01.fma(b13, c03);
                c13 = w11.fma(b13, c13);
                FloatVector b14 = FloatVector.broadcast(F, x[xi + 10]);
                c04 = w01.fma(b14, c04);
                c14 = w11.fma(b14, c14);
                FloatVector b15 = FloatVector.broadcast(F, x[xi + 11]);
                c05 = w01.fma(b15, c05);
                c15 = w11.fma(b15, c15);
            }
            FloatVector s0 = FloatVector.fromArray(F, w, so + blk * TILE);
            FloatVector s1 = FloatVector.fromArray(F, w, so + blk * TILE + P);
            float e0 = dx[d0 + blk];
            a00 = c00.fma(s0.mul(e0), a00);
            a10 = c10.fma(s1.mul(e0), a10);
            float e1 = dx[d0 + ds + blk];
            a01 = c01.fma(s0.mul(e1), a01);
            a11 = c11.fma(s1.mul(e1), a11);
            float e2 = dx[d0 + 2 * ds + blk];
            a02 = c02.fma(s0.mul(e2), a02);
            a12 = c12.fma(s1.mul(e2), a12);
            float e3 = dx[d0 + 3 * ds + blk];
            a03 = c03.fma(s0.mul(e3), a03);
            a13 = c13.fma(s1.mul(e3), a13);
            float e4 = dx[d0 + 4 * ds + blk];
            a04 = c04.fma(s0.mul(e4), a04);
            a14 = c14.fma(s1.mul(e4), a14);
            float e5 = dx[d0 + 5 * ds + blk];
            a05 = c05.fma(s0.mul(e5), a05);
            a15 = c15.fma(s1.mul(e5), a15);
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
    }

    /**
     * The blocked product for 4 token rows, the block sums (2×4) in registers and the totals in
     * {@code out}: per block, c = Σ_i w·x as a chain of fused multiply-adds, then
     * out = fma(c, d_w·d_x, out), the same operations as with the totals in registers (a float stored
     * and loaded is the same float). With 16 vector registers (AVX2) the totals would not fit beside
     * the sums; in memory they cost a load and a store per accumulator and block of 32 columns, and
     * four tokens per pass read the widened tile half as often as two.
     */
    static void blocked4(float[] w, int n, int so, float[] x, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        java.util.Arrays.fill(out, o, o + 4 * TILE, 0f);
        FloatVector z = FloatVector.zero(F);
        for (int blk = 0, i = 0, wi = 0, xi = x0; i < n; blk++) {
            FloatVector c00 = z, c10 = z, c01 = z, c11 = z, c02 = z, c12 = z, c03 = z, c13 = z;
            for (int end = i + 32; i < end; i += 2, wi += 2 * TILE, xi += 8) {
                FloatVector w00 = FloatVector.fromArray(F, w, wi);
                FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b00 = FloatVector.broadcast(F, x[xi]);
                c00 = w00.fma(b00, c00);
                c10 = w10.fma(b00, c10);
                FloatVector b01 = FloatVector.broadcast(F, x[xi + 1]);
                c01 = w00.fma(b01, c01);
                c11 = w10.fma(b01, c11);
                FloatVector b02 = FloatVector.broadcast(F, x[xi + 2]);
                c02 = w00.fma(b02, c02);
                c12 = w10.fma(b02, c12);
                FloatVector b03 = FloatVector.broadcast(F, x[xi + 3]);
                c03 = w00.fma(b03, c03);
                c13 = w10.fma(b03, c13);
                FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
                FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
                FloatVector b10 = FloatVector.broadcast(F, x[xi + 4]);
                c00 = w01.fma(b10, c00);
                c10 = w11.fma(b10, c10);
                FloatVector b11 = FloatVector.broadcast(F, x[xi + 5]);
                c01 = w01.fma(b11, c01);
                c11 = w11.fma(b11, c11);
                FloatVector b12 = FloatVector.broadcast(F, x[xi + 6]);
                c02 = w01.fma(b12, c02);
                c12 = w11.fma(b12, c12);
                FloatVector b13 = FloatVector.broadcast(F, x[xi + 7]);
                c03 = w01.fma(b13, c03);
                c13 = w11.fma(b13, c13);
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
     * The blocked product for 2 token rows with every accumulator in registers (2×2 for the block sums, 2×2
     * for the totals): per block, c = Σ_i w·x as a chain of fused multiply-adds, then acc = fma(c, d_w·d_x, acc).
     */
    static void blocked2(float[] w, int n, int so, float[] x, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z;
        for (int blk = 0, i = 0, wi = 0, xi = x0; i < n; blk++) {
            FloatVector c00 = z, c10 = z, c01 = z, c11 = z;
            for (int end = i + 32; i < end; i += 2, wi += 2 * TILE, xi += 4) {
                FloatVector w00 = FloatVector.fromArray(F, w, wi);
                FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b00 = FloatVector.broadcast(F, x[xi]);
                c00 = w00.fma(b00, c00);
                c10 = w10.fma(b00, c10);
                FloatVector b01 = FloatVector.broadcast(F, x[xi + 1]);
                c01 = w00.fma(b01, c01);
                c11 = w10.fma(b01, c11);
                FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
                FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
                FloatVector b10 = FloatVector.broadcast(F, x[xi + 2]);
                c00 = w01.fma(b10, c00);
                c10 = w11.fma(b10, c10);
                FloatVector b11 = FloatVector.broadcast(F, x[xi + 3]);
                c01 = w01.fma(b11, c01);
                c11 = w11.fma(b11, c11);
            }
            FloatVector s0 = FloatVector.fromArray(F, w, so + blk * TILE);
            FloatVector s1 = FloatVector.fromArray(F, w, so + blk * TILE + P);
            float e0 = dx[d0 + blk];
            a00 = c00.fma(s0.mul(e0), a00);
            a10 = c10.fma(s1.mul(e0), a10);
            float e1 = dx[d0 + ds + blk];
            a01 = c01.fma(s0.mul(e1), a01);
            a11 = c11.fma(s1.mul(e1), a11);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + P);
    }

    /**
     * The blocked product for 1 token rows with every accumulator in registers (2×1 for the block sums, 2×1
     * for the totals): per block, c = Σ_i w·x as a chain of fused multiply-adds, then acc = fma(c, d_w·d_x, acc).
     */
    static void blocked1(float[] w, int n, int so, float[] x, int x0, float[] dx, int ds, int d0, float[] out, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z;
        for (int blk = 0, i = 0, wi = 0, xi = x0; i < n; blk++) {
            FloatVector c00 = z, c10 = z;
            for (int end = i + 32; i < end; i += 2, wi += 2 * TILE, xi += 2) {
                FloatVector w00 = FloatVector.fromArray(F, w, wi);
                FloatVector w10 = FloatVector.fromArray(F, w, wi + P);
                FloatVector b00 = FloatVector.broadcast(F, x[xi]);
                c00 = w00.fma(b00, c00);
                c10 = w10.fma(b00, c10);
                FloatVector w01 = FloatVector.fromArray(F, w, wi + TILE);
                FloatVector w11 = FloatVector.fromArray(F, w, wi + TILE + P);
                FloatVector b10 = FloatVector.broadcast(F, x[xi + 1]);
                c00 = w01.fma(b10, c00);
                c10 = w11.fma(b10, c10);
            }
            FloatVector s0 = FloatVector.fromArray(F, w, so + blk * TILE);
            FloatVector s1 = FloatVector.fromArray(F, w, so + blk * TILE + P);
            float e0 = dx[d0 + blk];
            a00 = c00.fma(s0.mul(e0), a00);
            a10 = c10.fma(s1.mul(e0), a10);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + P);
    }
}
