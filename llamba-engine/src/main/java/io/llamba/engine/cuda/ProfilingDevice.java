package io.llamba.engine.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Device} that records the kernel launches and matrix products of a pass, then times
 * each one alone: a graph of {@code reps} copies of it, replayed between events (the way the
 * decode graphs run them, launch gaps included). Copies of a product whose weights fit in L2
 * (60 MB on an H200) may read them from L2: the figures are per-kernel costs, not a prediction
 * of the whole pass, whose own time is measured separately. Use with CUDA graphs off.
 */
final class ProfilingDevice implements Device {
    private record Op(String name, Runnable run) {
    }

    private final Device d;
    private final List<Op> ops = new ArrayList<>();
    private boolean on;

    ProfilingDevice(Device delegate) {
        this.d = delegate;
    }

    void start() {
        ops.clear();
        on = true;
    }

    /** Milliseconds per kernel name (or "cublas MxNxK"), in first-launch order, with launch counts. */
    Map<String, double[]> stop(int reps) {
        on = false;
        d.synchronize();
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Op op : ops) {
            Graph g = d.capture(() -> {
                for (int i = 0; i < reps; i++) {
                    op.run.run();
                }
            });
            d.launch(g);
            Event a = d.record();
            d.launch(g);
            Event b = d.record();
            double ms = d.millisBetween(a, b) / reps;
            d.destroy(a);
            d.destroy(b);
            d.destroy(g);
            double[] v = out.computeIfAbsent(op.name, k -> new double[2]);
            v[0] += ms;
            v[1]++;
        }
        ops.clear();
        return out;
    }

    private void recorded(String name, Runnable r) {
        r.run();
        if (on) {
            ops.add(new Op(name, r));
        }
    }

    @Override
    public void launch(Kernel kernel, int gridX, int gridY, int block, int sharedBytes, KernelArgs args) {
        recorded(kernel.name(), () -> d.launch(kernel, gridX, gridY, block, sharedBytes, args));
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
                     float beta, long c, int cType, int ldc) {
        recorded("cublas " + m + "x" + n + "x" + k, () -> d.gemm(transA, transB, m, n, k, a, aType, lda, b, bType, ldb, beta, c, cType, ldc));
    }

    // Everything else is the delegate's.

    @Override
    public String description() {
        return d.description();
    }

    @Override
    public int multiprocessors() {
        return d.multiprocessors();
    }

    @Override
    public int maxSharedMemoryPerBlock() {
        return d.maxSharedMemoryPerBlock();
    }

    @Override
    public int sharedMemoryPerMultiprocessor() {
        return d.sharedMemoryPerMultiprocessor();
    }

    @Override
    public long totalMemory() {
        return d.totalMemory();
    }

    @Override
    public long freeMemory() {
        return d.freeMemory();
    }

    @Override
    public ReentrantLock lock() {
        return d.lock();
    }

    @Override
    public Scope enter() {
        return d.enter();
    }

    @Override
    public DeviceBuffer allocate(long bytes, String purpose) {
        return d.allocate(bytes, purpose);
    }

    @Override
    public void free(DeviceBuffer buffer) {
        d.free(buffer);
    }

    @Override
    public HostBuffer allocateHost(long bytes) {
        return d.allocateHost(bytes);
    }

    @Override
    public void free(HostBuffer buffer) {
        d.free(buffer);
    }

    @Override
    public void copyToDevice(DeviceBuffer dst, long dstOffset, HostBuffer src, long srcOffset, long bytes) {
        d.copyToDevice(dst, dstOffset, src, srcOffset, bytes);
    }

    @Override
    public void copyToHost(float[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        d.copyToHost(dst, dstIndex, src, srcOffset, count);
    }

    @Override
    public void copyToHost(int[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        d.copyToHost(dst, dstIndex, src, srcOffset, count);
    }

    @Override
    public void copyToHost(byte[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        d.copyToHost(dst, dstIndex, src, srcOffset, count);
    }

    @Override
    public void copyToDevice(DeviceBuffer dst, long dstOffset, byte[] src, int srcIndex, int count) {
        d.copyToDevice(dst, dstOffset, src, srcIndex, count);
    }

    @Override
    public void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
        d.copy(dst, dstOffset, src, srcOffset, bytes);
    }

    @Override
    public void zero(DeviceBuffer dst, long offset, long bytes) {
        d.zero(dst, offset, bytes);
    }

    @Override
    public Kernel kernel(String name) {
        return d.kernel(name);
    }

    @Override
    public void synchronize() {
        d.synchronize();
    }

    @Override
    public Graph capture(Runnable body) {
        return d.capture(body);
    }

    @Override
    public void launch(Graph graph) {
        d.launch(graph);
    }

    @Override
    public void destroy(Graph graph) {
        d.destroy(graph);
    }

    @Override
    public Event record() {
        return d.record();
    }

    @Override
    public float millisBetween(Event from, Event to) {
        return d.millisBetween(from, to);
    }

    @Override
    public void destroy(Event event) {
        d.destroy(event);
    }

    @Override
    public void close() {
        // the delegate belongs to the caller
    }
}
