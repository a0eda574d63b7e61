package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q8_0 weights (ggml semantics): per row and block of 32 columns a scale d = max|w|/127, rounded to
 * float16, and the values q = round(w/d) in int8; a weight is q·d. Layout, per tile and block, one
 * record read front to back: the 2P scales (float16, in row order), then per column the tile's rows
 * side by side, one byte each. Every path computes an output as ggml does: per block, c = Σ float(q)·x
 * as a chain of fused multiply-adds over the block's 32 columns, then acc = fma(c, d, acc), in column
 * order. The scale is applied once per block instead of once per weight (one vector operation fewer
 * per 16 weights, in loops that are bound by the vector units), and several tokens use the blocked
 * kernels of Q4_0 with an activation scale of 1.
 */
public final class Q8Matrix extends CpuMatrix {
    /** Bytes for one panel of quants: as many as F has lanes, at least 64 bits (the smallest vector shape). */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, PANEL * 8)));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort U16 = Floats.U16;
    /** Bytes of one block of a tile: its scales, then its 32 columns. */
    private static final int BLOCK_BYTES = TILE * 2 + BLOCK * TILE;
    private final MemorySegment data;
    /** A scale of 1 per block: the activations' "scales" for the blocked kernels, which Q8_0 does not quantize. */
    private final float[] ones;

    Q8Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.Q8_0);
        // Slack at the end: a vector load of a panel may be wider than the panel (64-bit minimum).
        this.data = arena.allocate((long) tiles * blocks * BLOCK_BYTES + 64, 64);
        this.ones = new float[blocks];
        java.util.Arrays.fill(ones, 1f);
    }

    /** Byte offset of block {@code block} of {@code tile}: its scales; column i of the block follows at {@code + 2·TILE + i·TILE}. */
    private long blockOffset(int tile, int block) {
        return ((long) tile * blocks + block) * BLOCK_BYTES;
    }

    @Override
    public long bytes() {
        return data.byteSize() - 64;
    }

    @Override
    void packTile(WeightSource src, int tile, float[] buf) {
        // The tile is built on the heap and copied in one go: off-heap stores one by one cost more.
        byte[] rec = new byte[blocks * BLOCK_BYTES];
        for (int j = 0; j < TILE; j++) {
            MemorySegment row = src.tileRow(tile, j, PANEL);
            if (row == null) {
                continue;
            }
            src.readFloats(row, buf);
            for (int b = 0; b < blocks; b++) {
                int from = b * BLOCK;
                int to = Math.min(cols, from + BLOCK);
                float amax = 0;
                for (int i = from; i < to; i++) {
                    float a = Math.abs(buf[i]);
                    if (a > amax || a != a) { // a NaN sticks: the scale check below names the block
                        amax = a;
                    }
                }
                float scale = amax / 127f;
                short h = Quantize.scale(scale, src, tile, j, from, WeightFormat.Q8_0);
                int r = b * BLOCK_BYTES;
                rec[r + 2 * j] = (byte) h;
                rec[r + 2 * j + 1] = (byte) (h >> 8);
                float id = scale != 0 ? 1f / scale : 0f;
                for (int i = from; i < to; i++) {
                    rec[r + TILE * 2 + (i - from) * TILE + j] = (byte) Math.clamp(Quantize.roundAway(buf[i] * id), -127, 127);
                }
            }
        }
        MemorySegment.copy(rec, 0, data, ValueLayout.JAVA_BYTE, blockOffset(tile, 0), rec.length);
    }

    @Override
    int decodeBufferFloats() {
        return 2 * TILE;
    }

    @Override
    int decodePairBufferFloats() {
        return 8 * TILE;
    }

    @Override
    int decodeGroup() {
        return 4;
    }

    /** One token times one tile: per block the chain of float(q)·x, then times the block's scale (see the class comment). */
    @Override
    int decodeTile(MatmulScratch in, int tile, float[] buf) {
        float[] x = in.x;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            FloatVector c0 = z, c1 = z;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector xv = FloatVector.broadcast(F, x[i]);
                c0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, c0);
                c1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, c1);
            }
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, 0, 1, TILE, buf, TILE);
            a0 = c0.fma(FloatVector.fromArray(F, buf, TILE), a0);
            a1 = c1.fma(FloatVector.fromArray(F, buf, TILE + PANEL), a1);
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, PANEL);
        return 0;
    }

    /**
     * {@link #decodeTile} for four consecutive tiles at once, sharing the activation broadcasts: four
     * streams of weights in flight keep more memory requests outstanding than one.
     */
    @Override
    int decodeTilePair(MatmulScratch in, int tile, float[] buf) {
        float[] x = in.x;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, d0 = z, d1 = z;
        long tileBytes = (long) blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = ra + tileBytes;
            long rc = ra + 2 * tileBytes;
            long rd = ra + 3 * tileBytes;
            FloatVector sa0 = z, sa1 = z, sb0 = z, sb1 = z, sc0 = z, sc1 = z, sd0 = z, sd1 = z;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector xv = FloatVector.broadcast(F, x[i]);
                sa0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sa0);
                sa1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sa1);
                sb0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sb0);
                sb1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sb1);
                sc0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rc + o, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sc0);
                sc1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rc + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sc1);
                sd0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rd + o, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sd0);
                sd1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rd + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, sd1);
            }
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, tileBytes, 4, TILE, buf, 4 * TILE);
            a0 = sa0.fma(FloatVector.fromArray(F, buf, 4 * TILE), a0);
            a1 = sa1.fma(FloatVector.fromArray(F, buf, 4 * TILE + PANEL), a1);
            b0 = sb0.fma(FloatVector.fromArray(F, buf, 5 * TILE), b0);
            b1 = sb1.fma(FloatVector.fromArray(F, buf, 5 * TILE + PANEL), b1);
            c0 = sc0.fma(FloatVector.fromArray(F, buf, 6 * TILE), c0);
            c1 = sc1.fma(FloatVector.fromArray(F, buf, 6 * TILE + PANEL), c1);
            d0 = sd0.fma(FloatVector.fromArray(F, buf, 7 * TILE), d0);
            d1 = sd1.fma(FloatVector.fromArray(F, buf, 7 * TILE + PANEL), d1);
        }
        a0.intoArray(buf, 0 * TILE);
        a1.intoArray(buf, 0 * TILE + PANEL);
        b0.intoArray(buf, 1 * TILE);
        b1.intoArray(buf, 1 * TILE + PANEL);
        c0.intoArray(buf, 2 * TILE);
        c1.intoArray(buf, 2 * TILE + PANEL);
        d0.intoArray(buf, 3 * TILE);
        d1.intoArray(buf, 3 * TILE + PANEL);
        return 0;
    }

    /**
     * Widens a tile to float(q) and, after the columns, its scales (as Q4_0 does), for the blocked
     * kernels, which form the same block sums and scaled totals as decoding.
     */
    @Override
    void dequantizeTile(int tile, float[] buf) {
        int so = colsPadded * TILE;
        for (int b = 0; b < blocks; b++) {
            long r = blockOffset(tile, b);
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long off = r + TILE * 2 + (long) (i - b * BLOCK) * TILE;
                ((FloatVector) ByteVector.fromMemorySegment(B, data, off, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(buf, i * TILE);
                ((FloatVector) ByteVector.fromMemorySegment(B, data, off + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(buf, i * TILE + PANEL);
            }
            Half.toFloats(data, r, buf, so + b * TILE, TILE);
        }
    }

    @Override
    int tileBufferFloats() {
        return colsPadded * TILE + blocks * TILE;
    }

    @Override
    int maxTokens() {
        return TileKernels.MAX_BLOCKED_TOKENS;
    }

    /** The blocked kernel with the raw activations and a scale of 1 for every block: fma(c, d·1, acc) = fma(c, d, acc). */
    @Override
    void tileKernel(MatmulScratch in, int tile, int tokens, int s, float[] buf, float[] out, int o) {
        TileKernels.blocked(tokens, buf, colsPadded, colsPadded * TILE, in.x, s * colsPadded, ones, 0, 0, out, o);
    }

    /** 2 and 3 tokens: block sums and totals of 2 tiles × 2 panels × t tokens fit in registers; 4 would not (32). */
    @Override
    int fewTokens() {
        return 3;
    }

    @Override
    void decodeFew(MatmulScratch in, int tile, int second, int t, float[] buf) {
        if (t == 2) {
            few2(in.x, in.stride, tile, second, buf);
        } else {
            few3(in.x, in.stride, tile, second, buf);
        }
    }

    /** 2 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}). */
    private void few2(float[] x, int xs, int tile, int second, float[] buf) {
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa10 = z, aa11 = z, ab00 = z, ab01 = z, ab10 = z, ab11 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            FloatVector sa00 = z, sa01 = z, sa10 = z, sa11 = z, sb00 = z, sb01 = z, sb10 = z, sb11 = z;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector wa0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector wa1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector wb0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector wb1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector x0 = FloatVector.broadcast(F, x[i]);
                sa00 = wa0.fma(x0, sa00);
                sa10 = wa1.fma(x0, sa10);
                sb00 = wb0.fma(x0, sb00);
                sb10 = wb1.fma(x0, sb10);
                FloatVector x1 = FloatVector.broadcast(F, x[1 * xs + i]);
                sa01 = wa0.fma(x1, sa01);
                sa11 = wa1.fma(x1, sa11);
                sb01 = wb0.fma(x1, sb01);
                sb11 = wb1.fma(x1, sb11);
            }
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, rb - ra, 2, TILE, buf, 4 * TILE);
            FloatVector da0 = FloatVector.fromArray(F, buf, 4 * TILE);
            FloatVector da1 = FloatVector.fromArray(F, buf, 4 * TILE + PANEL);
            FloatVector db0 = FloatVector.fromArray(F, buf, 4 * TILE + 2 * PANEL);
            FloatVector db1 = FloatVector.fromArray(F, buf, 4 * TILE + 3 * PANEL);
            aa00 = sa00.fma(da0, aa00);
            aa01 = sa01.fma(da0, aa01);
            aa10 = sa10.fma(da1, aa10);
            aa11 = sa11.fma(da1, aa11);
            ab00 = sb00.fma(db0, ab00);
            ab01 = sb01.fma(db0, ab01);
            ab10 = sb10.fma(db1, ab10);
            ab11 = sb11.fma(db1, ab11);
        }
        aa00.intoArray(buf, (0) * TILE);
        aa01.intoArray(buf, (1) * TILE);
        aa10.intoArray(buf, (0) * TILE + PANEL);
        aa11.intoArray(buf, (1) * TILE + PANEL);
        ab00.intoArray(buf, (2) * TILE);
        ab01.intoArray(buf, (3) * TILE);
        ab10.intoArray(buf, (2) * TILE + PANEL);
        ab11.intoArray(buf, (3) * TILE + PANEL);
    }

    /** 3 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}). */
    private void few3(float[] x, int xs, int tile, int second, float[] buf) {
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa02 = z, aa10 = z, aa11 = z, aa12 = z, ab00 = z, ab01 = z, ab02 = z, ab10 = z, ab11 = z, ab12 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            FloatVector sa00 = z, sa01 = z, sa02 = z, sa10 = z, sa11 = z, sa12 = z, sb00 = z, sb01 = z, sb02 = z, sb10 = z, sb11 = z, sb12 = z;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector wa0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector wa1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector wb0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector wb1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0));
                FloatVector x0 = FloatVector.broadcast(F, x[i]);
                sa00 = wa0.fma(x0, sa00);
                sa10 = wa1.fma(x0, sa10);
                sb00 = wb0.fma(x0, sb00);
                sb10 = wb1.fma(x0, sb10);
                FloatVector x1 = FloatVector.broadcast(F, x[1 * xs + i]);
                sa01 = wa0.fma(x1, sa01);
                sa11 = wa1.fma(x1, sa11);
                sb01 = wb0.fma(x1, sb01);
                sb11 = wb1.fma(x1, sb11);
                FloatVector x2 = FloatVector.broadcast(F, x[2 * xs + i]);
                sa02 = wa0.fma(x2, sa02);
                sa12 = wa1.fma(x2, sa12);
                sb02 = wb0.fma(x2, sb02);
                sb12 = wb1.fma(x2, sb12);
            }
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, rb - ra, 2, TILE, buf, 6 * TILE);
            FloatVector da0 = FloatVector.fromArray(F, buf, 6 * TILE);
            FloatVector da1 = FloatVector.fromArray(F, buf, 6 * TILE + PANEL);
            FloatVector db0 = FloatVector.fromArray(F, buf, 6 * TILE + 2 * PANEL);
            FloatVector db1 = FloatVector.fromArray(F, buf, 6 * TILE + 3 * PANEL);
            aa00 = sa00.fma(da0, aa00);
            aa01 = sa01.fma(da0, aa01);
            aa02 = sa02.fma(da0, aa02);
            aa10 = sa10.fma(da1, aa10);
            aa11 = sa11.fma(da1, aa11);
            aa12 = sa12.fma(da1, aa12);
            ab00 = sb00.fma(db0, ab00);
            ab01 = sb01.fma(db0, ab01);
            ab02 = sb02.fma(db0, ab02);
            ab10 = sb10.fma(db1, ab10);
            ab11 = sb11.fma(db1, ab11);
            ab12 = sb12.fma(db1, ab12);
        }
        aa00.intoArray(buf, (0) * TILE);
        aa01.intoArray(buf, (1) * TILE);
        aa02.intoArray(buf, (2) * TILE);
        aa10.intoArray(buf, (0) * TILE + PANEL);
        aa11.intoArray(buf, (1) * TILE + PANEL);
        aa12.intoArray(buf, (2) * TILE + PANEL);
        ab00.intoArray(buf, (3) * TILE);
        ab01.intoArray(buf, (4) * TILE);
        ab02.intoArray(buf, (5) * TILE);
        ab10.intoArray(buf, (3) * TILE + PANEL);
        ab11.intoArray(buf, (4) * TILE + PANEL);
        ab12.intoArray(buf, (5) * TILE + PANEL);
    }

    @Override
    public void row(int row, float[] out, int outOff) {
        int tile = tileOf(row);
        int lane = row % TILE;
        for (int i = 0; i < cols; i++) {
            long r = blockOffset(tile, i / BLOCK);
            float d = Float.float16ToFloat(data.get(U16, r + 2L * lane));
            out[outOff + i] = data.get(ValueLayout.JAVA_BYTE, r + TILE * 2 + (long) (i % BLOCK) * TILE + lane) * d;
        }
    }
}
