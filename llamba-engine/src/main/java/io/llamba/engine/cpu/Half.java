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
 * keeps bit 31; read as a float, that is the half's value times 2^-112 (the difference of the exponent
 * biases), a denormal float when the half is subnormal. So the exponent field gets 112 added in integer
 * arithmetic instead of a multiplication by 2^112; a subnormal half (exponent 0) gets 113, which reads
 * as 2^-14 + m·2^-24, and 2^-14 is subtracted. Both are exact, and no float operation ever sees a
 * denormal: the multiplication (the same result) takes a microcode assist on x86 whenever a lane is
 * denormal, and small weights have subnormal Q8_0/Q4_0 scales (Llamba's out_proj and down_proj, at
 * 1/sqrt(n)/layers, in the random checkpoint: Q8_0 decoding ran at a third of the bandwidth). Exponent 31 (infinities, NaN) needs one more
 * step, {@link F16Matrix} does it.
 */
final class Half {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize()));
    /** As many shorts as F has floats. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int MASK = 0x8fffe000;
    /** Of the shifted bits: the exponent and mantissa, and the sign. */
    static final int MAGNITUDE = 0x0fffe000, SIGN = 0x80000000;
    /**
     * 2^112: the shifted bits read as a float times this are the half's value. Only Q4_0's one-token
     * loops still multiply so: exact, and as fast as the integer rebias, but a subnormal scale (a
     * block whose largest weight is below about 0.0005) makes it a denormal operation. Written inline
     * there, the rebias made C2 box that loop's vectors after other code had run (HotPathAllocationTest
     * in the whole suite), and a call per block cost 8% of Q4_0's decoding.
     */
    static final float EXP_ADJUST = 0x1p112f;
    /** Added to the shifted bits of a normal half, and of a subnormal one (see the class comment). */
    static final int NORMAL_BIAS = 112 << 23, SUBNORMAL_BIAS = 113 << 23;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Half() {
    }

    /**
     * {@code n} finite halves at {@code seg[offset ..)} as floats into {@code dst[dstOff ..)}. Arrays in
     * and out: a vector returned from a method the JIT does not inline gets boxed.
     */
    static void toFloats(MemorySegment seg, long offset, float[] dst, int dstOff, int n) {
        toFloats(seg, offset, 0, 1, n, dst, dstOff);
    }

    /**
     * {@code runs} runs of {@code n} finite halves, the first at {@code seg[offset ..)} and each
     * {@code stride} bytes after the previous, as floats into {@code dst[dstOff ..)} back to back (the
     * scales of a block of several tiles of Q8_0 or Q4_0, one call per block).
     */
    static void toFloats(MemorySegment seg, long offset, long stride, int runs, int n, float[] dst, int dstOff) {
        int bound = F.loopBound(n);
        for (int r = 0; r < runs; r++, offset += stride, dstOff += n) {
            int i = 0;
            for (; i < bound; i += F.length()) {
                IntVector bits = ((IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, MASK);
                // Rebiased as the class comment says: exponent + 112, or + 113 and minus 2^-14 for a subnormal half.
                IntVector mag = bits.lanewise(VectorOperators.AND, MAGNITUDE);
                mag.add(NORMAL_BIAS).blend(mag.add(SUBNORMAL_BIAS).reinterpretAsFloats().sub(0x1p-14f).reinterpretAsInts(),
                                mag.compare(VectorOperators.LT, 1 << 23))
                        .lanewise(VectorOperators.OR, bits.lanewise(VectorOperators.AND, SIGN)).reinterpretAsFloats()
                        .intoArray(dst, dstOff + i);
            }
            for (; i < n; i++) {
                dst[dstOff + i] = Float.float16ToFloat(seg.get(io.llamba.engine.checkpoint.Floats.U16, offset + 2L * i));
            }
        }
    }
}
