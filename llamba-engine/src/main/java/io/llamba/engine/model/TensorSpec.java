package io.llamba.engine.model;

import java.util.Arrays;

/**
 * A tensor an architecture expects in a checkpoint: its name, shape and how a random checkpoint
 * initialises it. When {@code paddedRows} exceeds {@code shape[0]}, the first dimension may be anything from {@code shape[0]} up
 * (padded vocabularies: the extra rows are loaded but never used).
 */
public record TensorSpec(String name, long[] shape, Init init, long paddedRows) {

    /** How a random-weight checkpoint fills the tensor. */
    public sealed interface Init {
    }

    public record Constant(float value) implements Init {
    }

    public record Normal(float std) implements Init {
    }

    public record Uniform(float low, float high) implements Init {
    }

    public static TensorSpec of(String name, Init init, long... shape) {
        return new TensorSpec(name, shape, init, shape.length == 0 ? 0 : shape[0]);
    }

    /** A tensor whose first dimension is at least {@code rows} (written with {@code paddedRows}). */
    public static TensorSpec padded(String name, Init init, long rows, long paddedRows, long cols) {
        return new TensorSpec(name, new long[]{rows, cols}, init, paddedRows);
    }

    /** A vector of at least {@code rows} values (written with {@code paddedRows}). */
    public static TensorSpec paddedVector(String name, Init init, long rows, long paddedRows) {
        return new TensorSpec(name, new long[]{rows}, init, paddedRows);
    }

    public boolean rowsMayBePadded() {
        return shape.length > 0 && paddedRows != shape[0];
    }

    /** The shape a freshly written checkpoint uses. */
    public long[] writtenShape() {
        long[] s = shape.clone();
        if (s.length > 0) {
            s[0] = paddedRows;
        }
        return s;
    }

    /** Whether {@code actual} fits this spec. */
    public boolean accepts(long[] actual) {
        if (actual.length != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            boolean ok = i == 0 && rowsMayBePadded() ? actual[0] >= shape[0] : actual[i] == shape[i];
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    public String expectedShape() {
        if (rowsMayBePadded()) {
            long[] rest = Arrays.copyOfRange(shape, 1, shape.length);
            return "[>=" + shape[0] + (rest.length > 0 ? ", " + Arrays.toString(rest).substring(1) : "]");
        }
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && Arrays.equals(t.shape, shape) && t.paddedRows == paddedRows;
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name + " " + expectedShape();
    }
}
