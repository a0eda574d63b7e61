import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Three ways to write Q8_0's one-token loop over Q8Matrix's layout (per tile of 32 rows and block of 32
 * columns: 64 bytes of scales, then per column the 32 rows' int8 values), two tiles at a time, timed
 * alone: {@code float}, the engine's (16-byte loads widened to float, fused multiply-add, per block
 * times the scale); {@code int16}, activations quantized to int8 and multiplied in 16-bit lanes, two
 * columns summed there and then widened to 32 bits; {@code wide}, 64-byte loads (two columns) split
 * into four float vectors. The scales are floats here (the same for every variant), so only the
 * loops differ. A buffer of BYTES that fits in L2 times the arithmetic; 1 GB times memory as well.
 * AVX-512 shapes only (16 floats per vector). Best of the last 3 of 12 rounds.
 *
 * <pre>java --add-modules jdk.incubator.vector benchmarks/cpu-kernels/Q8DecodeVariants.java BYTES THREADS float|int16|wide</pre>
 */
public class Q8DecodeVariants {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128, B32 = ByteVector.SPECIES_256, B64 = ByteVector.SPECIES_512;
    static final int TILE = 32, PANEL = 16, BLOCK = 32, BLOCK_BYTES = TILE * 2 + BLOCK * TILE;
    static final int COLS = 2048, BLOCKS = COLS / BLOCK;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static MemorySegment data;
    static final float[] x = new float[COLS], dx = new float[BLOCKS], scales = new float[BLOCKS * TILE * 2];
    /** int8 activations, each twice in an int (a 32-bit broadcast fills 16-bit lanes). */
    static final int[] xPairs = new int[COLS];

    static float floatLoop(long tile) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, b0 = z, b1 = z;
        long tileBytes = (long) BLOCKS * BLOCK_BYTES;
        for (int b = 0; b < BLOCKS; b++) {
            long ra = (tile * BLOCKS + b) * BLOCK_BYTES, rb = ra + tileBytes;
            FloatVector s0 = z, s1 = z, u0 = z, u1 = z;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i++) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector xv = FloatVector.broadcast(F, x[i]);
                s0 = ((FloatVector) ByteVector.fromMemorySegment(B16, data, ra + o, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, s0);
                s1 = ((FloatVector) ByteVector.fromMemorySegment(B16, data, ra + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, s1);
                u0 = ((FloatVector) ByteVector.fromMemorySegment(B16, data, rb + o, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, u0);
                u1 = ((FloatVector) ByteVector.fromMemorySegment(B16, data, rb + o + PANEL, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, u1);
            }
            a0 = s0.fma(FloatVector.fromArray(F, scales, b * 64), a0);
            a1 = s1.fma(FloatVector.fromArray(F, scales, b * 64 + 16), a1);
            b0 = u0.fma(FloatVector.fromArray(F, scales, b * 64 + 32), b0);
            b1 = u1.fma(FloatVector.fromArray(F, scales, b * 64 + 48), b1);
        }
        return a0.add(a1).add(b0).add(b1).reduceLanes(VectorOperators.ADD);
    }

    static float int16Loop(long tile) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, b0 = z, b1 = z;
        IntVector zi = IntVector.zero(I);
        long tileBytes = (long) BLOCKS * BLOCK_BYTES;
        for (int b = 0; b < BLOCKS; b++) {
            long ra = (tile * BLOCKS + b) * BLOCK_BYTES, rb = ra + tileBytes;
            IntVector s0 = zi, s1 = zi, u0 = zi, u1 = zi;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i += 2) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                ShortVector x0 = IntVector.broadcast(I, xPairs[i]).reinterpretAsShorts();
                ShortVector x1 = IntVector.broadcast(I, xPairs[i + 1]).reinterpretAsShorts();
                ShortVector wa0 = (ShortVector) ByteVector.fromMemorySegment(B32, data, ra + o, LE).convertShape(VectorOperators.B2S, S, 0);
                ShortVector wa1 = (ShortVector) ByteVector.fromMemorySegment(B32, data, ra + o + TILE, LE).convertShape(VectorOperators.B2S, S, 0);
                ShortVector wb0 = (ShortVector) ByteVector.fromMemorySegment(B32, data, rb + o, LE).convertShape(VectorOperators.B2S, S, 0);
                ShortVector wb1 = (ShortVector) ByteVector.fromMemorySegment(B32, data, rb + o + TILE, LE).convertShape(VectorOperators.B2S, S, 0);
                // Two products of 8-bit values fit a 16-bit lane (2·127² < 2^15); then even and odd rows widen.
                IntVector pa = wa0.mul(x0).add(wa1.mul(x1)).reinterpretAsInts();
                IntVector pb = wb0.mul(x0).add(wb1.mul(x1)).reinterpretAsInts();
                s0 = s0.add(pa.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                s1 = s1.add(pa.lanewise(VectorOperators.ASHR, 16));
                u0 = u0.add(pb.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                u1 = u1.add(pb.lanewise(VectorOperators.ASHR, 16));
            }
            float e = dx[b];
            a0 = ((FloatVector) s0.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, scales, b * 64).mul(e), a0);
            a1 = ((FloatVector) s1.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, scales, b * 64 + 16).mul(e), a1);
            b0 = ((FloatVector) u0.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, scales, b * 64 + 32).mul(e), b0);
            b1 = ((FloatVector) u1.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, scales, b * 64 + 48).mul(e), b1);
        }
        return a0.add(a1).add(b0).add(b1).reduceLanes(VectorOperators.ADD);
    }

    static float wideLoop(long tile) {
        FloatVector z = FloatVector.zero(F), a0 = z, a1 = z, b0 = z, b1 = z;
        long tileBytes = (long) BLOCKS * BLOCK_BYTES;
        for (int b = 0; b < BLOCKS; b++) {
            long ra = (tile * BLOCKS + b) * BLOCK_BYTES, rb = ra + tileBytes;
            FloatVector s0 = z, s1 = z, u0 = z, u1 = z;
            for (int i = b * BLOCK, end = i + BLOCK; i < end; i += 2) {
                long o = TILE * 2 + (long) (i - b * BLOCK) * TILE;
                FloatVector x0 = FloatVector.broadcast(F, x[i]);
                FloatVector x1 = FloatVector.broadcast(F, x[i + 1]);
                ByteVector va = ByteVector.fromMemorySegment(B64, data, ra + o, LE);
                ByteVector vb = ByteVector.fromMemorySegment(B64, data, rb + o, LE);
                s0 = ((FloatVector) va.convertShape(VectorOperators.B2F, F, 0)).fma(x0, s0);
                s1 = ((FloatVector) va.convertShape(VectorOperators.B2F, F, 1)).fma(x0, s1);
                u0 = ((FloatVector) vb.convertShape(VectorOperators.B2F, F, 0)).fma(x0, u0);
                u1 = ((FloatVector) vb.convertShape(VectorOperators.B2F, F, 1)).fma(x0, u1);
                s0 = ((FloatVector) va.convertShape(VectorOperators.B2F, F, 2)).fma(x1, s0);
                s1 = ((FloatVector) va.convertShape(VectorOperators.B2F, F, 3)).fma(x1, s1);
                u0 = ((FloatVector) vb.convertShape(VectorOperators.B2F, F, 2)).fma(x1, u0);
                u1 = ((FloatVector) vb.convertShape(VectorOperators.B2F, F, 3)).fma(x1, u1);
            }
            a0 = s0.fma(FloatVector.fromArray(F, scales, b * 64), a0);
            a1 = s1.fma(FloatVector.fromArray(F, scales, b * 64 + 16), a1);
            b0 = u0.fma(FloatVector.fromArray(F, scales, b * 64 + 32), b0);
            b1 = u1.fma(FloatVector.fromArray(F, scales, b * 64 + 48), b1);
        }
        return a0.add(a1).add(b0).add(b1).reduceLanes(VectorOperators.ADD);
    }

    public static void main(String[] args) throws InterruptedException {
        if (F.length() != FloatVector.SPECIES_PREFERRED.length()) {
            throw new IllegalStateException("written for 512-bit vectors");
        }
        long bytes = Long.parseLong(args[0]);
        int threads = Integer.parseInt(args[1]);
        String variant = args[2];
        long tileBytes = (long) BLOCKS * BLOCK_BYTES;
        long tiles = Math.max(2 * threads, bytes / tileBytes / 2 * 2);
        data = Arena.global().allocate(tiles * tileBytes + 64, 64);
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < data.byteSize(); i++) {
            data.set(ValueLayout.JAVA_BYTE, i, (byte) (r.nextInt(255) - 127));
        }
        for (int i = 0; i < COLS; i++) {
            x[i] = (float) r.nextGaussian();
            xPairs[i] = ((r.nextInt(255) - 127) & 0xffff) * 0x10001;
        }
        java.util.Arrays.fill(scales, 0.01f);
        java.util.Arrays.fill(dx, 0.02f);
        long reps = Math.max(1, (1L << 31) / (tiles * tileBytes));
        double best = 0;
        float[] sink = new float[threads];
        for (int round = 0; round < 12; round++) {
            long t0 = System.nanoTime();
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int k = t;
                ts[t] = new Thread(() -> {
                    float s = 0;
                    for (long rep = 0; rep < reps; rep++) {
                        for (long tile = 2L * k; tile < tiles; tile += 2L * threads) {
                            s += switch (variant) {
                                case "float" -> floatLoop(tile);
                                case "int16" -> int16Loop(tile);
                                case "wide" -> wideLoop(tile);
                                default -> throw new IllegalArgumentException("variant: float, int16 or wide");
                            };
                        }
                    }
                    sink[k] = s;
                });
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            double gbps = reps * tiles * tileBytes / (double) (System.nanoTime() - t0);
            if (round >= 9) {
                best = Math.max(best, gbps);
            }
        }
        System.out.printf(Locale.ROOT, "q8_0 %s loop, %d bytes, %d thread(s): %.1f GB/s (checksum %.1f)%n", variant, tiles * tileBytes, threads, best, sink[0]);
    }
}
