package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Vector widening of IEEE float16 to float32 with integer arithmetic (the Vector API has no half-precision
 * conversion): the half's exponent and mantissa are moved into a float's fields and the result is
 * rescaled by 2^112 (the difference of the exponent biases), which also gets subnormals right.
 */
final class Half {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));
    /** As many shorts as F has floats. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final float EXP_ADJUST = 0x1p112f;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Half() {
    }

    /**
     * Finite halves held in the high 16 bits of each int lane (the low 16 bits are ignored) as floats.
     * Shifting right by 3 (arithmetically) puts the exponent at bit 23 and the mantissa at bit 13, and
     * spreads the sign over bits 28..31, of which the mask keeps bit 31.
     */
    static FloatVector finiteHigh(IntVector h) {
        return h.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, 0x8fffe000).reinterpretAsFloats().mul(EXP_ADJUST);
    }

    /** As {@link #finiteHigh}, also mapping infinities and NaNs (exponent 31) to float's. */
    static FloatVector high(IntVector h) {
        IntVector bits = h.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, 0x8fffe000);
        FloatVector f = bits.reinterpretAsFloats().mul(EXP_ADJUST);
        return f.reinterpretAsInts().blend(bits.lanewise(VectorOperators.OR, 0x7f800000),
                h.lanewise(VectorOperators.AND, 0x7c000000).compare(VectorOperators.EQ, 0x7c000000)).reinterpretAsFloats();
    }

    /** Finite halves at {@code seg[offset ..)}, as many as F has lanes, as floats. */
    static FloatVector load(MemorySegment seg, long offset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, offset, LE).convertShape(VectorOperators.S2I, I, 0);
        return finiteHigh(h.lanewise(VectorOperators.LSHL, 16));
    }
}
