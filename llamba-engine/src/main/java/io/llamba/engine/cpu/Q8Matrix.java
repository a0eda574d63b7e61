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
 * float16, and the values q = round(w/d) in int8; a weight is q·d. Quants are stored per tile and
 * column (the tile's rows side by side, one byte each), scales per tile and block, as float16.
 * Both product paths sum a block as c = Σ float(q)·x (a chain of fused multiply-adds) and then add
 * fma(c, d, acc): the scale costs one operation per block instead of one per weight.
 */
public final class Q8Matrix extends CpuMatrix {
    /** Bytes for one panel of quants: as many as F has lanes, at least 64 bits (the smallest vector shape). */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, PANEL * 8)));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort U16 = Floats.U16;
    private final MemorySegment quants;
    private final MemorySegment scales;

    Q8Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.Q8_0);
        // Slack after the quants: a vector load of a panel may be wider than the panel (64-bit minimum).
        this.quants = arena.allocate((long) tiles * colsPadded * TILE + 64, 64);
        this.scales = arena.allocate((long) tiles * blocks * TILE * 2, 64);
    }

    private long quantOffset(int tile, int i, int lane) {
        return ((long) tile * colsPadded + i) * TILE + lane;
    }

    private long scaleOffset(int tile, int block, int lane) {
        return (((long) tile * blocks + block) * TILE + lane) * 2;
    }

    @Override
    public long bytes() {
        return quants.byteSize() - 64 + scales.byteSize();
    }

    @Override
    void packTile(WeightSource src, int tile, float[] buf) {
        // The tile is built on the heap and copied in one go: off-heap stores one by one cost more.
        byte[] q = new byte[colsPadded * TILE];
        short[] d = new short[blocks * TILE];
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
                d[b * TILE + j] = Quantize.scale(scale, src, tile, j, from, WeightFormat.Q8_0);
                float id = scale != 0 ? 1f / scale : 0f;
                for (int i = from; i < to; i++) {
                    q[i * TILE + j] = (byte) Math.clamp(Quantize.roundAway(buf[i] * id), -127, 127);
                }
            }
        }
        MemorySegment.copy(q, 0, quants, ValueLayout.JAVA_BYTE, quantOffset(tile, 0, 0), q.length);
        MemorySegment.copy(d, 0, scales, U16, scaleOffset(tile, 0, 0), d.length);
    }

    @Override
    int decodeBufferFloats() {
        return TILE + blocks * TILE;
    }

    @Override
    int decodeTile(MatmulScratch in, int tile, float[] buf) {
        float[] x = in.x;
        long qBase = quantOffset(tile, 0, 0);
        Half.toFloats(scales, scaleOffset(tile, 0, 0), buf, TILE, blocks * TILE);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        for (int b = 0; b < blocks; b++) {
            FloatVector c0 = FloatVector.zero(F);
            FloatVector c1 = c0;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long off = qBase + (long) i * TILE;
                FloatVector x0 = FloatVector.broadcast(F, x[i]);
                c0 = ((FloatVector) ByteVector.fromMemorySegment(B, quants, off, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x0, c0);
                c1 = ((FloatVector) ByteVector.fromMemorySegment(B, quants, off + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(x0, c1);
            }
            // The multi-token path multiplies d by an activation scale of 1 first, which changes nothing.
            a0 = c0.fma(FloatVector.fromArray(F, buf, TILE + b * TILE), a0);
            a1 = c1.fma(FloatVector.fromArray(F, buf, TILE + b * TILE + PANEL), a1);
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, PANEL);
        return 0;
    }

    @Override
    int tileBufferFloats() {
        return colsPadded * TILE + blocks * TILE;
    }

    @Override
    void dequantizeTile(int tile, float[] buf) {
        long qBase = quantOffset(tile, 0, 0);
        int so = colsPadded * TILE;
        for (int b = 0; b < blocks; b++) {
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long off = qBase + (long) i * TILE;
                ((FloatVector) ByteVector.fromMemorySegment(B, quants, off, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(buf, i * TILE);
                ((FloatVector) ByteVector.fromMemorySegment(B, quants, off + PANEL, LE).convertShape(VectorOperators.B2F, F, 0))
                        .intoArray(buf, i * TILE + PANEL);
            }
        }
        Half.toFloats(scales, scaleOffset(tile, 0, 0), buf, so, blocks * TILE);
    }

    @Override
    void tileKernel(MatmulScratch in, int tokens, int s, float[] buf, float[] out, int o) {
        TileKernels.blocked(tokens, buf, colsPadded, colsPadded * TILE, in.x, s * colsPadded, in.ones(in.tokens * blocks), blocks, s * blocks, out, o);
    }

    @Override
    public void row(int row, float[] out, int outOff) {
        int tile = tileOf(row);
        int lane = row % TILE;
        for (int i = 0; i < cols; i++) {
            float d = Float.float16ToFloat(scales.get(U16, scaleOffset(tile, i / BLOCK, lane)));
            out[outOff + i] = quants.get(ValueLayout.JAVA_BYTE, quantOffset(tile, i, lane)) * d;
        }
    }
}
