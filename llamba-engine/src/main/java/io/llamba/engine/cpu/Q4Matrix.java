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
 * dot product is the integer Σ(u-8)·q, and |Σ(u-8)·q| ≤ 32·8·127 fits in 16 bits.
 *
 * <p>Layout, per tile, block and group of 4 columns: one 16-bit lane per row holding the 4 values
 * (column 4g+k in bits 4k..4k+3), rows interleaved so that lane 2j is row j and lane 2j+1 is row P+j.
 * Decoding works on these as int lanes: {@code (w >>> 4k) & 0x000F000F} extracts value k of both rows
 * of a lane at once; the products and sums run in 16-bit lanes (twice the lanes of a float vector, no
 * int-to-float conversion per weight), starting from -8·Σq so that the wrapping sum of u·q lands
 * exactly on Σ(u-8)·q; once per block the even and odd lanes become the two panels' int32 sums. The
 * multi-token path widens a tile to integer-valued floats u-8 and sums a block with fused
 * multiply-adds, exactly (all partial sums are integers below 2^24), then applies the same per-block
 * step, acc = fma(sum, d_w·d_x, acc): the two paths agree bit for bit.
 */
public final class Q4Matrix extends CpuMatrix {
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
        // The tile is built on the heap and copied in one go: off-heap stores one by one cost more.
        short[] q = new short[blocks * GROUPS * TILE];
        short[] dh = new short[blocks * TILE];
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
                    if (a > amax || a != a) { // a NaN sticks: the scale check below names the block
                        amax = a;
                        max = buf[i];
                    }
                }
                float d = max / -8f;
                dh[b * TILE + j] = Quantize.scale(d, src, tile, j, from, WeightFormat.Q4_0);
                float id = d != 0 ? 1f / d : 0f;
                for (int g = 0; g < GROUPS; g++) {
                    int packed = 0;
                    for (int k = 0; k < 4; k++) {
                        int i = from + 4 * g + k;
                        int u = i < to ? Math.min(15, (int) (buf[i] * id + 8.5f)) : 8;
                        packed |= u << (4 * k);
                    }
                    q[(b * GROUPS + g) * TILE + lane] = (short) packed;
                }
            }
        }
        MemorySegment.copy(q, 0, quants, Floats.U16, quantOffset(tile, 0, 0), q.length);
        MemorySegment.copy(dh, 0, scales, Floats.U16, scaleOffset(tile, 0, 0), dh.length);
    }

    @Override
    void prepare(MatmulScratch in, float[] x, int t) {
        in.stride = colsPadded;
        in.x = null;
        if (t == 1) {
            in.ensureQuantized(colsPadded, blocks, true);
            Quantize.activations(x, 0, cols, blocks, in.q16, null, 0, 1, in.qscale, 0);
            // Each value twice in an int, for a 32-bit broadcast (a plain load) into 16-bit lanes, and
            // per block -8·Σq the same way, where the wrapping sum starts.
            for (int i = 0; i < colsPadded; i++) {
                in.qpair[i] = (in.q16[i] & 0xffff) * 0x10001;
            }
            for (int b = 0; b < blocks; b++) {
                int sum = 0;
                for (int i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
                    sum += in.q16[i];
                }
                in.qstart[b] = (-8 * sum & 0xffff) * 0x10001;
            }
            return;
        }
        in.ensureQuantized(t * colsPadded, t * blocks, false);
        prepareInParallel(in, t);
    }

    /** Quantizes token rows {@code [from, to)}, packed per kernel group as {@link CpuMatrix#prepare} lays them out. */
    @Override
    void prepareTokens(MatmulScratch in, int from, int to) {
        for (int j = from; j < to; j++) {
            int s = groupStart(j, in.tokens);
            int n = TileKernels.width(in.tokens - s);
            Quantize.activations(in.source, j * cols, cols, blocks, null, in.qf, s * colsPadded + (j - s), n, in.qscale, j * blocks);
        }
    }

    @Override
    int decodeBufferFloats() {
        return TILE + blocks * TILE;
    }

    @Override
    int decodeTile(MatmulScratch in, int tile, float[] buf) {
        Half.toFloats(scales, scaleOffset(tile, 0, 0), buf, TILE, blocks * TILE);
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        for (int b = 0; b < blocks; b++) {
            long qb = quantOffset(tile, b, 0);
            ShortVector h = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            // A loop, not written out: the Vector API needs every call inlined, and C2's inlining
            // budget per method is easily spent on eight copies of this body.
            for (int g = 0, i = b * BLOCK; g < GROUPS; g++, i += 4) {
                IntVector w = IntVector.fromMemorySegment(I, quants, qb + (long) g * TILE * 2, LE);
                h = h.add(w.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts()
                        .mul(IntVector.broadcast(I, xq[i]).reinterpretAsShorts()));
                h = h.add(w.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts()
                        .mul(IntVector.broadcast(I, xq[i + 1]).reinterpretAsShorts()));
                h = h.add(w.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts()
                        .mul(IntVector.broadcast(I, xq[i + 2]).reinterpretAsShorts()));
                h = h.add(w.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts()
                        .mul(IntVector.broadcast(I, xq[i + 3]).reinterpretAsShorts()));
            }
            IntVector sums = h.reinterpretAsInts();
            FloatVector c0 = (FloatVector) sums.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            FloatVector c1 = (FloatVector) sums.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
            float e = dx[b];
            a0 = c0.fma(FloatVector.fromArray(F, buf, TILE + b * TILE).mul(e), a0);
            a1 = c1.fma(FloatVector.fromArray(F, buf, TILE + b * TILE + PANEL).mul(e), a1);
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
        int so = colsPadded * TILE;
        for (int b = 0; b < blocks; b++) {
            for (int g = 0; g < GROUPS; g++) {
                IntVector w = IntVector.fromMemorySegment(I, quants, quantOffset(tile, b, g), LE);
                int i = (b * BLOCK + 4 * g) * TILE;
                for (int k = 0; k < 4; k++, i += TILE) {
                    IntVector v = w.lanewise(VectorOperators.LSHR, 4 * k);
                    ((FloatVector) v.lanewise(VectorOperators.AND, 0xf).sub(8).convert(VectorOperators.I2F, 0)).intoArray(buf, i);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.AND, 0xf).sub(8)
                            .convert(VectorOperators.I2F, 0)).intoArray(buf, i + PANEL);
                }
            }
        }
        Half.toFloats(scales, scaleOffset(tile, 0, 0), buf, so, blocks * TILE);
    }

    @Override
    void tileKernel(MatmulScratch in, int tokens, int s, float[] buf, float[] out, int o) {
        TileKernels.blocked(tokens, buf, colsPadded, colsPadded * TILE, in.qf, s * colsPadded, in.qscale, blocks, s * blocks, out, o);
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
            int q = (packed >>> (4 * (i % 4)) & 0xf) - 8;
            out[outOff + i] = q * Float.float16ToFloat(scales.get(Floats.U16, scaleOffset(tile, b, j)));
        }
    }
}
