package io.llamba.engine.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The thread team, the default thread count and the rounding rule of the block formats. */
class ParallelTest {
    @Test
    void everyIndexRunsOnceOnAThreadOfTheTeam() {
        try (Parallel team = new Parallel(3)) {
            for (int n : new int[]{1, 7, 100, 10_000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                AtomicIntegerArray workers = new AtomicIntegerArray(3);
                team.forRange(n, 1, (worker, from, to) -> {
                    workers.incrementAndGet(worker);
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertThat(hits.get(i)).as("index %d of %d", i, n).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void aFailureInABodyReachesTheCallerAndTheTeamStaysUsable() {
        try (Parallel team = new Parallel(2)) {
            assertThatThrownBy(() -> team.forRange(100, 1, (from, to) -> {
                if (from <= 50 && 50 < to) {
                    throw new IllegalStateException("boom at 50");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("boom at 50");
            AtomicInteger sum = new AtomicInteger();
            team.forRange(100, 1, (from, to) -> sum.addAndGet(to - from));
            assertThat(sum.get()).isEqualTo(100);
        }
    }

    @Test
    void nestedCallsRunInlineOnTheSameThread() {
        try (Parallel team = new Parallel(2)) {
            AtomicInteger inner = new AtomicInteger();
            team.forRange(8, 1, (worker, from, to) -> team.forRange(10, 1, (w2, f2, t2) -> {
                assertThat(w2).isEqualTo(worker);
                inner.addAndGet(t2 - f2);
            }));
            assertThat(inner.get()).isEqualTo(80);
        }
    }

    @Test
    void buffersAreKeptPerThreadAndOnlyGrow() {
        try (Parallel team = new Parallel(2)) {
            float[] a = team.buffer(1, 100);
            assertThat(team.buffer(1, 50)).isSameAs(a);
            assertThat(team.buffer(1, 200)).hasSizeGreaterThanOrEqualTo(200).isNotSameAs(a);
            assertThat(team.buffer(0, 10)).isNotSameAs(team.buffer(1, 10));
        }
        assertThatThrownBy(() -> new Parallel(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void defaultThreadsAreCoresNotHardwareThreads(@TempDir Path sys) throws IOException {
        Path topo = Files.createDirectories(sys.resolve("cpu0/topology"));
        Files.writeString(topo.resolve("thread_siblings_list"), "0,32\n");
        assertThat(CpuTopology.compute(sys, 64)).isEqualTo(32);
        Files.writeString(topo.resolve("thread_siblings_list"), "0-1\n");
        assertThat(CpuTopology.compute(sys, 8)).isEqualTo(4);
        Files.writeString(topo.resolve("thread_siblings_list"), "0\n");
        assertThat(CpuTopology.compute(sys, 2)).isEqualTo(2);
        assertThat(CpuTopology.compute(sys.resolve("missing"), 6)).isEqualTo(6);
        Files.writeString(topo.resolve("thread_siblings_list"), "0-3\n");
        assertThat(CpuTopology.compute(sys, 2)).as("a container limit below one core's threads").isEqualTo(1);
        assertThat(CpuTopology.defaultThreads()).isBetween(1, Runtime.getRuntime().availableProcessors());
    }

    @Test
    void roundingIsHalfAwayFromZeroAndExact() {
        assertThat(Quantize.roundAway(0.5f)).isEqualTo(1);
        assertThat(Quantize.roundAway(-0.5f)).isEqualTo(-1);
        assertThat(Quantize.roundAway(2.5f)).isEqualTo(3);
        assertThat(Quantize.roundAway(-2.5f)).isEqualTo(-3);
        assertThat(Quantize.roundAway(0.49999997f)).isEqualTo(0);
        assertThat(Quantize.roundAway(-126.6f)).isEqualTo(-127);
        assertThat(Quantize.roundAway(0f)).isEqualTo(0);
    }

    @Test
    void activationsAreQuantizedPerBlockWithinInt8() {
        float[] x = new float[40];
        for (int i = 0; i < 40; i++) {
            x[i] = (i - 20) * 0.37f;
        }
        int[] q = new int[64];
        float[] d = new float[2];
        Quantize.activations(x, 0, 40, 2, q, d, 0);
        assertThat(d[0]).isEqualTo(20 * 0.37f / 127);
        for (int i = 0; i < 64; i++) {
            assertThat(Math.abs(q[i])).isLessThanOrEqualTo(127);
            if (i < 40) {
                assertThat(Math.abs(q[i] * d[i / 32] - x[i])).isLessThanOrEqualTo(d[i / 32] / 2 * 1.0001f);
            } else {
                assertThat(q[i]).isZero();
            }
        }
        assertThat(q[0]).isEqualTo(-127);
    }

    @Test
    void vectorRoundingEqualsTheScalarRule() {
        // Whole blocks take the vector path: every value must round as roundAway does, ties included.
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((r.nextDouble() * 2 - 1) * (1 + r.nextInt(100)));
        }
        for (int b = 0; b < 64; b += 3) {
            x[b * 32] = 127f * (b + 1); // a block whose values land on exact halves after scaling
            for (int i = 1; i < 32; i++) {
                x[b * 32 + i] = (b + 1) * (i - 16.5f);
            }
        }
        int[] q = new int[x.length];
        float[] d = new float[64];
        Quantize.activations(x, 0, x.length, 64, q, d, 0);
        for (int i = 0; i < x.length; i++) {
            float dd = d[i / 32];
            float id = dd != 0 ? 1f / dd : 0f;
            assertThat(q[i]).as("x[%d] = %s", i, x[i]).isEqualTo(Math.clamp(Quantize.roundAway(x[i] * id), -127, 127));
        }
    }
}
