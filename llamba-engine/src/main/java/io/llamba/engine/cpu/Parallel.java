package io.llamba.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads for data-parallel loops on the hot path. A forward pass makes a hundred or
 * more parallel calls per token, so the per-call cost matters: workers spin briefly before parking,
 * work is handed out in chunks from an atomic counter (no allocation per chunk), and the calling
 * thread works too. Calls from inside a parallel body run inline instead of deadlocking.
 *
 * <p>Each thread of the team has an index ({@code 0} is the calling thread, workers are
 * {@code 1..threads-1}) that bodies may use to pick their own scratch memory, and a float buffer
 * of its own ({@link #buffer}) for that purpose.
 */
public final class Parallel implements AutoCloseable {
    /** The body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** The body of a parallel loop over {@code [from, to)}, told which thread of the team runs it. */
    @FunctionalInterface
    public interface WorkerRange {
        void run(int worker, int from, int to);
    }

    private static final int SPIN_ITERATIONS = 20_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger unfinished = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    /** The index of the team thread running the current thread's body, or -1 outside the team's loops. */
    private final ThreadLocal<int[]> current = ThreadLocal.withInitial(() -> new int[]{-1});
    private final Object submitLock = new Object();
    private final float[][] buffers;
    private final int[][] intBuffers;

    private volatile long generation;
    private volatile boolean closed;
    // The job being run; written before generation is bumped, read after it is seen.
    private WorkerRange body;
    private Range plainBody;
    private int total;
    private int chunk;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        this.buffers = new float[threads][];
        this.intBuffers = new int[threads][];
        for (int i = 0; i < workers.length; i++) {
            int index = i + 1;
            Thread t = new Thread(() -> workerLoop(index), "llamba-cpu-" + index);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Thread {@code worker}'s own buffer of at least {@code floats} floats. Grown (allocated) only when
     * a larger one is asked for, so after the first passes the hot path allocates nothing.
     */
    public float[] buffer(int worker, int floats) {
        float[] b = buffers[worker];
        if (b == null || b.length < floats) {
            b = new float[floats];
            buffers[worker] = b;
        }
        return b;
    }

    /** As {@link #buffer}, for ints. */
    public int[] intBuffer(int worker, int ints) {
        int[] b = intBuffers[worker];
        if (b == null || b.length < ints) {
            b = new int[ints];
            intBuffers[worker] = b;
        }
        return b;
    }

    /** Runs {@code body} over {@code [0, n)} split into chunks of at least {@code grain} items. */
    public void forRange(int n, int grain, Range body) {
        run(n, grain, null, body);
    }

    /** As {@link #forRange(int, int, Range)}, telling the body which team thread runs each chunk. */
    public void forRange(int n, int grain, WorkerRange body) {
        run(n, grain, body, null);
    }

    private void run(int n, int grain, WorkerRange body, Range plain) {
        if (n <= 0) {
            return;
        }
        int[] me = current.get();
        if (threads == 1 || n <= grain || me[0] >= 0) {
            int worker = Math.max(0, me[0]);
            if (body != null) {
                body.run(worker, 0, n);
            } else {
                plain.run(0, n);
            }
            return;
        }
        synchronized (submitLock) {
            // Up to sixteen chunks per thread: a thread slowed by another process (or by its share of
            // memory bandwidth) leaves little work behind, and an atomic add per chunk costs nothing.
            int chunks = Math.min((n + grain - 1) / grain, threads * 16);
            this.body = body;
            this.plainBody = plain;
            this.total = n;
            this.chunk = (n + chunks - 1) / chunks;
            next.set(0);
            failure.set(null);
            unfinished.set(workers.length);
            generation++;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            me[0] = 0;
            try {
                work(0);
            } finally {
                me[0] = -1;
            }
            int spins = 0;
            while (unfinished.get() > 0) {
                if (++spins < SPIN_ITERATIONS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            this.body = null;
            this.plainBody = null;
            Throwable t = failure.get();
            if (t != null) {
                if (t instanceof RuntimeException re) {
                    throw re;
                }
                if (t instanceof Error err) {
                    throw err;
                }
                throw new RuntimeException(t);
            }
        }
    }

    private void work(int worker) {
        WorkerRange b = body;
        Range p = plainBody;
        int n = total;
        int c = chunk;
        while (true) {
            int start = next.getAndAdd(c);
            if (start >= n) {
                return;
            }
            try {
                if (b != null) {
                    b.run(worker, start, Math.min(n, start + c));
                } else {
                    p.run(start, Math.min(n, start + c));
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                next.set(n); // stop handing out work
                return;
            }
        }
    }

    private void workerLoop(int index) {
        current.get()[0] = index;
        long seen = 0;
        while (!closed) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins < SPIN_ITERATIONS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 1_000_000L);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            work(index);
            unfinished.decrementAndGet();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
