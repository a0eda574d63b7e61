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
 * <p>Layout, per tile and block, one record read front to back: the 2P scales (float16, in row order),
 * then per group of 4 columns one 16-bit lane per row holding the 4 values (column 4g+k in bits
 * 4k..4k+3), rows interleaved so that lane 2j is row j and lane 2j+1 is row P+j.
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
    /** Bytes of one block of a tile: its scales, then its groups. */
    private static final int BLOCK_BYTES = (1 + GROUPS) * TILE * 2;
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private final MemorySegment data;

    Q4Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.Q4_0);
        this.data = arena.allocate((long) tiles * blocks * BLOCK_BYTES, 64);
    }

    /** Byte offset of block {@code block} of {@code tile}: its scales; group g follows at {@code + (1+g)·2·TILE}. */
    private long blockOffset(int tile, int block) {
        return ((long) tile * blocks + block) * BLOCK_BYTES;
    }

    /** The 16-bit lane of a tile's row {@code j}. */
    private static int laneOf(int j) {
        return j < PANEL ? 2 * j : 2 * (j - PANEL) + 1;
    }

    @Override
    public long bytes() {
        return data.byteSize();
    }

    @Override
    void packTile(WeightSource src, int tile, float[] buf) {
        // The tile is built on the heap and copied in one go: off-heap stores one by one cost more.
        short[] rec = new short[blocks * BLOCK_BYTES / 2];
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
                rec[b * BLOCK_BYTES / 2 + j] = Quantize.scale(d, src, tile, j, from, WeightFormat.Q4_0);
                float id = d != 0 ? 1f / d : 0f;
                for (int g = 0; g < GROUPS; g++) {
                    int packed = 0;
                    for (int k = 0; k < 4; k++) {
                        int i = from + 4 * g + k;
                        int u = i < to ? Math.min(15, (int) (buf[i] * id + 8.5f)) : 8;
                        packed |= u << (4 * k);
                    }
                    rec[b * BLOCK_BYTES / 2 + (1 + g) * TILE + lane] = (short) packed;
                }
            }
        }
        MemorySegment.copy(rec, 0, data, Floats.U16, blockOffset(tile, 0), rec.length);
    }

    @Override
    void prepare(MatmulScratch in, float[] x, int t) {
        in.stride = colsPadded;
        in.x = null;
        if (t <= Math.max(1, fewTokens())) {
            // One token, or a few: per token, the values in int pairs and the sums' starting points.
            in.ensureQuantized(t * colsPadded, t * blocks, true);
            int[] q = in.qint;
            for (int s = 0; s < t; s++) {
                Quantize.activations(x, s * cols, cols, blocks, q, in.qscale, s * blocks);
                // Each value twice in an int, for a 32-bit broadcast (a plain load) into 16-bit lanes,
                // and per block -8·Σq the same way, where the wrapping sum starts.
                int[] pair = in.qpair;
                int po = s * colsPadded;
                for (int i = 0; i < colsPadded; i++) {
                    pair[po + i] = (q[i] & 0xffff) * 0x10001;
                }
                for (int b = 0; b < blocks; b++) {
                    int sum = 0;
                    for (int i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
                        sum += q[i];
                    }
                    in.qstart[s * blocks + b] = (-8 * sum & 0xffff) * 0x10001;
                }
            }
            return;
        }
        in.ensureQuantized(t * colsPadded, t * blocks, false);
        prepareInParallel(in, t);
    }

    /** Quantizes token rows {@code [from, to)}, packed per kernel group as {@link CpuMatrix#prepare} lays them out. */
    @Override
    void prepareTokens(MatmulScratch in, int worker, int from, int to) {
        int[] q = in.parallel.intBuffer(worker, colsPadded);
        for (int j = from; j < to; j++) {
            int s = groupStart(j, in.tokens);
            int n = TileKernels.width(in.tokens - s, maxTokens());
            Quantize.activations(in.source, j * cols, cols, blocks, q, in.qscale, j * blocks);
            int base = s * colsPadded + (j - s);
            for (int i = 0; i < colsPadded; i++) {
                in.qf[base + i * n] = q[i];
            }
        }
    }

    @Override
    int decodeBufferFloats() {
        return TILE;
    }

    @Override
    int decodePairBufferFloats() {
        return 4 * TILE;
    }

    @Override
    int decodeGroup() {
        return 4;
    }

    /** One token times one tile (see the class comment). */
    @Override
    int decodeTile(MatmulScratch in, int tile, float[] buf) {
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            ShortVector ha = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            for (int g = 1, i = b * BLOCK; g <= GROUPS; g++, i += 4) {
                long o = (long) g * TILE * 2;
                IntVector wa = IntVector.fromMemorySegment(I, data, ra + o, LE);
                ShortVector x0 = IntVector.broadcast(I, xq[i]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x0));
                ShortVector x1 = IntVector.broadcast(I, xq[i + 1]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x1));
                ShortVector x2 = IntVector.broadcast(I, xq[i + 2]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x2));
                ShortVector x3 = IntVector.broadcast(I, xq[i + 3]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x3));
            }
            float e = dx[b];
            // The block's scales, widened as Half explains, times the activations' scale.
            IntVector sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da0 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da1 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            IntVector suma = ha.reinterpretAsInts();
            a0 = ((FloatVector) suma.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(da0, a0);
            a1 = ((FloatVector) suma.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(da1, a1);
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
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, d0 = z, d1 = z;
        long tileBytes = (long) blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = ra + tileBytes;
            long rc = ra + 2 * tileBytes;
            long rd = ra + 3 * tileBytes;
            ShortVector ha = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector hb = ha, hc = ha, hd = ha;
            for (int g = 1, i = b * BLOCK; g <= GROUPS; g++, i += 4) {
                long o = (long) g * TILE * 2;
                IntVector wa = IntVector.fromMemorySegment(I, data, ra + o, LE);
                IntVector wb = IntVector.fromMemorySegment(I, data, rb + o, LE);
                IntVector wc = IntVector.fromMemorySegment(I, data, rc + o, LE);
                IntVector wd = IntVector.fromMemorySegment(I, data, rd + o, LE);
                ShortVector x0 = IntVector.broadcast(I, xq[i]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x0));
                hb = hb.add(wb.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x0));
                hc = hc.add(wc.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x0));
                hd = hd.add(wd.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x0));
                ShortVector x1 = IntVector.broadcast(I, xq[i + 1]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x1));
                hb = hb.add(wb.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x1));
                hc = hc.add(wc.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x1));
                hd = hd.add(wd.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x1));
                ShortVector x2 = IntVector.broadcast(I, xq[i + 2]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x2));
                hb = hb.add(wb.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x2));
                hc = hc.add(wc.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x2));
                hd = hd.add(wd.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x2));
                ShortVector x3 = IntVector.broadcast(I, xq[i + 3]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x3));
                hb = hb.add(wb.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x3));
                hc = hc.add(wc.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x3));
                hd = hd.add(wd.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x3));
            }
            float e = dx[b];
            // The block's scales, widened as Half explains, times the activations' scale.
            IntVector sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da0 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da1 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            IntVector suma = ha.reinterpretAsInts();
            a0 = ((FloatVector) suma.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(da0, a0);
            a1 = ((FloatVector) suma.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(da1, a1);
            IntVector sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db0 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db1 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            IntVector sumb = hb.reinterpretAsInts();
            b0 = ((FloatVector) sumb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(db0, b0);
            b1 = ((FloatVector) sumb.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(db1, b1);
            IntVector sc = (IntVector) ShortVector.fromMemorySegment(SH, data, rc, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector dc0 = sc.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            sc = (IntVector) ShortVector.fromMemorySegment(SH, data, rc + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector dc1 = sc.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            IntVector sumc = hc.reinterpretAsInts();
            c0 = ((FloatVector) sumc.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(dc0, c0);
            c1 = ((FloatVector) sumc.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(dc1, c1);
            IntVector sd = (IntVector) ShortVector.fromMemorySegment(SH, data, rd, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector dd0 = sd.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            sd = (IntVector) ShortVector.fromMemorySegment(SH, data, rd + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector dd1 = sd.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST).mul(e);
            IntVector sumd = hd.reinterpretAsInts();
            d0 = ((FloatVector) sumd.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(dd0, d0);
            d1 = ((FloatVector) sumd.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(dd1, d1);
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

    @Override
    int tileBufferFloats() {
        return colsPadded * TILE + blocks * TILE;
    }

    @Override
    void dequantizeTile(int tile, float[] buf) {
        int so = colsPadded * TILE;
        for (int b = 0; b < blocks; b++) {
            long r = blockOffset(tile, b);
            for (int g = 0; g < GROUPS; g++) {
                IntVector w = IntVector.fromMemorySegment(I, data, r + (1L + g) * TILE * 2, LE);
                int i = (b * BLOCK + 4 * g) * TILE;
                for (int k = 0; k < 4; k++, i += TILE) {
                    IntVector v = w.lanewise(VectorOperators.LSHR, 4 * k);
                    ((FloatVector) v.lanewise(VectorOperators.AND, 0xf).sub(8).convert(VectorOperators.I2F, 0)).intoArray(buf, i);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 16).lanewise(VectorOperators.AND, 0xf).sub(8)
                            .convert(VectorOperators.I2F, 0)).intoArray(buf, i + PANEL);
                }
            }
            Half.toFloats(data, r, buf, so + b * TILE, TILE);
        }
    }

    @Override
    int maxTokens() {
        return TileKernels.MAX_BLOCKED_TOKENS;
    }

    @Override
    void tileKernel(MatmulScratch in, int tile, int tokens, int s, float[] buf, float[] out, int o) {
        TileKernels.blocked(tokens, buf, colsPadded, colsPadded * TILE, in.qf, s * colsPadded, in.qscale, blocks, s * blocks, out, o);
    }

    @Override
    int fewTokens() {
        return 4;
    }

    @Override
    void decodeFew(MatmulScratch in, int tile, int second, int t, float[] buf) {
        switch (t) {
            case 2 -> few2(in, tile, second, buf);
            case 3 -> few3(in, tile, second, buf);
            default -> few4(in, tile, second, buf);
        }
    }

    /**
     * 2 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}):
     * the integer block sums of {@link #decodeTile} per token, the totals kept in the buffer.
     */
    private void few2(MatmulScratch in, int tile, int second, float[] buf) {
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        int xs = colsPadded;
        FloatVector z = FloatVector.zero(F);
        for (int k = 0; k < 4; k++) {
            z.intoArray(buf, k * TILE);
            z.intoArray(buf, k * TILE + PANEL);
        }
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            ShortVector ha0 = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector ha1 = IntVector.broadcast(I, start[1 * blocks + b]).reinterpretAsShorts();
            ShortVector hb0 = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector hb1 = IntVector.broadcast(I, start[1 * blocks + b]).reinterpretAsShorts();
            for (int g = 1, i = b * BLOCK; g <= GROUPS; g++, i += 4) {
                long o = (long) g * TILE * 2;
                IntVector wa = IntVector.fromMemorySegment(I, data, ra + o, LE);
                IntVector wb = IntVector.fromMemorySegment(I, data, rb + o, LE);
                ShortVector ua0 = wa.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub0 = wb.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x00 = IntVector.broadcast(I, xq[i]).reinterpretAsShorts();
                ha0 = ha0.add(ua0.mul(x00));
                hb0 = hb0.add(ub0.mul(x00));
                ShortVector x10 = IntVector.broadcast(I, xq[1 * xs + i + 0]).reinterpretAsShorts();
                ha1 = ha1.add(ua0.mul(x10));
                hb1 = hb1.add(ub0.mul(x10));
                ShortVector ua1 = wa.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub1 = wb.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x01 = IntVector.broadcast(I, xq[i + 1]).reinterpretAsShorts();
                ha0 = ha0.add(ua1.mul(x01));
                hb0 = hb0.add(ub1.mul(x01));
                ShortVector x11 = IntVector.broadcast(I, xq[1 * xs + i + 1]).reinterpretAsShorts();
                ha1 = ha1.add(ua1.mul(x11));
                hb1 = hb1.add(ub1.mul(x11));
                ShortVector ua2 = wa.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub2 = wb.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x02 = IntVector.broadcast(I, xq[i + 2]).reinterpretAsShorts();
                ha0 = ha0.add(ua2.mul(x02));
                hb0 = hb0.add(ub2.mul(x02));
                ShortVector x12 = IntVector.broadcast(I, xq[1 * xs + i + 2]).reinterpretAsShorts();
                ha1 = ha1.add(ua2.mul(x12));
                hb1 = hb1.add(ub2.mul(x12));
                ShortVector ua3 = wa.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub3 = wb.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x03 = IntVector.broadcast(I, xq[i + 3]).reinterpretAsShorts();
                ha0 = ha0.add(ua3.mul(x03));
                hb0 = hb0.add(ub3.mul(x03));
                ShortVector x13 = IntVector.broadcast(I, xq[1 * xs + i + 3]).reinterpretAsShorts();
                ha1 = ha1.add(ua3.mul(x13));
                hb1 = hb1.add(ub3.mul(x13));
            }
            IntVector sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da0 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da1 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            IntVector ca0 = ha0.reinterpretAsInts();
            ((FloatVector) ca0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[b]), FloatVector.fromArray(F, buf, 0 * TILE)).intoArray(buf, 0 * TILE);
            ((FloatVector) ca0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[b]), FloatVector.fromArray(F, buf, 0 * TILE + PANEL)).intoArray(buf, 0 * TILE + PANEL);
            IntVector ca1 = ha1.reinterpretAsInts();
            ((FloatVector) ca1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 1 * TILE)).intoArray(buf, 1 * TILE);
            ((FloatVector) ca1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 1 * TILE + PANEL)).intoArray(buf, 1 * TILE + PANEL);
            IntVector sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db0 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db1 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            IntVector cb0 = hb0.reinterpretAsInts();
            ((FloatVector) cb0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[b]), FloatVector.fromArray(F, buf, 2 * TILE)).intoArray(buf, 2 * TILE);
            ((FloatVector) cb0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[b]), FloatVector.fromArray(F, buf, 2 * TILE + PANEL)).intoArray(buf, 2 * TILE + PANEL);
            IntVector cb1 = hb1.reinterpretAsInts();
            ((FloatVector) cb1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 3 * TILE)).intoArray(buf, 3 * TILE);
            ((FloatVector) cb1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 3 * TILE + PANEL)).intoArray(buf, 3 * TILE + PANEL);
        }
    }

    /**
     * 3 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}):
     * the integer block sums of {@link #decodeTile} per token, the totals kept in the buffer.
     */
    private void few3(MatmulScratch in, int tile, int second, float[] buf) {
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        int xs = colsPadded;
        FloatVector z = FloatVector.zero(F);
        for (int k = 0; k < 6; k++) {
            z.intoArray(buf, k * TILE);
            z.intoArray(buf, k * TILE + PANEL);
        }
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            ShortVector ha0 = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector ha1 = IntVector.broadcast(I, start[1 * blocks + b]).reinterpretAsShorts();
            ShortVector ha2 = IntVector.broadcast(I, start[2 * blocks + b]).reinterpretAsShorts();
            ShortVector hb0 = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector hb1 = IntVector.broadcast(I, start[1 * blocks + b]).reinterpretAsShorts();
            ShortVector hb2 = IntVector.broadcast(I, start[2 * blocks + b]).reinterpretAsShorts();
            for (int g = 1, i = b * BLOCK; g <= GROUPS; g++, i += 4) {
                long o = (long) g * TILE * 2;
                IntVector wa = IntVector.fromMemorySegment(I, data, ra + o, LE);
                IntVector wb = IntVector.fromMemorySegment(I, data, rb + o, LE);
                ShortVector ua0 = wa.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub0 = wb.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x00 = IntVector.broadcast(I, xq[i]).reinterpretAsShorts();
                ha0 = ha0.add(ua0.mul(x00));
                hb0 = hb0.add(ub0.mul(x00));
                ShortVector x10 = IntVector.broadcast(I, xq[1 * xs + i + 0]).reinterpretAsShorts();
                ha1 = ha1.add(ua0.mul(x10));
                hb1 = hb1.add(ub0.mul(x10));
                ShortVector x20 = IntVector.broadcast(I, xq[2 * xs + i + 0]).reinterpretAsShorts();
                ha2 = ha2.add(ua0.mul(x20));
                hb2 = hb2.add(ub0.mul(x20));
                ShortVector ua1 = wa.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub1 = wb.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x01 = IntVector.broadcast(I, xq[i + 1]).reinterpretAsShorts();
                ha0 = ha0.add(ua1.mul(x01));
                hb0 = hb0.add(ub1.mul(x01));
                ShortVector x11 = IntVector.broadcast(I, xq[1 * xs + i + 1]).reinterpretAsShorts();
                ha1 = ha1.add(ua1.mul(x11));
                hb1 = hb1.add(ub1.mul(x11));
                ShortVector x21 = IntVector.broadcast(I, xq[2 * xs + i + 1]).reinterpretAsShorts();
                ha2 = ha2.add(ua1.mul(x21));
                hb2 = hb2.add(ub1.mul(x21));
                ShortVector ua2 = wa.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub2 = wb.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x02 = IntVector.broadcast(I, xq[i + 2]).reinterpretAsShorts();
                ha0 = ha0.add(ua2.mul(x02));
                hb0 = hb0.add(ub2.mul(x02));
                ShortVector x12 = IntVector.broadcast(I, xq[1 * xs + i + 2]).reinterpretAsShorts();
                ha1 = ha1.add(ua2.mul(x12));
                hb1 = hb1.add(ub2.mul(x12));
                ShortVector x22 = IntVector.broadcast(I, xq[2 * xs + i + 2]).reinterpretAsShorts();
                ha2 = ha2.add(ua2.mul(x22));
                hb2 = hb2.add(ub2.mul(x22));
                ShortVector ua3 = wa.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub3 = wb.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x03 = IntVector.broadcast(I, xq[i + 3]).reinterpretAsShorts();
                ha0 = ha0.add(ua3.mul(x03));
                hb0 = hb0.add(ub3.mul(x03));
                ShortVector x13 = IntVector.broadcast(I, xq[1 * xs + i + 3]).reinterpretAsShorts();
                ha1 = ha1.add(ua3.mul(x13));
                hb1 = hb1.add(ub3.mul(x13));
                ShortVector x23 = IntVector.broadcast(I, xq[2 * xs + i + 3]).reinterpretAsShorts();
                ha2 = ha2.add(ua3.mul(x23));
                hb2 = hb2.add(ub3.mul(x23));
            }
            IntVector sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da0 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da1 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            IntVector ca0 = ha0.reinterpretAsInts();
            ((FloatVector) ca0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[b]), FloatVector.fromArray(F, buf, 0 * TILE)).intoArray(buf, 0 * TILE);
            ((FloatVector) ca0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[b]), FloatVector.fromArray(F, buf, 0 * TILE + PANEL)).intoArray(buf, 0 * TILE + PANEL);
            IntVector ca1 = ha1.reinterpretAsInts();
            ((FloatVector) ca1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 1 * TILE)).intoArray(buf, 1 * TILE);
            ((FloatVector) ca1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 1 * TILE + PANEL)).intoArray(buf, 1 * TILE + PANEL);
            IntVector ca2 = ha2.reinterpretAsInts();
            ((FloatVector) ca2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 2 * TILE)).intoArray(buf, 2 * TILE);
            ((FloatVector) ca2.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 2 * TILE + PANEL)).intoArray(buf, 2 * TILE + PANEL);
            IntVector sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db0 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db1 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            IntVector cb0 = hb0.reinterpretAsInts();
            ((FloatVector) cb0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[b]), FloatVector.fromArray(F, buf, 3 * TILE)).intoArray(buf, 3 * TILE);
            ((FloatVector) cb0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[b]), FloatVector.fromArray(F, buf, 3 * TILE + PANEL)).intoArray(buf, 3 * TILE + PANEL);
            IntVector cb1 = hb1.reinterpretAsInts();
            ((FloatVector) cb1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 4 * TILE)).intoArray(buf, 4 * TILE);
            ((FloatVector) cb1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 4 * TILE + PANEL)).intoArray(buf, 4 * TILE + PANEL);
            IntVector cb2 = hb2.reinterpretAsInts();
            ((FloatVector) cb2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 5 * TILE)).intoArray(buf, 5 * TILE);
            ((FloatVector) cb2.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 5 * TILE + PANEL)).intoArray(buf, 5 * TILE + PANEL);
        }
    }

    /**
     * 4 tokens times tiles {@code tile} and {@code second}, weights streamed once (see {@link CpuMatrix#decodeFew}):
     * the integer block sums of {@link #decodeTile} per token, the totals kept in the buffer.
     */
    private void few4(MatmulScratch in, int tile, int second, float[] buf) {
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        int xs = colsPadded;
        FloatVector z = FloatVector.zero(F);
        for (int k = 0; k < 8; k++) {
            z.intoArray(buf, k * TILE);
            z.intoArray(buf, k * TILE + PANEL);
        }
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = blockOffset(second, b);
            ShortVector ha0 = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector ha1 = IntVector.broadcast(I, start[1 * blocks + b]).reinterpretAsShorts();
            ShortVector ha2 = IntVector.broadcast(I, start[2 * blocks + b]).reinterpretAsShorts();
            ShortVector ha3 = IntVector.broadcast(I, start[3 * blocks + b]).reinterpretAsShorts();
            ShortVector hb0 = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector hb1 = IntVector.broadcast(I, start[1 * blocks + b]).reinterpretAsShorts();
            ShortVector hb2 = IntVector.broadcast(I, start[2 * blocks + b]).reinterpretAsShorts();
            ShortVector hb3 = IntVector.broadcast(I, start[3 * blocks + b]).reinterpretAsShorts();
            for (int g = 1, i = b * BLOCK; g <= GROUPS; g++, i += 4) {
                long o = (long) g * TILE * 2;
                IntVector wa = IntVector.fromMemorySegment(I, data, ra + o, LE);
                IntVector wb = IntVector.fromMemorySegment(I, data, rb + o, LE);
                ShortVector ua0 = wa.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub0 = wb.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x00 = IntVector.broadcast(I, xq[i]).reinterpretAsShorts();
                ha0 = ha0.add(ua0.mul(x00));
                hb0 = hb0.add(ub0.mul(x00));
                ShortVector x10 = IntVector.broadcast(I, xq[1 * xs + i + 0]).reinterpretAsShorts();
                ha1 = ha1.add(ua0.mul(x10));
                hb1 = hb1.add(ub0.mul(x10));
                ShortVector x20 = IntVector.broadcast(I, xq[2 * xs + i + 0]).reinterpretAsShorts();
                ha2 = ha2.add(ua0.mul(x20));
                hb2 = hb2.add(ub0.mul(x20));
                ShortVector x30 = IntVector.broadcast(I, xq[3 * xs + i + 0]).reinterpretAsShorts();
                ha3 = ha3.add(ua0.mul(x30));
                hb3 = hb3.add(ub0.mul(x30));
                ShortVector ua1 = wa.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub1 = wb.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x01 = IntVector.broadcast(I, xq[i + 1]).reinterpretAsShorts();
                ha0 = ha0.add(ua1.mul(x01));
                hb0 = hb0.add(ub1.mul(x01));
                ShortVector x11 = IntVector.broadcast(I, xq[1 * xs + i + 1]).reinterpretAsShorts();
                ha1 = ha1.add(ua1.mul(x11));
                hb1 = hb1.add(ub1.mul(x11));
                ShortVector x21 = IntVector.broadcast(I, xq[2 * xs + i + 1]).reinterpretAsShorts();
                ha2 = ha2.add(ua1.mul(x21));
                hb2 = hb2.add(ub1.mul(x21));
                ShortVector x31 = IntVector.broadcast(I, xq[3 * xs + i + 1]).reinterpretAsShorts();
                ha3 = ha3.add(ua1.mul(x31));
                hb3 = hb3.add(ub1.mul(x31));
                ShortVector ua2 = wa.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub2 = wb.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x02 = IntVector.broadcast(I, xq[i + 2]).reinterpretAsShorts();
                ha0 = ha0.add(ua2.mul(x02));
                hb0 = hb0.add(ub2.mul(x02));
                ShortVector x12 = IntVector.broadcast(I, xq[1 * xs + i + 2]).reinterpretAsShorts();
                ha1 = ha1.add(ua2.mul(x12));
                hb1 = hb1.add(ub2.mul(x12));
                ShortVector x22 = IntVector.broadcast(I, xq[2 * xs + i + 2]).reinterpretAsShorts();
                ha2 = ha2.add(ua2.mul(x22));
                hb2 = hb2.add(ub2.mul(x22));
                ShortVector x32 = IntVector.broadcast(I, xq[3 * xs + i + 2]).reinterpretAsShorts();
                ha3 = ha3.add(ua2.mul(x32));
                hb3 = hb3.add(ub2.mul(x32));
                ShortVector ua3 = wa.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector ub3 = wb.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts();
                ShortVector x03 = IntVector.broadcast(I, xq[i + 3]).reinterpretAsShorts();
                ha0 = ha0.add(ua3.mul(x03));
                hb0 = hb0.add(ub3.mul(x03));
                ShortVector x13 = IntVector.broadcast(I, xq[1 * xs + i + 3]).reinterpretAsShorts();
                ha1 = ha1.add(ua3.mul(x13));
                hb1 = hb1.add(ub3.mul(x13));
                ShortVector x23 = IntVector.broadcast(I, xq[2 * xs + i + 3]).reinterpretAsShorts();
                ha2 = ha2.add(ua3.mul(x23));
                hb2 = hb2.add(ub3.mul(x23));
                ShortVector x33 = IntVector.broadcast(I, xq[3 * xs + i + 3]).reinterpretAsShorts();
                ha3 = ha3.add(ua3.mul(x33));
                hb3 = hb3.add(ub3.mul(x33));
            }
            IntVector sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da0 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            sa = (IntVector) ShortVector.fromMemorySegment(SH, data, ra + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector da1 = sa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            IntVector ca0 = ha0.reinterpretAsInts();
            ((FloatVector) ca0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[b]), FloatVector.fromArray(F, buf, 0 * TILE)).intoArray(buf, 0 * TILE);
            ((FloatVector) ca0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[b]), FloatVector.fromArray(F, buf, 0 * TILE + PANEL)).intoArray(buf, 0 * TILE + PANEL);
            IntVector ca1 = ha1.reinterpretAsInts();
            ((FloatVector) ca1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 1 * TILE)).intoArray(buf, 1 * TILE);
            ((FloatVector) ca1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 1 * TILE + PANEL)).intoArray(buf, 1 * TILE + PANEL);
            IntVector ca2 = ha2.reinterpretAsInts();
            ((FloatVector) ca2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 2 * TILE)).intoArray(buf, 2 * TILE);
            ((FloatVector) ca2.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 2 * TILE + PANEL)).intoArray(buf, 2 * TILE + PANEL);
            IntVector ca3 = ha3.reinterpretAsInts();
            ((FloatVector) ca3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da0.mul(dx[3 * blocks + b]), FloatVector.fromArray(F, buf, 3 * TILE)).intoArray(buf, 3 * TILE);
            ((FloatVector) ca3.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(da1.mul(dx[3 * blocks + b]), FloatVector.fromArray(F, buf, 3 * TILE + PANEL)).intoArray(buf, 3 * TILE + PANEL);
            IntVector sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db0 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            sb = (IntVector) ShortVector.fromMemorySegment(SH, data, rb + PANEL * 2, LE).convertShape(VectorOperators.S2I, I, 0);
            FloatVector db1 = sb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK)
                    .reinterpretAsFloats().mul(Half.EXP_ADJUST);
            IntVector cb0 = hb0.reinterpretAsInts();
            ((FloatVector) cb0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[b]), FloatVector.fromArray(F, buf, 4 * TILE)).intoArray(buf, 4 * TILE);
            ((FloatVector) cb0.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[b]), FloatVector.fromArray(F, buf, 4 * TILE + PANEL)).intoArray(buf, 4 * TILE + PANEL);
            IntVector cb1 = hb1.reinterpretAsInts();
            ((FloatVector) cb1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 5 * TILE)).intoArray(buf, 5 * TILE);
            ((FloatVector) cb1.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[1 * blocks + b]), FloatVector.fromArray(F, buf, 5 * TILE + PANEL)).intoArray(buf, 5 * TILE + PANEL);
            IntVector cb2 = hb2.reinterpretAsInts();
            ((FloatVector) cb2.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 6 * TILE)).intoArray(buf, 6 * TILE);
            ((FloatVector) cb2.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[2 * blocks + b]), FloatVector.fromArray(F, buf, 6 * TILE + PANEL)).intoArray(buf, 6 * TILE + PANEL);
            IntVector cb3 = hb3.reinterpretAsInts();
            ((FloatVector) cb3.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db0.mul(dx[3 * blocks + b]), FloatVector.fromArray(F, buf, 7 * TILE)).intoArray(buf, 7 * TILE);
            ((FloatVector) cb3.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(db1.mul(dx[3 * blocks + b]), FloatVector.fromArray(F, buf, 7 * TILE + PANEL)).intoArray(buf, 7 * TILE + PANEL);
        }
    }


    @Override
    public void row(int row, float[] out, int outOff) {
        int tile = tileOf(row);
        int j = row % TILE;
        int lane = laneOf(j);
        for (int i = 0; i < cols; i++) {
            int b = i / BLOCK;
            int g = (i % BLOCK) / 4;
            long r = blockOffset(tile, b);
            int packed = data.get(Floats.U16, r + (1L + g) * TILE * 2 + lane * 2L);
            int q = (packed >>> (4 * (i % 4)) & 0xf) - 8;
            out[outOff + i] = q * Float.float16ToFloat(data.get(Floats.U16, r + 2L * j));
        }
    }
}
