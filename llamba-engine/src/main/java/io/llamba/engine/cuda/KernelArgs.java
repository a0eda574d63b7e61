package io.llamba.engine.cuda;

import java.util.Arrays;

/**
 * The parameters of one launch, in the kernel's order: device pointers (as addresses), 32- and
 * 64-bit integers and floats. Each value is kept as the bits of its C type.
 */
public final class KernelArgs {
    /** Sizes in bytes of the C types. */
    public enum Kind {
        I32(4), I64(8), F32(4);

        final int bytes;

        Kind(int bytes) {
            this.bytes = bytes;
        }
    }

    private Kind[] kinds = new Kind[16];
    private long[] values = new long[16];
    private int count;

    private KernelArgs add(Kind k, long v) {
        if (count == kinds.length) {
            kinds = Arrays.copyOf(kinds, count * 2);
            values = Arrays.copyOf(values, count * 2);
        }
        kinds[count] = k;
        values[count++] = v;
        return this;
    }

    /** A device pointer (0 for null). */
    public KernelArgs ptr(long address) {
        return add(Kind.I64, address);
    }

    public KernelArgs i32(int v) {
        return add(Kind.I32, v);
    }

    public KernelArgs i64(long v) {
        return add(Kind.I64, v);
    }

    public KernelArgs f32(float v) {
        return add(Kind.F32, Float.floatToRawIntBits(v));
    }

    public int count() {
        return count;
    }

    public Kind kind(int i) {
        return kinds[i];
    }

    /** The value's bits: the address or integer, or the float's raw bits. */
    public long bits(int i) {
        return values[i];
    }
}
