package io.llamba.engine.cuda;

import java.util.concurrent.locks.ReentrantLock;

/**
 * What the CUDA model needs from a device: memory, copies, kernel launches, cuBLAS matrix
 * products, graph capture and timing, all ordered on one stream. {@link CudaDevice} is the real
 * one (JCuda's driver API, cuBLAS through java.lang.foreign); the tests also run the same kernels
 * on a CPU emulator behind this interface.
 *
 * <p>Calls are made under {@link #lock()} after {@link #enter()}, which makes the device's
 * context current on the calling thread; {@code try (var s = device.enter()) {...}} does both.
 */
public interface Device extends AutoCloseable {
    /** The device in words, e.g. "NVIDIA H200 (sm_90, 132 SMs, 139.7 GiB)". */
    String description();

    int multiprocessors();

    /** Most dynamic shared memory one block may use (after the opt-in). */
    int maxSharedMemoryPerBlock();

    int sharedMemoryPerMultiprocessor();

    long totalMemory();

    long freeMemory();

    ReentrantLock lock();

    /** Locks the device and makes its context current on this thread until the scope is closed. */
    Scope enter();

    /** Device memory; fails with a message naming {@code purpose}, the size and the free memory. */
    DeviceBuffer allocate(long bytes, String purpose);

    void free(DeviceBuffer buffer);

    HostBuffer allocateHost(long bytes);

    void free(HostBuffer buffer);

    /** Queues a copy from page-locked memory; {@code src} must stay unchanged until the stream is synchronised. */
    void copyToDevice(DeviceBuffer dst, long dstOffset, HostBuffer src, long srcOffset, long bytes);

    /** Waits for the stream, then copies {@code count} floats into {@code dst[dstIndex ..)}. */
    void copyToHost(float[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count);

    /** Waits for the stream, then copies {@code count} ints into {@code dst[dstIndex ..)}. */
    void copyToHost(int[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count);

    /** Waits for the stream, then copies {@code count} bytes into {@code dst[dstIndex ..)}. */
    void copyToHost(byte[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count);

    /** Queues a copy of {@code count} bytes from {@code src[srcIndex ..)} (a host array copied before return). */
    void copyToDevice(DeviceBuffer dst, long dstOffset, byte[] src, int srcIndex, int count);

    void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes);

    void zero(DeviceBuffer dst, long offset, long bytes);

    Kernel kernel(String name);

    void launch(Kernel kernel, int gridX, int gridY, int block, int sharedBytes, KernelArgs args);

    /**
     * cublasGemmEx with FP32 accumulation: C = op(A)·op(B) + beta·C, column-major, op(X) = Xᵀ when
     * asked; types are cudaDataType codes ({@link #R_32F}, {@link #R_16BF}).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
              float beta, long c, int cType, int ldc);

    int R_32F = 0;
    int R_16BF = 14;

    void synchronize();

    /**
     * Whether the device has a second stream on which work may overlap the main one (large decode
     * batches run as two halves, one per stream). Without one, {@link #useSideStream} and
     * {@link #waitForOtherStream} do nothing and everything runs in queue order on one stream,
     * which gives the same results: the halves touch disjoint rows and states.
     */
    default boolean hasSideStream() {
        return false;
    }

    /** Launches and products queued from now on go to the side stream ({@code true}) or the main one. */
    default void useSideStream(boolean side) {
    }

    /** The stream now in use waits for everything queued so far on the other one (works inside a capture). */
    default void waitForOtherStream() {
    }

    /**
     * How many blocks of {@code kernel} with {@code block} threads and {@code sharedBytes} of dynamic
     * shared memory one multiprocessor holds at once, as the driver computes it; 0 where the blocks of
     * a launch do not all run at the same time (the emulator runs them one after another), so a
     * kernel may not wait for the whole grid.
     */
    default int residentBlocksPerSm(Kernel kernel, int block, int sharedBytes) {
        return 0;
    }

    /**
     * Matrix products queued from now on (on either stream) use at most {@code sms} multiprocessors, 0
     * for all of them, leaving the rest to kernels of the other stream. A hint: where the library or
     * device cannot, nothing changes.
     */
    default void setGemmSmTarget(int sms) {
    }

    /** Records what {@code body} queues as a graph, without running it. */
    Graph capture(Runnable body);

    void launch(Graph graph);

    void destroy(Graph graph);

    Event record();

    /** Milliseconds between two recorded events (waits for the later one). */
    float millisBetween(Event from, Event to);

    void destroy(Event event);

    @Override
    void close();

    /** A captured sequence of launches, replayable at once. */
    interface Graph {
    }

    /** A point on the stream, for timing. */
    interface Event {
    }

    /** Holds the device lock with the context current; closing releases both. */
    interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
