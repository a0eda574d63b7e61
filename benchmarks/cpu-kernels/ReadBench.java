import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * Streaming read bandwidth with a given number of threads, each summing its own contiguous share of a
 * 1 GiB buffer with four vector accumulators: the ceiling of a decode loop that does almost nothing
 * but load. With 1 thread it is what one core can pull from memory on its own, the figure the
 * one-token kernels' rates are compared with in docs/benchmarks/cpu.md. Best of 8 rounds.
 *
 * <pre>java --add-modules jdk.incubator.vector benchmarks/cpu-kernels/ReadBench.java THREADS</pre>
 */
public class ReadBench {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static float sum(MemorySegment s, long from, long to) {
        int step = F.vectorByteSize();
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (long o = from; o < to; o += 4L * step) {
            a = a.add(FloatVector.fromMemorySegment(F, s, o, LE));
            b = b.add(FloatVector.fromMemorySegment(F, s, o + step, LE));
            c = c.add(FloatVector.fromMemorySegment(F, s, o + 2L * step, LE));
            d = d.add(FloatVector.fromMemorySegment(F, s, o + 3L * step, LE));
        }
        return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
    }

    public static void main(String[] args) throws InterruptedException {
        int threads = Integer.parseInt(args[0]);
        long n = 1L << 30;
        MemorySegment s = Arena.global().allocate(n, 64);
        s.fill((byte) 1);
        double best = 0;
        float[] sink = new float[threads];
        for (int round = 0; round < 8; round++) {
            long t0 = System.nanoTime();
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int k = t;
                long from = n / threads * t, to = n / threads * (t + 1);
                ts[t] = new Thread(() -> sink[k] += sum(s, from, to));
                ts[t].start();
            }
            for (Thread t : ts) {
                t.join();
            }
            best = Math.max(best, n / (double) (System.nanoTime() - t0));
        }
        System.out.printf(Locale.ROOT, "read, %d thread(s): %.1f GB/s (best of 8 passes over 1 GiB; checksum %.0f)%n", threads, best, sink[0]);
    }
}
