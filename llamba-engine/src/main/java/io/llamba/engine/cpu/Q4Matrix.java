package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Q4_0 weights (ggml semantics): per row and block of 32 columns, d = m/-8 where m is the weight of
 * largest magnitude, rounded to float16, and 4-bit values u = min(15, trunc(w/d + 8.5)); a weight is
 * (u-8)·d. Activations are quantized per block of 32 to int8 range with their own scale, so a block's
 * dot product is an integer: with |u-8| ≤ 8 and |q| ≤ 127, 32 products stay within 16 bits.
 *
 * <p>Layout, per tile, block and group of 4 columns: one 16-bit lane per row holding the 4 values
 * (column 4g+k in bits 4k..4k+3, two's complement), rows interleaved so that lane 2j is row j and
 * lane 2j+1 is row P+j. Decoding multiplies and adds in 16-bit lanes (twice the lanes of a float
 * vector, no int-to-float conversion per weight), then splits the even and odd lanes into the two
 * panels' int32 sums once per block. The multi-token path widens a tile to integer-valued floats and
 * sums a block with fused multiply-adds, exactly (all partial sums are integers below 2^24), then
 * applies the same per-block step, acc = fma(sum, d_w·d_x, acc): the paths agree bit for bit.
 */
public final class Q4Matrix extends CpuMatrix {
    private static final VectorSpecies<Short> SQ = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int GROUPS = BLOCK / 4;
    private final MemorySegment quants;
    private final MemorySegment scales;

    Q4Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.Q4_0);
        this.quants = arena.allocate((long) tiles * blocks * GROUPS * TILE * 2, 64);
        this.scales = arena.allocate((long) tiles * blocks * TILE * 2, 64);
    }

    /** Byte offset of the lanes of group {@code g} of block {@code block}. */
    private long quantOffset(int tile, int block, int g) {
        return (((long) tile * blocks + block) * GROUPS + g) * TILE * 2;
    }

    private long scaleOffset(int tile, int block, int lane) {
        return (((long) tile * blocks + block) * TILE + lane) * 2;
    }

    /** The 16-bit lane of a tile's row {@code j}. */
    private static int laneOf(int j) {
        return j < PANEL ? 2 * j : 2 * (j - PANEL) + 1;
    }

    @Override
    public long bytes() {
        return quants.byteSize() + scales.byteSize();
    }

    @Override
    void packTile(WeightSource src, int tile, float[] buf) {
        for (int j = 0; j < TILE; j++) {
            MemorySegment row = src.tileRow(tile, j, PANEL);
            if (row == null) {
                continue;
            }
            src.readFloats(row, buf);
            int lane = laneOf(j);
            for (int b = 0; b < blocks; b++) {
                int from = b * BLOCK;
                int to = Math.min(cols, from + BLOCK);
                float amax = 0;
                float max = 0;
                for (int i = from; i < to; i++) {
                    float a = Math.abs(buf[i]);
                    if (a > amax || Float.isNaN(a)) {
                        amax = a;
                        max = buf[i];
                    }
                }
                float d = max / -8f;
                short dh = Quantize.scale(d, src, tile, j, from, WeightFormat.Q4_0);
                float id = d != 0 ? 1f / d : 0f;
                for (int g = 0; g < GROUPS; g++) {
                    int packed = 0;
                    for (int k = 0; k < 4; k++) {
                        int i = from + 4 * g + k;
                        int u = i < to ? Math.min(15, (int) (buf[i] * id + 8.5f)) : 8;
                        packed |= ((u - 8) & 0xf) << (4 * k);
                    }
                    quants.set(Floats.U16, quantOffset(tile, b, g) + lane * 2L, (short) packed);
                }
                scales.set(Floats.U16, scaleOffset(tile, b, j), dh);
            }
        }
    }

    @Override
    void prepare(MatmulScratch in, float[] x, int t) {
        in.stride = colsPadded;
        in.x = null;
        if (t == 1) {
            in.ensureQuantized(colsPadded, blocks, true);
            Quantize.activations(x, 0, cols, blocks, in.q16, null, 0, in.qscale, 0);
            return;
        }
        in.ensureQuantized(t * colsPadded, t * blocks, false);
        if (t >= 8) {
            in.phase = MatmulScratch.PREPARE;
            in.parallel.forRange(t, 4, in);
        } else {
            prepareTokens(in, 0, t);
        }
    }

    @Override
    void prepareTokens(MatmulScratch in, int from, int to) {
        for (int s = from; s < to; s++) {
            Quantize.activations(in.source, s * cols, cols, blocks, null, in.qf, s * colsPadded, in.qscale, s * blocks);
        }
    }

    @Override
    void decodeTile(MatmulScratch in, int tile, float[] out, int o) {
        short[] xq = in.q16;
        float[] dx = in.qscale;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        for (int b = 0; b < blocks; b++) {
            long qb = quantOffset(tile, b, 0);
            ShortVector h = ShortVector.zero(SQ);
            for (int g = 0; g < GROUPS; g++) {
                ShortVector v = ShortVector.fromMemorySegment(SQ, quants, qb + (long) g * TILE * 2, LE);
                int i = b * BLOCK + 4 * g;
                h = h.add(v.lanewise(VectorOperators.LSHL, 12).lanewise(VectorOperators.ASHR, 12).mul(xq[i]));
                h = h.add(v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 12).mul(xq[i + 1]));
                h = h.add(v.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.ASHR, 12).mul(xq[i + 2]));
                h = h.add(v.lanewise(VectorOperators.ASHR, 12).mul(xq[i + 3]));
            }
            IntVector w = h.reinterpretAsInts();
            FloatVector c0 = (FloatVector) w.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            FloatVector c1 = (FloatVector) w.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            float e = dx[b];
            a0 = c0.fma(Half.load(scales, scaleOffset(tile, b, 0)).mul(e), a0);
            a1 = c1.fma(Half.load(scales, scaleOffset(tile, b, PANEL)).mul(e), a1);
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + PANEL);
    }

    @Override
    int tileBufferFloats() {
        return colsPadded * TILE + blocks * TILE;
    }

    @Override
    void dequantizeTile(int tile, float[] buf) {
        int so = colsPadded * TILE;
        for (int b = 0; b < blocks; b++) {
            for (int g = 0; g < GROUPS; g++) {
                IntVector w = IntVector.fromMemorySegment(I, quants, quantOffset(tile, b, g), LE);
                int i = (b * BLOCK + 4 * g) * TILE;
                ((FloatVector) w.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i);
                ((FloatVector) w.lanewise(VectorOperators.LSHL, 12).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i + PANEL);
                ((FloatVector) w.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i + TILE);
                ((FloatVector) w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i + TILE + PANEL);
                ((FloatVector) w.lanewise(VectorOperators.LSHL, 20).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i + 2 * TILE);
                ((FloatVector) w.lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i + 2 * TILE + PANEL);
                ((FloatVector) w.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i + 3 * TILE);
                ((FloatVector) w.lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0)).intoArray(buf, i + 3 * TILE + PANEL);
            }
            Half.load(scales, scaleOffset(tile, b, 0)).intoArray(buf, so + b * TILE);
            Half.load(scales, scaleOffset(tile, b, PANEL)).intoArray(buf, so + b * TILE + PANEL);
        }
    }

    @Override
    void tileKernel(MatmulScratch in, int tokens, int s, float[] buf, float[] out, int o) {
        TileKernels.blocked(tokens, buf, colsPadded, colsPadded * TILE, in.qf, colsPadded, s * colsPadded, in.qscale, blocks, s * blocks, out, o);
    }

    @Override
    public void row(int row, float[] out, int outOff) {
        int tile = tileOf(row);
        int j = row % TILE;
        int lane = laneOf(j);
        for (int i = 0; i < cols; i++) {
            int b = i / BLOCK;
            int g = (i % BLOCK) / 4;
            int packed = quants.get(Floats.U16, quantOffset(tile, b, g) + lane * 2L);
            int q = (packed << (28 - 4 * (i % 4))) >> 28;
            out[outOff + i] = q * Float.float16ToFloat(scales.get(Floats.U16, scaleOffset(tile, b, j)));
        }
    }
}
