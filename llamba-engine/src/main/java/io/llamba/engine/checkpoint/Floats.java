package io.llamba.engine.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Scalar conversions between float32 and the 16-bit storage formats; the one place for their bit layouts. */
public final class Floats {
    private Floats() {
    }

    public static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float32 to bfloat16 with round-to-nearest-even; NaN stays NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // quiet NaN
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }

    public static float read(MemorySegment seg, DType dtype, long index) {
        return switch (dtype) {
            case F32 -> seg.getAtIndex(F32, index);
            case BF16 -> bf16ToFloat(seg.getAtIndex(U16, index));
            case F16 -> f16ToFloat(seg.getAtIndex(U16, index));
            case F64 -> (float) seg.getAtIndex(F64, index);
            default -> throw new CheckpointException("dtype " + dtype + " cannot be read as float");
        };
    }

    public static void write(MemorySegment seg, DType dtype, long index, float value) {
        switch (dtype) {
            case F32 -> seg.setAtIndex(F32, index, value);
            case BF16 -> seg.setAtIndex(U16, index, floatToBf16(value));
            case F16 -> seg.setAtIndex(U16, index, floatToF16(value));
            default -> throw new CheckpointException("dtype " + dtype + " cannot be written from float");
        }
    }
}
