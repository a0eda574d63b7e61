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
    /**
     * Each tile's records as a slice of its own, made once. The one-token loops index a tile's slice
     * with an int that steps over a block's groups, and C2 hoists the bounds check of every load out
     * of the group loop; long offsets into the whole matrix kept a check on every load (about an
     * eighth of the loop's time on an AVX2 machine). A slice made per block inside the loop would
     * need asSlice inlined there, which C2 does only if that call was profiled first.
     */
    private final MemorySegment[] records;

    Q4Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.Q4_0);
        this.data = arena.allocate((long) tiles * blocks * BLOCK_BYTES, 64);
        this.records = new MemorySegment[tiles];
        for (int t = 0; t < tiles; t++) {
            records[t] = data.asSlice((long) t * blocks * BLOCK_BYTES, (long) blocks * BLOCK_BYTES);
        }
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
        if (t == 1) {
            // One token: the values in int pairs and the sums' starting points.
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
        return 2 * TILE;
    }

    @Override
    int decodeGroup() {
        return 2;
    }

    /** One token times one tile (see the class comment). */
    @Override
    int decodeTile(MatmulScratch in, int tile, float[] buf) {
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z;
        MemorySegment qa = records[tile];
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            ShortVector ha = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            for (int o = b * BLOCK_BYTES + TILE * 2, end = (b + 1) * BLOCK_BYTES, i = b * BLOCK; o < end; o += TILE * 2, i += 4) {
                IntVector wa = IntVector.fromMemorySegment(I, qa, o, LE);
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
     * {@link #decodeTile} for two consecutive tiles at once, sharing the activation broadcasts: two
     * streams of weights in flight keep more memory requests outstanding than one. Not four as the
     * other formats: a four-tile loop of this format is more code than C2 inlines whole once other
     * vector shapes have run in the JVM (a benchmark's or another model's), and then it boxes vectors
     * (MatrixBench after BF16: 114 MB allocated per round, 11 GB/s instead of 22).
     */
    @Override
    int decodeTilePair(MatmulScratch in, int tile, float[] buf) {
        int[] xq = in.qpair;
        int[] start = in.qstart;
        float[] dx = in.qscale;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, b0 = z, b1 = z;
        long tileBytes = (long) blocks * BLOCK_BYTES;
        MemorySegment qa = records[tile], qb = records[tile + 1];
        for (int b = 0; b < blocks; b++) {
            long ra = blockOffset(tile, b);
            long rb = ra + tileBytes;
            ShortVector ha = IntVector.broadcast(I, start[b]).reinterpretAsShorts();
            ShortVector hb = ha;
            for (int o = b * BLOCK_BYTES + TILE * 2, end = (b + 1) * BLOCK_BYTES, i = b * BLOCK; o < end; o += TILE * 2, i += 4) {
                IntVector wa = IntVector.fromMemorySegment(I, qa, o, LE);
                IntVector wb = IntVector.fromMemorySegment(I, qb, o, LE);
                ShortVector x0 = IntVector.broadcast(I, xq[i]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x0));
                hb = hb.add(wb.lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x0));
                ShortVector x1 = IntVector.broadcast(I, xq[i + 1]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x1));
                hb = hb.add(wb.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x1));
                ShortVector x2 = IntVector.broadcast(I, xq[i + 2]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x2));
                hb = hb.add(wb.lanewise(VectorOperators.LSHR, 8).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x2));
                ShortVector x3 = IntVector.broadcast(I, xq[i + 3]).reinterpretAsShorts();
                ha = ha.add(wa.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x3));
                hb = hb.add(wb.lanewise(VectorOperators.LSHR, 12).lanewise(VectorOperators.AND, 0x000f000f).reinterpretAsShorts().mul(x3));
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
        }
        a0.intoArray(buf, 0);
        a1.intoArray(buf, 0 + PANEL);
        b0.intoArray(buf, TILE);
        b1.intoArray(buf, TILE + PANEL);
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

    // No few-token loop (fewTokens() is 0): one streaming 2 to 4 tokens over two tiles, with the
    // integer block sums of decodeTile per token, was more than C2 would compile with its vectors in
    // registers: it boxed them (16 GB allocated, 0.1 GB/s of weights, for 24 products of 8192 x 2048
    // at 4 tokens). Small batches take the blocked path, as every batch above 4 does.

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
