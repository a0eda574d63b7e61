package io.llamba.engine.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Device} that times every kernel launch and matrix product with events around it, for
 * the benchmark's per-kernel breakdown (a profiler without one: the GPU machine's tools vary). Use
 * with CUDA graphs off: events inside a captured graph would not time anything.
 */
final class ProfilingDevice implements Device {
    private record Span(String name, Event from, Event to) {
    }

    private final Device d;
    private final List<Span> spans = new ArrayList<>();
    private boolean on;

    ProfilingDevice(Device delegate) {
        this.d = delegate;
    }

    void start() {
        spans.clear();
        on = true;
    }

    /** Milliseconds per kernel (or "gemm MxNxK"), in first-launch order, with launch counts. */
    Map<String, double[]> stop() {
        on = false;
        d.synchronize();
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Span s : spans) {
            double[] v = out.computeIfAbsent(s.name, k -> new double[2]);
            v[0] += d.millisBetween(s.from, s.to);
            v[1]++;
            d.destroy(s.from);
            d.destroy(s.to);
        }
        spans.clear();
        return out;
    }

    private void timed(String name, Runnable r) {
        if (!on) {
            r.run();
            return;
        }
        Event a = d.record();
        r.run();
        spans.add(new Span(name, a, d.record()));
    }

    @Override
    public void launch(Kernel kernel, int gridX, int gridY, int block, int sharedBytes, KernelArgs args) {
        timed(kernel.name(), () -> d.launch(kernel, gridX, gridY, block, sharedBytes, args));
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
                     float beta, long c, int cType, int ldc) {
        timed("cublas " + m + "x" + n + "x" + k, () -> d.gemm(transA, transB, m, n, k, a, aType, lda, b, bType, ldb, beta, c, cType, ldc));
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
