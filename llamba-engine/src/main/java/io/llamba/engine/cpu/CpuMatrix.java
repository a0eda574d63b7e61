package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.CheckpointException;
import io.llamba.engine.checkpoint.TensorInfo;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix of {@code rows × cols} (PyTorch layout: y = x·Wᵀ, so row r holds output r's
 * weights) stored in one format, read in place from the memory-mapped checkpoint. Each format is
 * one subclass with its own vectorised inner loops: the one place that knows its bits.
 */
public abstract sealed class CpuMatrix permits F32Matrix, Bf16Matrix, F16Matrix {
    protected final String name;
    protected final int rows;
    protected final int cols;
    protected final MemorySegment data;

    protected CpuMatrix(String name, int rows, int cols, MemorySegment data) {
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
    }

    /** Wraps a 2-D checkpoint tensor (or its first {@code rows} rows, for padded vocabularies). */
    public static CpuMatrix of(TensorInfo t, int rows) {
        if (t.rank() != 2) {
            throw new CheckpointException("tensor " + t.name() + " must be 2-D, is " + t.shapeString());
        }
        int cols = t.dim(1);
        long bytes = (long) rows * cols * t.dtype().bytes();
        MemorySegment seg = t.data().asSlice(0, bytes);
        return switch (t.dtype()) {
            case F32 -> new F32Matrix(t.name(), rows, cols, seg);
            case BF16 -> new Bf16Matrix(t.name(), rows, cols, seg);
            case F16 -> new F16Matrix(t.name(), rows, cols, seg);
            default -> throw new CheckpointException("tensor " + t.name() + ": dtype " + t.dtype() + " is not supported for weights (F32, BF16, F16)");
        };
    }

    public static CpuMatrix of(TensorInfo t) {
        return of(t, t.dim(0));
    }

    public String name() {
        return name;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public long bytes() {
        return data.byteSize();
    }

    /** Row {@code row} · {@code x[xOff .. xOff+cols)}. */
    public abstract float dot(int row, float[] x, int xOff);

    /**
     * Rows {@code [rowFrom, rowTo)} of Y = X·Wᵀ for {@code t} inputs: {@code x} holds t rows of
     * {@code cols}, {@code y} t rows of {@code yStride} with output r at column r. Each weight row is
     * read once for every group of four inputs, which is what makes batched decode and prefill
     * cheaper per token than one matrix-vector product each.
     */
    public abstract void matmul(float[] x, int t, float[] y, int yStride, int rowFrom, int rowTo);

    /** Copies row {@code row} as floats into {@code out[outOff ..)} (embedding look-up). */
    public abstract void row(int row, float[] out, int outOff);

    /** Y = X·Wᵀ over all rows, spread over the team. */
    public final void matmul(Parallel parallel, float[] x, int t, float[] y, int yStride) {
        // A chunk of rows is ~64 KB of weights or more: large enough to amortize the hand-out.
        int grain = Math.max(16, (1 << 16) / Math.max(1, cols * 2));
        parallel.forRange(rows, grain, (from, to) -> matmul(x, t, y, yStride, from, to));
    }
}
