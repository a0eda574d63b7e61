import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.cpu.CpuMatrix;
import io.llamba.engine.cpu.MatmulScratch;
import io.llamba.engine.cpu.Parallel;
import io.llamba.engine.cpu.WeightFormat;
import io.llamba.engine.cpu.WeightSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One weight format's products alone, outside a model: 24 random 8192 x 2048 matrices (0.4 to 0.8 GB,
 * beyond the caches) packed from BF16, then T token rows times each of them, 15 rounds, the best kept.
 * Prints the weight bytes per second and what the calling thread allocated in the last round (the
 * kernels should allocate nothing; boxed vectors show up here).
 *
 * <p>-Drows=, -Dcount=, -Drounds= change the matrices' rows, their number and the rounds: with
 * {@code -Drows=256 -Dcount=1 -Drounds=20000} the weights (at most 1 MB) stay in the core's L2, so the
 * figure is the kernel's arithmetic rate with memory out of the way (docs/benchmarks/cpu.md).
 *
 * <pre>java --add-modules jdk.incubator.vector [-Dstd=0.02] -cp llamba-engine/target/llamba-engine.jar \
 *      benchmarks/cpu-kernels/MatrixBench.java THREADS TOKENS FORMAT...   (FORMAT: F32 BF16 F16 Q8_0 Q4_0)</pre>
 */
public class MatrixBench {
    public static void main(String[] args) {
        int rows = Integer.getInteger("rows", 8192);
        int cols = 2048;
        int threads = Integer.parseInt(args[0]);
        int tokens = Integer.parseInt(args[1]);
        // -Dstd=: the weights' standard deviation. Below about 0.002, Q8_0 and Q4_0 scales are subnormal float16.
        float std = Float.parseFloat(System.getProperty("std", "0.02"));
        Arena arena = Arena.ofShared();
        MemorySegment bf16 = arena.allocate((long) rows * cols * 2, 64);
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < (long) rows * cols; i++) {
            float f = (float) r.nextGaussian() * std;
            bf16.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(f) >>> 16));
        }
        TensorInfo t = new TensorInfo("w", DType.BF16, new long[]{rows, cols}, null, bf16);
        float[] x = new float[cols * tokens];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] y = new float[rows * tokens];
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Parallel p = new Parallel(threads)) {
            for (int k = 2; k < args.length; k++) {
                WeightFormat f = WeightFormat.valueOf(args[k]);
                CpuMatrix[] ms = new CpuMatrix[Integer.getInteger("count", 24)];
                for (int c = 0; c < ms.length; c++) {
                    ms[c] = CpuMatrix.pack(WeightSource.of(t), f, arena, p);
                }
                MatmulScratch s = new MatmulScratch();
                double best = 0;
                long allocated = 0;
                for (int round = 0; round < Integer.getInteger("rounds", 15); round++) {
                    long a0 = mx.getCurrentThreadAllocatedBytes();
                    long t0 = System.nanoTime();
                    for (CpuMatrix m : ms) {
                        m.matmul(p, s, x, tokens, y, rows, false);
                    }
                    double sec = (System.nanoTime() - t0) / 1e9;
                    allocated = mx.getCurrentThreadAllocatedBytes() - a0;
                    best = Math.max(best, ms.length * ms[0].bytes() / sec / 1e9);
                }
                System.out.printf(Locale.ROOT, "%s, %d token(s), %d threads: %.1f GB/s of weights (%.3f G weights/s); the caller allocated %d bytes in the last round%n",
                        f.label(), tokens, threads, best, best * 1e9 / ms[0].bytes() * rows * cols / 1e9, allocated);
            }
        }
    }
}
