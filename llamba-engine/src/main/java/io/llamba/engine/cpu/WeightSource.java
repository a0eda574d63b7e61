package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.CheckpointException;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.checkpoint.Floats;
import io.llamba.engine.checkpoint.TensorInfo;

import java.lang.foreign.MemorySegment;

/**
 * The checkpoint rows a packed matrix is built from: the first {@code rows} rows of one 2-D tensor,
 * or two tensors of the same shape whose rows are interleaved by panels (a gated pair such as the
 * MLP's gate and up projections: each tile then holds {@code P} rows of the first and the same
 * {@code P} rows of the second, so one pass computes both and the tile's epilogue combines them).
 */
public final class WeightSource {
    private final TensorInfo first;
    private final TensorInfo second;
    private final int rows;
    private final int cols;

    private WeightSource(TensorInfo first, TensorInfo second, int rows) {
        check2d(first);
        if (rows < 1 || rows > first.dim(0)) {
            throw new CheckpointException("tensor " + first.name() + ": " + rows + " rows asked for, it has " + first.dim(0));
        }
        if (second != null) {
            check2d(second);
            if (second.dim(0) != first.dim(0) || second.dim(1) != first.dim(1) || second.dtype() != first.dtype()) {
                throw new CheckpointException("tensors " + first.name() + " " + first.dtype() + first.shapeString() + " and "
                        + second.name() + " " + second.dtype() + second.shapeString() + " must have the same shape and dtype");
            }
        }
        this.first = first;
        this.second = second;
        this.rows = rows;
        this.cols = first.dim(1);
    }

    private static void check2d(TensorInfo t) {
        if (t.rank() != 2) {
            throw new CheckpointException("tensor " + t.name() + " must be 2-D, is " + t.shapeString());
        }
        if (!t.dtype().isFloatWeight()) {
            throw new CheckpointException("tensor " + t.name() + ": dtype " + t.dtype() + " is not supported for weights (F32, BF16, F16)");
        }
    }

    /** The first {@code rows} rows of {@code t} (fewer than it has for a padded vocabulary). */
    public static WeightSource of(TensorInfo t, int rows) {
        return new WeightSource(t, null, rows);
    }

    public static WeightSource of(TensorInfo t) {
        return new WeightSource(t, null, t.rank() == 2 ? t.dim(0) : 0);
    }

    /** {@code a} and {@code b} interleaved by panels; the product's output is combined per row pair. */
    public static WeightSource gated(TensorInfo a, TensorInfo b) {
        return new WeightSource(a, b, a.rank() == 2 ? a.dim(0) : 0);
    }

    public boolean gated() {
        return second != null;
    }

    /** Output rows of the product (for a gated pair, rows of each tensor). */
    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public DType dtype() {
        return first.dtype();
    }

    public String name() {
        return second == null ? first.name() : first.name() + "+" + second.name();
    }

    /**
     * Row {@code j} of tile {@code tile} ({@code 2P} rows per tile) as a slice of the checkpoint, or null
     * for a padding row past the end.
     */
    MemorySegment tileRow(int tile, int j, int panel) {
        TensorInfo t;
        long r;
        if (second == null) {
            t = first;
            r = (long) tile * 2 * panel + j;
        } else {
            t = j < panel ? first : second;
            r = (long) tile * panel + (j % panel);
        }
        if (r >= rows) {
            return null;
        }
        long rowBytes = (long) cols * t.dtype().bytes();
        return t.data().asSlice(r * rowBytes, rowBytes);
    }

    /** Reads a row slice as floats into {@code out[0, cols)}, or zeros for a padding row. */
    void readFloats(MemorySegment row, float[] out) {
        if (row == null) {
            java.util.Arrays.fill(out, 0, cols, 0f);
            return;
        }
        switch (dtype()) {
            case F32 -> MemorySegment.copy(row, Floats.F32, 0, out, 0, cols);
            case BF16, F16 -> {
                // One bulk copy of the row's bits, then the widening on the heap.
                short[] bits = new short[cols];
                MemorySegment.copy(row, Floats.U16, 0, bits, 0, cols);
                boolean bf16 = dtype() == DType.BF16;
                for (int i = 0; i < cols; i++) {
                    out[i] = bf16 ? Floats.bf16ToFloat(bits[i]) : Floats.f16ToFloat(bits[i]);
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    /** Reads a row slice's 16-bit values (BF16 or F16 bits) into {@code out[0, cols)}. */
    void readBits(MemorySegment row, short[] out) {
        MemorySegment.copy(row, Floats.U16, 0, out, 0, cols);
    }
}
