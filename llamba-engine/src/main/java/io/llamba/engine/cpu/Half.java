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
 * conversion): with a half in the high 16 bits of an int, an arithmetic shift right by 3 puts its
 * exponent at bit 23 and its mantissa at bit 13 and spreads its sign over bits 28..31, of which the mask
 * keeps bit 31; the result, read as a float, is the half's value times 2^-112 (the difference of the
 * exponent biases), which a multiplication by 2^112 undoes, subnormals included. Exponent 31
 * (infinities, NaN) needs one more step, {@link F16Matrix} does it.
 */
final class Half {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));
    /** As many shorts as F has floats. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int MASK = 0x8fffe000;
    static final float EXP_ADJUST = 0x1p112f;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Half() {
    }

    /**
     * {@code n} finite halves at {@code seg[offset ..)} as floats into {@code dst[dstOff ..)}. Arrays in
     * and out: a vector returned from a method the JIT does not inline gets boxed.
     */
    static void toFloats(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        int bound = F.loopBound(n);
        int i = 0;
        for (; i < bound; i += F.length()) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0);
            h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, MASK)
                    .reinterpretAsFloats().mul(EXP_ADJUST).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = Float.float16ToFloat(seg.get(io.llamba.engine.checkpoint.Floats.U16, offset + 2L * i));
        }
    }
}
