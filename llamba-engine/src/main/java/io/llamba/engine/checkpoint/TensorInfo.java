package io.llamba.engine.checkpoint;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a checkpoint: its dtype, shape and bytes, a slice of the memory-mapped file (never
 * copied onto the heap).
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, MemorySegment data) {

    public long elementCount() {
        return elementCount(shape);
    }

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    public int rank() {
        return shape.length;
    }

    /** Dimension {@code i} as an int (the engine's tensors are indexed by int rows and columns). */
    public int dim(int i) {
        return Math.toIntExact(shape[i]);
    }

    /** Reads element {@code i} as a float, whatever the storage dtype (slow path: loading, tests). */
    public float getFloat(long i) {
        return Floats.read(data, dtype, i);
    }

    /** All elements as floats on the heap; for small tensors (norm weights, biases) only. */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new CheckpointException("tensor " + name + " is too large to copy to the heap");
        }
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) {
            out[i] = Floats.read(data, dtype, i);
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString() + " in " + file.getFileName();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && t.file.equals(file);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }
}
