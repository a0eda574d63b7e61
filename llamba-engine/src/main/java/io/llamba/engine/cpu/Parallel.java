package io.llamba.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads for data-parallel loops on the hot path. A forward pass makes a hundred or
 * more parallel calls per token, so the per-call cost matters: workers spin briefly before parking,
 * work is handed out in chunks from an atomic counter (no allocation per chunk), and the calling
 * thread works too. Calls from inside a parallel body run inline instead of deadlocking.
 */
public final class Parallel implements AutoCloseable {
    /** The body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    private static final int SPIN_ITERATIONS = 20_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger unfinished = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final ThreadLocal<Boolean> inside = ThreadLocal.withInitial(() -> false);
    private final Object submitLock = new Object();

    private volatile long generation;
    private volatile boolean closed;
    // The job being run; written before generation is bumped, read after it is seen.
    private Range body;
    private int total;
    private int chunk;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, "llamba-cpu-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code body} over {@code [0, n)} split into chunks of at least {@code grain} items. */
    public void forRange(int n, int grain, Range body) {
        if (n <= 0) {
            return;
        }
        if (threads == 1 || n <= grain || inside.get()) {
            body.run(0, n);
            return;
        }
        synchronized (submitLock) {
            // About four chunks per thread balances uneven work without much counter traffic.
            int chunks = Math.min((n + grain - 1) / grain, threads * 4);
            this.body = body;
            this.total = n;
            this.chunk = (n + chunks - 1) / chunks;
            next.set(0);
            failure.set(null);
            unfinished.set(workers.length);
            generation++;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            inside.set(true);
            try {
                work();
            } finally {
                inside.set(false);
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

    private void work() {
        Range b = body;
        int n = total;
        int c = chunk;
        while (true) {
            int start = next.getAndAdd(c);
            if (start >= n) {
                return;
            }
            try {
                b.run(start, Math.min(n, start + c));
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                next.set(n); // stop handing out work
                return;
            }
        }
    }

    private void workerLoop() {
        inside.set(true);
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
            work();
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
