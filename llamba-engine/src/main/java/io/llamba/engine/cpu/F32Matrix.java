package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** float32 weights: per tile and column, the tile's rows side by side. */
public final class F32Matrix extends CpuMatrix {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private final MemorySegment data;

    F32Matrix(WeightSource src, Arena arena) {
        super(src, WeightFormat.F32);
        this.data = arena.allocate((long) tiles * colsPadded * TILE * 4, 64);
    }

    private long offset(int tile, int i, int lane) {
        return (((long) tile * colsPadded + i) * TILE + lane) * 4;
    }

    @Override
    public long bytes() {
        return data.byteSize();
    }

    @Override
    void packTile(WeightSource src, int tile, float[] buf) {
        // The tile is built on the heap and copied in one go: off-heap stores one by one cost more.
        float[] packed = new float[colsPadded * TILE];
        for (int j = 0; j < TILE; j++) {
            MemorySegment row = src.tileRow(tile, j, PANEL);
            if (row != null) {
                src.readFloats(row, buf);
                for (int i = 0; i < cols; i++) {
                    packed[i * TILE + j] = buf[i];
                }
            }
        }
        MemorySegment.copy(packed, 0, data, Floats.F32, offset(tile, 0, 0), packed.length);
    }

    @Override
    int decodeTile(MatmulScratch in, int tile, float[] out) {
        float[] x = in.x;
        long base = offset(tile, 0, 0);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        for (int i = 0; i < colsPadded; i++) {
            long off = base + (long) i * TILE * 4;
            FloatVector b = FloatVector.broadcast(F, x[i]);
            a0 = FloatVector.fromMemorySegment(F, data, off, LE).fma(b, a0);
            a1 = FloatVector.fromMemorySegment(F, data, off + PANEL * 4, LE).fma(b, a1);
        }
        a0.intoArray(out, 0);
        a1.intoArray(out, PANEL);
        return 0;
    }

    @Override
    void dequantizeTile(int tile, float[] buf) {
        MemorySegment.copy(data, Floats.F32, offset(tile, 0, 0), buf, 0, colsPadded * TILE);
    }

    @Override
    public void row(int row, float[] out, int outOff) {
        int tile = tileOf(row);
        for (int i = 0; i < cols; i++) {
            out[outOff + i] = data.get(Floats.F32, offset(tile, i, row % TILE));
        }
    }
}
