package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's two roofs as this JVM sees them, measured with the same thread team and vector species
 * as the kernels: memory read bandwidth (every thread streaming vector loads over a buffer much larger
 * than the last-level cache) and peak fused multiply-add rate (independent FMA chains on registers).
 * Benchmarks divide the engine's rates by these to say how close to the hardware limit it runs.
 */
public final class Roofline {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Bytes per unit of parallel work in the read test. */
    private static final int CHUNK = 1 << 20;
    /** Padding between per-thread result slots, so threads never write the same cache line. */
    private static final int SLOT = 16;

    private Roofline() {
    }

    /** Bytes the read test streams: four times the last-level cache, at least 1 GiB. */
    public static long readBufferBytes() {
        return Math.max(1L << 30, 4 * lastLevelCacheBytes());
    }

    /** The largest cache size sysfs reports for cpu0 (0 when unknown). */
    public static long lastLevelCacheBytes() {
        long max = 0;
        for (int i = 0; i < 8; i++) {
            Path p = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i + "/size");
            try {
                String s = Files.readString(p).trim();
                long mult = s.endsWith("K") ? 1024 : s.endsWith("M") ? 1024 * 1024 : 1;
                max = Math.max(max, Long.parseLong(s.replaceAll("[KM]$", "")) * mult);
            } catch (IOException | RuntimeException e) {
                // absent index or unreadable: keep what we have
            }
        }
        return max;
    }

    /**
     * Read bandwidth in bytes per second: the best of {@code reps} passes of all threads over a buffer of
     * {@code bytes} (rounded down to whole chunks).
     */
    public static double readBandwidth(Parallel parallel, long bytes, int reps) {
        long chunks = Math.max(1, bytes / CHUNK);
        if (chunks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("read buffer of " + bytes + " bytes is too large");
        }
        float[] sink = new float[parallel.threads() * SLOT];
        try (Arena arena = Arena.ofShared()) {
            // Allocation zeroes the memory, so every page is touched before the first timed pass.
            MemorySegment buf = arena.allocate(chunks * CHUNK, 4096);
            double best = 0;
            for (int r = 0; r < reps + 1; r++) {
                long t0 = System.nanoTime();
                parallel.forRange((int) chunks, 1, (worker, from, to) -> {
                    float s = 0;
                    for (int c = from; c < to; c++) {
                        s += readChunk(buf, (long) c * CHUNK);
                    }
                    sink[worker * SLOT] += s;
                });
                double rate = (double) chunks * CHUNK / ((System.nanoTime() - t0) / 1e9);
                if (r > 0) { // the first pass warms up the JIT
                    best = Math.max(best, rate);
                }
            }
            return best;
        }
    }

    private static float readChunk(MemorySegment buf, long off) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        int step = F.vectorByteSize();
        for (long o = off, end = off + CHUNK; o < end; o += 4L * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, buf, o, LE));
            a1 = a1.add(FloatVector.fromMemorySegment(F, buf, o + step, LE));
            a2 = a2.add(FloatVector.fromMemorySegment(F, buf, o + 2L * step, LE));
            a3 = a3.add(FloatVector.fromMemorySegment(F, buf, o + 3L * step, LE));
        }
        return a0.add(a1).add(a2).add(a3).lane(0);
    }

    /**
     * Peak float32 rate in FLOP/s (an FMA counts two): the best of {@code reps} runs in which every thread
     * of the team runs twelve independent vector FMA chains, enough to cover the latency of two FMA units.
     */
    public static double peakFlops(Parallel parallel, int reps) {
        int units = parallel.threads() * 16;
        long iterations = 1_000_000;
        float[] sink = new float[parallel.threads() * SLOT];
        double best = 0;
        for (int r = 0; r < reps + 1; r++) {
            long t0 = System.nanoTime();
            parallel.forRange(units, 1, (worker, from, to) -> {
                for (int u = from; u < to; u++) {
                    sink[worker * SLOT] += fmaChains(iterations);
                }
            });
            double rate = (double) units * iterations * 12 * F.length() * 2 / ((System.nanoTime() - t0) / 1e9);
            if (r > 0) {
                best = Math.max(best, rate);
            }
        }
        return best;
    }

    private static float fmaChains(long n) {
        FloatVector m = FloatVector.broadcast(F, 0.999f);
        FloatVector b = FloatVector.broadcast(F, 0.001f);
        FloatVector a0 = FloatVector.broadcast(F, 1f);
        FloatVector a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++) {
            a0 = a0.fma(m, b);
            a1 = a1.fma(m, b);
            a2 = a2.fma(m, b);
            a3 = a3.fma(m, b);
            a4 = a4.fma(m, b);
            a5 = a5.fma(m, b);
            a6 = a6.fma(m, b);
            a7 = a7.fma(m, b);
            a8 = a8.fma(m, b);
            a9 = a9.fma(m, b);
            a10 = a10.fma(m, b);
            a11 = a11.fma(m, b);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).lane(0);
    }
}
