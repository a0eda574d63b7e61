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
 * IEEE half-precision weights, laid out as {@link Bf16Matrix}: per tile and pair of columns (2c, 2c+1), one int per row
 * holds column 2c in its low half and 2c+1 in its high half, widened as {@link Half} explains (exact,
 * infinities and NaNs included).
 */
public final class F16Matrix extends CpuMatrix {
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private final MemorySegment data;

    F16Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.F16);
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
    int decodeBufferFloats() {
        return tileBufferFloats() + TILE;
    }

    /**
     * Widens the tile, then the 1-token kernel of the multi-token path: the same chain of multiply-adds
     * as several tokens get (F16 is kept exact, not fast).
     */
    @Override
    int decodeTile(MatmulScratch in, int tile, float[] buf) {
        dequantizeTile(tile, buf);
        int o = tileBufferFloats();
        TileKernels.plain1(buf, colsPadded, in.x, 0, buf, o);
        return o;
    }

    @Override
    void dequantizeTile(int tile, float[] buf) {
        long base = offset(tile, 0, 0);
        for (int i = 0; i < colsPadded; i += 2) {
            long off = base + (long) i * TILE * 2;
            for (int h = 0; h < 4; h++) {
                // h: (panel 0, column i), (panel 1, i), (panel 0, i+1), (panel 1, i+1); a half in the high bits of each int.
                IntVector v = IntVector.fromMemorySegment(I, data, off + (h & 1) * PANEL * 4L, LE);
                IntVector hi = h < 2 ? v.lanewise(VectorOperators.LSHL, 16) : v;
                IntVector bits = hi.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, Half.MASK);
                IntVector mag = bits.lanewise(VectorOperators.AND, Half.MAGNITUDE);
                FloatVector f = mag.add(Half.NORMAL_BIAS).blend(mag.add(Half.SUBNORMAL_BIAS).reinterpretAsFloats().sub(0x1p-14f).reinterpretAsInts(),
                                mag.compare(VectorOperators.LT, 1 << 23))
                        .lanewise(VectorOperators.OR, bits.lanewise(VectorOperators.AND, Half.SIGN)).reinterpretAsFloats();
                // Exponent 31 (infinity, NaN): all ones in float's exponent, mantissa kept.
                f = f.reinterpretAsInts().blend(bits.lanewise(VectorOperators.OR, 0x7f800000),
                        hi.lanewise(VectorOperators.AND, 0x7c000000).compare(VectorOperators.EQ, 0x7c000000)).reinterpretAsFloats();
                f.intoArray(buf, (i + h / 2) * TILE + (h & 1) * PANEL);
            }
        }
    }

    @Override
    public void row(int row, float[] out, int outOff) {
        int tile = tileOf(row);
        for (int i = 0; i < cols; i++) {
            int v = data.get(I32, offset(tile, i / 2, row % TILE));
            out[outOff + i] = Float.float16ToFloat((short) ((i & 1) == 0 ? v : v >>> 16));
        }
    }
}
