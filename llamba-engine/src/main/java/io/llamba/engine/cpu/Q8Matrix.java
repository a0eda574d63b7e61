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
 * side by side, one byte each. Both product paths widen a weight to float(q)·d (an exact product) and
 * sum one chain of fused multiply-adds per output, so several tokens use the plain kernels.
 */
public final class Q8Matrix extends CpuMatrix {
    /** Bytes for one panel of quants: as many as F has lanes, at least 64 bits (the smallest vector shape). */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, PANEL * 8)));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort U16 = Floats.U16;
    /** Bytes of one block of a tile: its scales, then its 32 columns. */
    private static final int BLOCK_BYTES = TILE * 2 + BLOCK * TILE;
    private final MemorySegment data;

    Q8Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.Q8_0);
        // Slack at the end: a vector load of a panel may be wider than the panel (64-bit minimum).
        this.data = arena.allocate((long) tiles * blocks * BLOCK_BYTES + 64, 64);
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

    /** One token times one tile: a weight is float(q)·d, then one chain of multiply-adds per output. */
    @Override
    int decodeTile(MatmulScratch in, int tile, float[] buf) {
        float[] x = in.x;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, 0, 1, TILE, buf, TILE);
            FloatVector da0 = FloatVector.fromArray(F, buf, TILE);
            FloatVector da1 = FloatVector.fromArray(F, buf, TILE + PANEL);
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector xv = FloatVector.broadcast(F, x[i]);
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da0).fma(xv, a0);
                a1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da1).fma(xv, a1);
            }
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, 0 + PANEL);
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
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, tileBytes, 4, TILE, buf, 4 * TILE);
            FloatVector da0 = FloatVector.fromArray(F, buf, 4 * TILE);
            FloatVector da1 = FloatVector.fromArray(F, buf, 4 * TILE + PANEL);
            FloatVector db0 = FloatVector.fromArray(F, buf, 4 * TILE + 2 * PANEL);
            FloatVector db1 = FloatVector.fromArray(F, buf, 4 * TILE + 3 * PANEL);
            FloatVector dc0 = FloatVector.fromArray(F, buf, 4 * TILE + 4 * PANEL);
            FloatVector dc1 = FloatVector.fromArray(F, buf, 4 * TILE + 5 * PANEL);
            FloatVector dd0 = FloatVector.fromArray(F, buf, 4 * TILE + 6 * PANEL);
            FloatVector dd1 = FloatVector.fromArray(F, buf, 4 * TILE + 7 * PANEL);
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector xv = FloatVector.broadcast(F, x[i]);
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da0).fma(xv, a0);
                a1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da1).fma(xv, a1);
                b0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db0).fma(xv, b0);
                b1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db1).fma(xv, b1);
                c0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rc + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(dc0).fma(xv, c0);
                c1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rc + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(dc1).fma(xv, c1);
                d0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rd + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(dd0).fma(xv, d0);
                d1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rd + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(dd1).fma(xv, d1);
            }
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, 0 + PANEL);
        b0.intoArray(buf, TILE);
        b1.intoArray(buf, TILE + PANEL);
        c0.intoArray(buf, 2 * TILE);
        c1.intoArray(buf, 2 * TILE + PANEL);
        d0.intoArray(buf, 3 * TILE);
        d1.intoArray(buf, 3 * TILE + PANEL);
        return 0;
    }

    /** Widens a tile to float(q)·d, the same products as decoding forms, for the plain kernels. */
    @Override
    void dequantizeTile(int tile, float[] buf) {
        for (int b = 0; b < blocks; b++) {
            long r = blockOffset(tile, b);
            // The block's scales, widened as Half explains, into the slot of its first column (read before it is overwritten).
            Half.toFloats(data, r, 0, 1, TILE, buf, b * BLOCK * TILE);
            FloatVector d0 = FloatVector.fromArray(F, buf, b * BLOCK * TILE);
            FloatVector d1 = FloatVector.fromArray(F, buf, b * BLOCK * TILE + PANEL);
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long off = r + TILE * 2 + (long) (i - b * BLOCK) * TILE;
                ((FloatVector) ByteVector.fromMemorySegment(B, data, off, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d0).intoArray(buf, i * TILE);
                ((FloatVector) ByteVector.fromMemorySegment(B, data, off + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d1)
                        .intoArray(buf, i * TILE + PANEL);
            }
        }
    }

    @Override
    int fewTokens() {
        return 4;
    }

    @Override
    void decodeFew(MatmulScratch in, int tile, int second, int t, float[] buf) {
        switch (t) {
            case 2 -> few2(in.x, in.stride, tile, second, buf);
            case 3 -> few3(in.x, in.stride, tile, second, buf);
            default -> few4(in.x, in.stride, tile, second, buf);
        }
    }

    /** 2 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}). */
    private void few2(float[] x, int xs, int tile, int second, float[] buf) {
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa10 = z, aa11 = z, ab00 = z, ab01 = z, ab10 = z, ab11 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, rb - ra, 2, TILE, buf, 4 * TILE);
            FloatVector da0 = FloatVector.fromArray(F, buf, 4 * TILE);
            FloatVector da1 = FloatVector.fromArray(F, buf, 4 * TILE + PANEL);
            FloatVector db0 = FloatVector.fromArray(F, buf, 4 * TILE + 2 * PANEL);
            FloatVector db1 = FloatVector.fromArray(F, buf, 4 * TILE + 3 * PANEL);
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector wa0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da0);
                FloatVector wa1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da1);
                FloatVector wb0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db0);
                FloatVector wb1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db1);
                FloatVector x0 = FloatVector.broadcast(F, x[i]);
                aa00 = wa0.fma(x0, aa00);
                aa10 = wa1.fma(x0, aa10);
                ab00 = wb0.fma(x0, ab00);
                ab10 = wb1.fma(x0, ab10);
                FloatVector x1 = FloatVector.broadcast(F, x[1 * xs + i]);
                aa01 = wa0.fma(x1, aa01);
                aa11 = wa1.fma(x1, aa11);
                ab01 = wb0.fma(x1, ab01);
                ab11 = wb1.fma(x1, ab11);
            }
        }
        aa00.intoArray(buf, (0) * TILE);
        aa10.intoArray(buf, (0) * TILE + PANEL);
        aa01.intoArray(buf, (1) * TILE);
        aa11.intoArray(buf, (1) * TILE + PANEL);
        ab00.intoArray(buf, (2) * TILE);
        ab10.intoArray(buf, (2) * TILE + PANEL);
        ab01.intoArray(buf, (3) * TILE);
        ab11.intoArray(buf, (3) * TILE + PANEL);
    }

    /** 3 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}). */
    private void few3(float[] x, int xs, int tile, int second, float[] buf) {
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa02 = z, aa10 = z, aa11 = z, aa12 = z, ab00 = z, ab01 = z, ab02 = z, ab10 = z, ab11 = z, ab12 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, rb - ra, 2, TILE, buf, 6 * TILE);
            FloatVector da0 = FloatVector.fromArray(F, buf, 6 * TILE);
            FloatVector da1 = FloatVector.fromArray(F, buf, 6 * TILE + PANEL);
            FloatVector db0 = FloatVector.fromArray(F, buf, 6 * TILE + 2 * PANEL);
            FloatVector db1 = FloatVector.fromArray(F, buf, 6 * TILE + 3 * PANEL);
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector wa0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da0);
                FloatVector wa1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da1);
                FloatVector wb0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db0);
                FloatVector wb1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db1);
                FloatVector x0 = FloatVector.broadcast(F, x[i]);
                aa00 = wa0.fma(x0, aa00);
                aa10 = wa1.fma(x0, aa10);
                ab00 = wb0.fma(x0, ab00);
                ab10 = wb1.fma(x0, ab10);
                FloatVector x1 = FloatVector.broadcast(F, x[1 * xs + i]);
                aa01 = wa0.fma(x1, aa01);
                aa11 = wa1.fma(x1, aa11);
                ab01 = wb0.fma(x1, ab01);
                ab11 = wb1.fma(x1, ab11);
                FloatVector x2 = FloatVector.broadcast(F, x[2 * xs + i]);
                aa02 = wa0.fma(x2, aa02);
                aa12 = wa1.fma(x2, aa12);
                ab02 = wb0.fma(x2, ab02);
                ab12 = wb1.fma(x2, ab12);
            }
        }
        aa00.intoArray(buf, (0) * TILE);
        aa10.intoArray(buf, (0) * TILE + PANEL);
        aa01.intoArray(buf, (1) * TILE);
        aa11.intoArray(buf, (1) * TILE + PANEL);
        aa02.intoArray(buf, (2) * TILE);
        aa12.intoArray(buf, (2) * TILE + PANEL);
        ab00.intoArray(buf, (3) * TILE);
        ab10.intoArray(buf, (3) * TILE + PANEL);
        ab01.intoArray(buf, (4) * TILE);
        ab11.intoArray(buf, (4) * TILE + PANEL);
        ab02.intoArray(buf, (5) * TILE);
        ab12.intoArray(buf, (5) * TILE + PANEL);
    }

    /** 4 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}). */
    private void few4(float[] x, int xs, int tile, int second, float[] buf) {
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa02 = z, aa03 = z, aa10 = z, aa11 = z, aa12 = z, aa13 = z, ab00 = z, ab01 = z, ab02 = z, ab03 = z, ab10 = z, ab11 = z, ab12 = z, ab13 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            // The block's scales, widened as Half explains, into buf after the results (a call takes no vectors).
            Half.toFloats(data, ra, rb - ra, 2, TILE, buf, 8 * TILE);
            FloatVector da0 = FloatVector.fromArray(F, buf, 8 * TILE);
            FloatVector da1 = FloatVector.fromArray(F, buf, 8 * TILE + PANEL);
            FloatVector db0 = FloatVector.fromArray(F, buf, 8 * TILE + 2 * PANEL);
            FloatVector db1 = FloatVector.fromArray(F, buf, 8 * TILE + 3 * PANEL);
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector wa0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da0);
                FloatVector wa1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(da1);
                FloatVector wb0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db0);
                FloatVector wb1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).mul(db1);
                FloatVector x0 = FloatVector.broadcast(F, x[i]);
                aa00 = wa0.fma(x0, aa00);
                aa10 = wa1.fma(x0, aa10);
                ab00 = wb0.fma(x0, ab00);
                ab10 = wb1.fma(x0, ab10);
                FloatVector x1 = FloatVector.broadcast(F, x[1 * xs + i]);
                aa01 = wa0.fma(x1, aa01);
                aa11 = wa1.fma(x1, aa11);
                ab01 = wb0.fma(x1, ab01);
                ab11 = wb1.fma(x1, ab11);
                FloatVector x2 = FloatVector.broadcast(F, x[2 * xs + i]);
                aa02 = wa0.fma(x2, aa02);
                aa12 = wa1.fma(x2, aa12);
                ab02 = wb0.fma(x2, ab02);
                ab12 = wb1.fma(x2, ab12);
                FloatVector x3 = FloatVector.broadcast(F, x[3 * xs + i]);
                aa03 = wa0.fma(x3, aa03);
                aa13 = wa1.fma(x3, aa13);
                ab03 = wb0.fma(x3, ab03);
                ab13 = wb1.fma(x3, ab13);
            }
        }
        aa00.intoArray(buf, (0) * TILE);
        aa10.intoArray(buf, (0) * TILE + PANEL);
        aa01.intoArray(buf, (1) * TILE);
        aa11.intoArray(buf, (1) * TILE + PANEL);
        aa02.intoArray(buf, (2) * TILE);
        aa12.intoArray(buf, (2) * TILE + PANEL);
        aa03.intoArray(buf, (3) * TILE);
        aa13.intoArray(buf, (3) * TILE + PANEL);
        ab00.intoArray(buf, (4) * TILE);
        ab10.intoArray(buf, (4) * TILE + PANEL);
        ab01.intoArray(buf, (5) * TILE);
        ab11.intoArray(buf, (5) * TILE + PANEL);
        ab02.intoArray(buf, (6) * TILE);
        ab12.intoArray(buf, (6) * TILE + PANEL);
        ab03.intoArray(buf, (7) * TILE);
        ab13.intoArray(buf, (7) * TILE + PANEL);
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
