package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * bfloat16 weights, the high half of a float32. Per tile and pair of columns (2c, 2c+1), one int per row
 * holds column 2c in its low half and 2c+1 in its high half: a 16-bit left shift widens the first and
 * masking the low half widens the second, one integer operation per vector of weights.
 */
public final class Bf16Matrix extends CpuMatrix {
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private final MemorySegment data;

    Bf16Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.BF16);
        this.data = arena.allocate((long) tiles * colsPadded * TILE * 2, 64);
    }

    /** Byte offset of the int holding columns (2c, 2c+1) of a tile's row {@code lane}. */
    private long offset(int tile, int c, int lane) {
        return (((long) tile * (colsPadded / 2) + c) * TILE + lane) * 4;
    }

    @Override
    public long bytes() {
        return data.byteSize();
    }

    @Override
    void packTile(WeightSource src, int tile, float[] buf) {
        // The tile is built on the heap and copied in one go: off-heap stores one by one cost more.
        int[] packed = new int[colsPadded / 2 * TILE];
        short[] bits = new short[cols];
        for (int j = 0; j < TILE; j++) {
            MemorySegment row = src.tileRow(tile, j, PANEL);
            if (row == null) {
                continue;
            }
            src.readBits(row, bits);
            for (int c = 0; 2 * c < cols; c++) {
                int lo = bits[2 * c] & 0xffff;
                int hi = 2 * c + 1 < cols ? bits[2 * c + 1] & 0xffff : 0;
                packed[c * TILE + j] = lo | hi << 16;
            }
        }
        MemorySegment.copy(packed, 0, data, I32, offset(tile, 0, 0), packed.length);
    }

    @Override
    int decodeTile(MatmulScratch in, int tile, float[] out) {
        float[] x = in.x;
        long base = offset(tile, 0, 0);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        for (int i = 0; i < colsPadded; i += 2) {
            long off = base + (long) i * TILE * 2;
            IntVector v0 = IntVector.fromMemorySegment(I, data, off, LE);
            IntVector v1 = IntVector.fromMemorySegment(I, data, off + PANEL * 4, LE);
            FloatVector be = FloatVector.broadcast(F, x[i]);
            FloatVector bo = FloatVector.broadcast(F, x[i + 1]);
            a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, a0);
            a1 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, a1);
            a0 = v0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, a0);
            a1 = v1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, a1);
        }
        a0.intoArray(out, 0);
        a1.intoArray(out, PANEL);
        return 0;
    }

    @Override
    int decodePairBufferFloats() {
        return 4 * TILE;
    }

    @Override
    int decodeGroup() {
        return 4;
    }

    /**
     * {@link #decodeTile} for four consecutive tiles at once, sharing the activation broadcasts: four
     * streams of weights in flight keep more memory requests outstanding than one.
     */
    @Override
    int decodeTilePair(MatmulScratch in, int tile, float[] buf) {
        float[] x = in.x;
        long tileBytes = (long) colsPadded * TILE * 2;
        long ra = offset(tile, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, d0 = z, d1 = z;
        for (int i = 0; i < colsPadded; i += 2) {
            long o = ra + (long) i * TILE * 2;
            FloatVector be = FloatVector.broadcast(F, x[i]);
            FloatVector bo = FloatVector.broadcast(F, x[i + 1]);
            IntVector va0 = IntVector.fromMemorySegment(I, data, o, LE);
            IntVector va1 = IntVector.fromMemorySegment(I, data, o + PANEL * 4, LE);
            IntVector vb0 = IntVector.fromMemorySegment(I, data, o + tileBytes, LE);
            IntVector vb1 = IntVector.fromMemorySegment(I, data, o + tileBytes + PANEL * 4, LE);
            IntVector vc0 = IntVector.fromMemorySegment(I, data, o + 2 * tileBytes, LE);
            IntVector vc1 = IntVector.fromMemorySegment(I, data, o + 2 * tileBytes + PANEL * 4, LE);
            IntVector vd0 = IntVector.fromMemorySegment(I, data, o + 3 * tileBytes, LE);
            IntVector vd1 = IntVector.fromMemorySegment(I, data, o + 3 * tileBytes + PANEL * 4, LE);
            a0 = va0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, a0);
            a1 = va1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, a1);
            b0 = vb0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, b0);
            b1 = vb1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, b1);
            c0 = vc0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, c0);
            c1 = vc1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, c1);
            d0 = vd0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, d0);
            d1 = vd1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(be, d1);
            a0 = va0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, a0);
            a1 = va1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, a1);
            b0 = vb0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, b0);
            b1 = vb1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, b1);
            c0 = vc0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, c0);
            c1 = vc1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, c1);
            d0 = vd0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, d0);
            d1 = vd1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats().fma(bo, d1);
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

    /** Several tokens read the packed weights directly, each tile from cache after its first group: no widened copy. */
    @Override
    int tileBufferFloats() {
        return 0;
    }

    @Override
    void tileKernel(MatmulScratch in, int tile, int tokens, int s, float[] buf, float[] out, int o) {
        switch (tokens) {
            case 8 -> gemm8(tile, in.x, s * colsPadded, out, o);
            case 4 -> gemm4(tile, in.x, s * colsPadded, out, o);
            case 2 -> gemm2(tile, in.x, s * colsPadded, out, o);
            default -> gemm1(tile, in.x, s * colsPadded, out, o);
        }
    }

    /** 8 packed token rows times tile {@code tile}, widening the weights in registers (see {@link #tileKernel}). */
    private void gemm8(int tile, float[] x, int x0, float[] out, int o) {
        long base = offset(tile, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z, a02 = z, a12 = z, a03 = z, a13 = z, a04 = z, a14 = z, a05 = z, a15 = z, a06 = z, a16 = z, a07 = z, a17 = z;
        for (int i = 0, xi = x0; i < colsPadded; i += 2, xi += 16) {
            long off = base + (long) i * TILE * 2;
            IntVector v0 = IntVector.fromMemorySegment(I, data, off, LE);
            IntVector v1 = IntVector.fromMemorySegment(I, data, off + PANEL * 4, LE);
            FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w10 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
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
            FloatVector w01 = v0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector w11 = v1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
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
        a10.intoArray(out, o + PANEL);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + PANEL);
        a02.intoArray(out, o + 2 * TILE);
        a12.intoArray(out, o + 2 * TILE + PANEL);
        a03.intoArray(out, o + 3 * TILE);
        a13.intoArray(out, o + 3 * TILE + PANEL);
        a04.intoArray(out, o + 4 * TILE);
        a14.intoArray(out, o + 4 * TILE + PANEL);
        a05.intoArray(out, o + 5 * TILE);
        a15.intoArray(out, o + 5 * TILE + PANEL);
        a06.intoArray(out, o + 6 * TILE);
        a16.intoArray(out, o + 6 * TILE + PANEL);
        a07.intoArray(out, o + 7 * TILE);
        a17.intoArray(out, o + 7 * TILE + PANEL);
    }

    /** 4 packed token rows times tile {@code tile}, widening the weights in registers (see {@link #tileKernel}). */
    private void gemm4(int tile, float[] x, int x0, float[] out, int o) {
        long base = offset(tile, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z, a02 = z, a12 = z, a03 = z, a13 = z;
        for (int i = 0, xi = x0; i < colsPadded; i += 2, xi += 8) {
            long off = base + (long) i * TILE * 2;
            IntVector v0 = IntVector.fromMemorySegment(I, data, off, LE);
            IntVector v1 = IntVector.fromMemorySegment(I, data, off + PANEL * 4, LE);
            FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w10 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
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
            FloatVector w01 = v0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector w11 = v1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
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
        a10.intoArray(out, o + PANEL);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + PANEL);
        a02.intoArray(out, o + 2 * TILE);
        a12.intoArray(out, o + 2 * TILE + PANEL);
        a03.intoArray(out, o + 3 * TILE);
        a13.intoArray(out, o + 3 * TILE + PANEL);
    }

    /** 2 packed token rows times tile {@code tile}, widening the weights in registers (see {@link #tileKernel}). */
    private void gemm2(int tile, float[] x, int x0, float[] out, int o) {
        long base = offset(tile, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z, a01 = z, a11 = z;
        for (int i = 0, xi = x0; i < colsPadded; i += 2, xi += 4) {
            long off = base + (long) i * TILE * 2;
            IntVector v0 = IntVector.fromMemorySegment(I, data, off, LE);
            IntVector v1 = IntVector.fromMemorySegment(I, data, off + PANEL * 4, LE);
            FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w10 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b00 = FloatVector.broadcast(F, x[xi]);
            a00 = w00.fma(b00, a00);
            a10 = w10.fma(b00, a10);
            FloatVector b01 = FloatVector.broadcast(F, x[xi + 1]);
            a01 = w00.fma(b01, a01);
            a11 = w10.fma(b01, a11);
            FloatVector w01 = v0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector w11 = v1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector b10 = FloatVector.broadcast(F, x[xi + 2]);
            a00 = w01.fma(b10, a00);
            a10 = w11.fma(b10, a10);
            FloatVector b11 = FloatVector.broadcast(F, x[xi + 3]);
            a01 = w01.fma(b11, a01);
            a11 = w11.fma(b11, a11);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + PANEL);
        a01.intoArray(out, o + TILE);
        a11.intoArray(out, o + TILE + PANEL);
    }

    /** 1 packed token row times tile {@code tile}, widening the weights in registers (see {@link #tileKernel}). */
    private void gemm1(int tile, float[] x, int x0, float[] out, int o) {
        long base = offset(tile, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a10 = z;
        for (int i = 0, xi = x0; i < colsPadded; i += 2, xi += 2) {
            long off = base + (long) i * TILE * 2;
            IntVector v0 = IntVector.fromMemorySegment(I, data, off, LE);
            IntVector v1 = IntVector.fromMemorySegment(I, data, off + PANEL * 4, LE);
            FloatVector w00 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w10 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b00 = FloatVector.broadcast(F, x[xi]);
            a00 = w00.fma(b00, a00);
            a10 = w10.fma(b00, a10);
            FloatVector w01 = v0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector w11 = v1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector b10 = FloatVector.broadcast(F, x[xi + 1]);
            a00 = w01.fma(b10, a00);
            a10 = w11.fma(b10, a10);
        }
        a00.intoArray(out, o);
        a10.intoArray(out, o + PANEL);
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
        long ra = offset(tile, 0, 0);
        long rb = offset(second, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa10 = z, aa11 = z, ab00 = z, ab01 = z, ab10 = z, ab11 = z;
        for (int i = 0; i < colsPadded; i += 2) {
            long o = (long) i * TILE * 2;
            IntVector va0 = IntVector.fromMemorySegment(I, data, ra + o, LE);
            IntVector va1 = IntVector.fromMemorySegment(I, data, ra + o + PANEL * 4, LE);
            IntVector vb0 = IntVector.fromMemorySegment(I, data, rb + o, LE);
            IntVector vb1 = IntVector.fromMemorySegment(I, data, rb + o + PANEL * 4, LE);
            FloatVector wa00 = va0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wa10 = va1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wb00 = vb0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wb10 = vb1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector x00 = FloatVector.broadcast(F, x[i]);
            aa00 = wa00.fma(x00, aa00);
            aa10 = wa10.fma(x00, aa10);
            ab00 = wb00.fma(x00, ab00);
            ab10 = wb10.fma(x00, ab10);
            FloatVector x10 = FloatVector.broadcast(F, x[1 * xs + i]);
            aa01 = wa00.fma(x10, aa01);
            aa11 = wa10.fma(x10, aa11);
            ab01 = wb00.fma(x10, ab01);
            ab11 = wb10.fma(x10, ab11);
            FloatVector wa01 = va0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wa11 = va1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wb01 = vb0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wb11 = vb1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector x01 = FloatVector.broadcast(F, x[i + 1]);
            aa00 = wa01.fma(x01, aa00);
            aa10 = wa11.fma(x01, aa10);
            ab00 = wb01.fma(x01, ab00);
            ab10 = wb11.fma(x01, ab10);
            FloatVector x11 = FloatVector.broadcast(F, x[1 * xs + i + 1]);
            aa01 = wa01.fma(x11, aa01);
            aa11 = wa11.fma(x11, aa11);
            ab01 = wb01.fma(x11, ab01);
            ab11 = wb11.fma(x11, ab11);
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
        long ra = offset(tile, 0, 0);
        long rb = offset(second, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa02 = z, aa10 = z, aa11 = z, aa12 = z, ab00 = z, ab01 = z, ab02 = z, ab10 = z, ab11 = z, ab12 = z;
        for (int i = 0; i < colsPadded; i += 2) {
            long o = (long) i * TILE * 2;
            IntVector va0 = IntVector.fromMemorySegment(I, data, ra + o, LE);
            IntVector va1 = IntVector.fromMemorySegment(I, data, ra + o + PANEL * 4, LE);
            IntVector vb0 = IntVector.fromMemorySegment(I, data, rb + o, LE);
            IntVector vb1 = IntVector.fromMemorySegment(I, data, rb + o + PANEL * 4, LE);
            FloatVector wa00 = va0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wa10 = va1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wb00 = vb0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wb10 = vb1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector x00 = FloatVector.broadcast(F, x[i]);
            aa00 = wa00.fma(x00, aa00);
            aa10 = wa10.fma(x00, aa10);
            ab00 = wb00.fma(x00, ab00);
            ab10 = wb10.fma(x00, ab10);
            FloatVector x10 = FloatVector.broadcast(F, x[1 * xs + i]);
            aa01 = wa00.fma(x10, aa01);
            aa11 = wa10.fma(x10, aa11);
            ab01 = wb00.fma(x10, ab01);
            ab11 = wb10.fma(x10, ab11);
            FloatVector x20 = FloatVector.broadcast(F, x[2 * xs + i]);
            aa02 = wa00.fma(x20, aa02);
            aa12 = wa10.fma(x20, aa12);
            ab02 = wb00.fma(x20, ab02);
            ab12 = wb10.fma(x20, ab12);
            FloatVector wa01 = va0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wa11 = va1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wb01 = vb0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wb11 = vb1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector x01 = FloatVector.broadcast(F, x[i + 1]);
            aa00 = wa01.fma(x01, aa00);
            aa10 = wa11.fma(x01, aa10);
            ab00 = wb01.fma(x01, ab00);
            ab10 = wb11.fma(x01, ab10);
            FloatVector x11 = FloatVector.broadcast(F, x[1 * xs + i + 1]);
            aa01 = wa01.fma(x11, aa01);
            aa11 = wa11.fma(x11, aa11);
            ab01 = wb01.fma(x11, ab01);
            ab11 = wb11.fma(x11, ab11);
            FloatVector x21 = FloatVector.broadcast(F, x[2 * xs + i + 1]);
            aa02 = wa01.fma(x21, aa02);
            aa12 = wa11.fma(x21, aa12);
            ab02 = wb01.fma(x21, ab02);
            ab12 = wb11.fma(x21, ab12);
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
        long ra = offset(tile, 0, 0);
        long rb = offset(second, 0, 0);
        FloatVector z = FloatVector.zero(F);
        FloatVector aa00 = z, aa01 = z, aa02 = z, aa03 = z, aa10 = z, aa11 = z, aa12 = z, aa13 = z, ab00 = z, ab01 = z, ab02 = z, ab03 = z, ab10 = z, ab11 = z, ab12 = z, ab13 = z;
        for (int i = 0; i < colsPadded; i += 2) {
            long o = (long) i * TILE * 2;
            IntVector va0 = IntVector.fromMemorySegment(I, data, ra + o, LE);
            IntVector va1 = IntVector.fromMemorySegment(I, data, ra + o + PANEL * 4, LE);
            IntVector vb0 = IntVector.fromMemorySegment(I, data, rb + o, LE);
            IntVector vb1 = IntVector.fromMemorySegment(I, data, rb + o + PANEL * 4, LE);
            FloatVector wa00 = va0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wa10 = va1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wb00 = vb0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector wb10 = vb1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector x00 = FloatVector.broadcast(F, x[i]);
            aa00 = wa00.fma(x00, aa00);
            aa10 = wa10.fma(x00, aa10);
            ab00 = wb00.fma(x00, ab00);
            ab10 = wb10.fma(x00, ab10);
            FloatVector x10 = FloatVector.broadcast(F, x[1 * xs + i]);
            aa01 = wa00.fma(x10, aa01);
            aa11 = wa10.fma(x10, aa11);
            ab01 = wb00.fma(x10, ab01);
            ab11 = wb10.fma(x10, ab11);
            FloatVector x20 = FloatVector.broadcast(F, x[2 * xs + i]);
            aa02 = wa00.fma(x20, aa02);
            aa12 = wa10.fma(x20, aa12);
            ab02 = wb00.fma(x20, ab02);
            ab12 = wb10.fma(x20, ab12);
            FloatVector x30 = FloatVector.broadcast(F, x[3 * xs + i]);
            aa03 = wa00.fma(x30, aa03);
            aa13 = wa10.fma(x30, aa13);
            ab03 = wb00.fma(x30, ab03);
            ab13 = wb10.fma(x30, ab13);
            FloatVector wa01 = va0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wa11 = va1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wb01 = vb0.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector wb11 = vb1.lanewise(VectorOperators.AND, 0xffff0000).reinterpretAsFloats();
            FloatVector x01 = FloatVector.broadcast(F, x[i + 1]);
            aa00 = wa01.fma(x01, aa00);
            aa10 = wa11.fma(x01, aa10);
            ab00 = wb01.fma(x01, ab00);
            ab10 = wb11.fma(x01, ab10);
            FloatVector x11 = FloatVector.broadcast(F, x[1 * xs + i + 1]);
            aa01 = wa01.fma(x11, aa01);
            aa11 = wa11.fma(x11, aa11);
            ab01 = wb01.fma(x11, ab01);
            ab11 = wb11.fma(x11, ab11);
            FloatVector x21 = FloatVector.broadcast(F, x[2 * xs + i + 1]);
            aa02 = wa01.fma(x21, aa02);
            aa12 = wa11.fma(x21, aa12);
            ab02 = wb01.fma(x21, ab02);
            ab12 = wb11.fma(x21, ab12);
            FloatVector x31 = FloatVector.broadcast(F, x[3 * xs + i + 1]);
            aa03 = wa01.fma(x31, aa03);
            aa13 = wa11.fma(x31, aa13);
            ab03 = wb01.fma(x31, ab03);
            ab13 = wb11.fma(x31, ab13);
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
        for (int i = 0; i < cols; i++) {
            int v = data.get(I32, offset(tile, i / 2, row % TILE));
            out[outOff + i] = Float.intBitsToFloat((i & 1) == 0 ? v << 16 : v & 0xffff0000);
        }
    }
}
