package io.llamba.engine.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

import static jcuda.driver.JCudaDriver.*;

/**
 * A CUDA device through JCuda's driver API: the device's primary context (shared with any other
 * CUDA user in the process), one non-blocking stream that orders everything, the Llamba kernels
 * loaded from the fatbin with cuModuleLoadData, and a cuBLAS handle (java.lang.foreign) on that
 * stream with its own workspace.
 */
public final class CudaDevice implements Device {
    private static final long CUBLAS_WORKSPACE = 32L << 20;

    /** Reads the address JCuda keeps in a CUdeviceptr (what kernels and cuBLAS take). */
    private static final class DevicePtr extends CUdeviceptr {
        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** Reads the CUstream handle, for cuBLAS and cuLaunchKernelEx. */
    private static final class Stream extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    /** Reads the CUfunction handle, for cuLaunchKernelEx. */
    private static final class Function extends CUfunction {
        long address() {
            return getNativePointer();
        }
    }

    /**
     * cuLaunchKernelEx through java.lang.foreign (JCuda 12.6 has no binding): launches with
     * programmatic stream serialization, so a kernel may start while the previous one finishes
     * (the kernels wait with griddepcontrol.wait before reading its results). Sizes from cuda.h:
     * CUlaunchConfig 56 bytes (stream at 32, attrs at 40, numAttrs at 48), CUlaunchAttribute 72
     * bytes (id, then the value at 8).
     */
    @SuppressWarnings("restricted") // a native call into libcuda, by design
    private static final class ProgrammaticLaunch {
        private static final int ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
        private final MethodHandle launchEx;

        ProgrammaticLaunch(Arena arena) {
            SymbolLookup cuda = SymbolLookup.libraryLookup("libcuda.so.1", arena);
            MemorySegment f = cuda.find("cuLaunchKernelEx").orElseThrow(() -> new CudaException("the driver has no cuLaunchKernelEx"));
            launchEx = Linker.nativeLinker().downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        }

        int launch(long function, int gx, int gy, int block, int shared, long stream, KernelArgs args) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment attr = a.allocate(72, 8);
                attr.set(ValueLayout.JAVA_INT, 0, ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
                attr.set(ValueLayout.JAVA_INT, 8, 1);
                MemorySegment config = a.allocate(56, 8);
                config.set(ValueLayout.JAVA_INT, 0, gx);
                config.set(ValueLayout.JAVA_INT, 4, gy);
                config.set(ValueLayout.JAVA_INT, 8, 1);
                config.set(ValueLayout.JAVA_INT, 12, block);
                config.set(ValueLayout.JAVA_INT, 16, 1);
                config.set(ValueLayout.JAVA_INT, 20, 1);
                config.set(ValueLayout.JAVA_INT, 24, shared);
                config.set(ValueLayout.JAVA_LONG, 32, stream);
                config.set(ValueLayout.ADDRESS, 40, attr);
                config.set(ValueLayout.JAVA_INT, 48, 1);
                int n = args.count();
                MemorySegment values = a.allocate(8L * Math.max(n, 1), 8);
                MemorySegment pointers = a.allocate(ValueLayout.ADDRESS, Math.max(n, 1));
                for (int i = 0; i < n; i++) {
                    MemorySegment slot = values.asSlice(8L * i, 8);
                    switch (args.kind(i)) {
                        case I32, F32 -> slot.set(ValueLayout.JAVA_INT, 0, (int) args.bits(i));
                        case I64 -> slot.set(ValueLayout.JAVA_LONG, 0, args.bits(i));
                    }
                    pointers.setAtIndex(ValueLayout.ADDRESS, i, slot);
                }
                return (int) launchEx.invokeExact(config, MemorySegment.ofAddress(function), pointers, MemorySegment.NULL);
            } catch (CudaException e) {
                throw e;
            } catch (Throwable t) {
                throw new CudaException("cuLaunchKernelEx call failed: " + t, t);
            }
        }
    }

    private record CudaGraph(CUgraphExec exec) implements Graph {
    }

    private record CudaEvent(CUevent event) implements Event {
    }

    private final int ordinal;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final Stream stream = new Stream();
    /** A second stream, so that two halves of a large decode batch overlap; launches and products go to {@link #current}. */
    private final Stream side = new Stream();
    private Stream current = stream;
    private MemorySegment sideHandle;
    private DeviceBuffer sideWorkspace;
    private final CUmodule module = new CUmodule();
    private final Map<String, Kernel> kernels = new HashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Arena arena = Arena.ofShared();
    private final String description;
    private final int multiprocessors;
    private final int sharedPerBlock;
    private final int sharedPerSm;
    private final long totalMemory;
    private Cublas cublas;
    private MemorySegment cublasHandle;
    /** Programmatic dependent launch (sm_90 and later), unless LLAMBA_PDL=0 or the driver lacks it. */
    private ProgrammaticLaunch pdl;
    private DeviceBuffer workspace;
    private boolean closed;

    private CudaDevice(int ordinal, byte[] fatbin) {
        this.ordinal = ordinal;
        JCudaDriver.setExceptionsEnabled(false);
        check(cuInit(0), "cuInit");
        int[] count = new int[1];
        check(cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal < 0 || ordinal >= count[0]) {
            throw new CudaException("CUDA device " + ordinal + " asked for; " + count[0] + " present");
        }
        check(cuDeviceGet(device, ordinal), "cuDeviceGet");
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        boolean ok = false;
        try {
            multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
            sharedPerBlock = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
            sharedPerSm = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR);
            int major = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
            int minor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
            long[] total = new long[1];
            check(cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
            totalMemory = total[0];
            byte[] name = new byte[256];
            check(cuDeviceGetName(name, name.length, device), "cuDeviceGetName");
            int len = 0;
            while (len < name.length && name[len] != 0) {
                len++;
            }
            int[] driver = new int[1];
            check(cuDriverGetVersion(driver), "cuDriverGetVersion");
            check(cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            int rc = cuModuleLoadData(module, fatbin);
            if (rc != CUresult.CUDA_SUCCESS) {
                throw new CudaException("cuModuleLoadData failed: " + CUresult.stringFor(rc) + " (the fatbin holds sm_80 and sm_90 code and"
                        + " PTX; device is sm_" + major + minor + ")");
            }
            if (major >= 9 && !"0".equals(System.getenv("LLAMBA_PDL"))) {
                try {
                    pdl = new ProgrammaticLaunch(arena);
                } catch (RuntimeException e) {
                    System.getLogger(CudaDevice.class.getName()).log(System.Logger.Level.INFO,
                            "programmatic dependent launch unavailable: " + e.getMessage());
                }
            }
            cublas = Cublas.load(arena);
            workspace = allocate(CUBLAS_WORKSPACE, "cuBLAS workspace");
            cublasHandle = cublas.createHandle(stream.address(), workspace.address(), CUBLAS_WORKSPACE);
            // The side stream's products get their own handle and workspace: the two may run at once.
            check(cuStreamCreate(side, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            sideWorkspace = allocate(CUBLAS_WORKSPACE, "cuBLAS workspace (side stream)");
            sideHandle = cublas.createHandle(side.address(), sideWorkspace.address(), CUBLAS_WORKSPACE);
            description = new String(name, 0, len, StandardCharsets.UTF_8) + " (sm_" + major + minor + ", " + multiprocessors
                    + " SMs, " + String.format("%.1f", totalMemory / (double) (1L << 30)) + " GiB), driver "
                    + driver[0] / 1000 + "." + driver[0] % 1000 / 10 + ", cuBLAS " + cublas.version(cublasHandle)
                    + (pdl != null ? ", programmatic dependent launch" : "");
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    /** Opens device {@code ordinal} and loads the kernels; the caller closes it. */
    public static CudaDevice open(int ordinal, byte[] fatbin) {
        return new CudaDevice(ordinal, fatbin);
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    static void check(int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaException(call + " failed: " + CUresult.stringFor(rc));
        }
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public int maxSharedMemoryPerBlock() {
        return sharedPerBlock;
    }

    @Override
    public int sharedMemoryPerMultiprocessor() {
        return sharedPerSm;
    }

    @Override
    public long totalMemory() {
        return totalMemory;
    }

    @Override
    public long freeMemory() {
        long[] free = new long[1];
        long[] total = new long[1];
        try (Scope _ = enter()) {
            check(cuMemGetInfo(free, total), "cuMemGetInfo");
        }
        return free[0];
    }

    @Override
    public ReentrantLock lock() {
        return lock;
    }

    @Override
    public Scope enter() {
        lock.lock();
        try {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        } catch (RuntimeException e) {
            lock.unlock();
            throw e;
        }
        return lock::unlock;
    }

    private static CUdeviceptr ptr(DeviceBuffer b, long offset) {
        b.at(offset); // bounds
        return ((DevicePtr) b.handle).withByteOffset(offset);
    }

    @Override
    public DeviceBuffer allocate(long bytes, String purpose) {
        DevicePtr p = new DevicePtr();
        try (Scope _ = enter()) {
            int rc = cuMemAlloc(p, Math.max(bytes, 1));
            if (rc != CUresult.CUDA_SUCCESS) {
                long[] free = new long[1];
                long[] total = new long[1];
                cuMemGetInfo(free, total);
                throw new CudaException("cannot allocate " + mib(bytes) + " of device memory for " + purpose + ": "
                        + CUresult.stringFor(rc) + " (" + mib(free[0]) + " free of " + mib(total[0]) + ")");
            }
            return new DeviceBuffer(p.address(), bytes, purpose, p);
        }
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }

    @Override
    public void free(DeviceBuffer buffer) {
        if (buffer != null && buffer.markFreed()) {
            try (Scope _ = enter()) {
                cuMemFree((DevicePtr) buffer.handle);
            }
        }
    }

    @Override
    public HostBuffer allocateHost(long bytes) {
        Pointer p = new Pointer();
        try (Scope _ = enter()) {
            check(cuMemAllocHost(p, bytes), "cuMemAllocHost(" + mib(bytes) + ")");
        }
        MemorySegment seg = MemorySegment.ofBuffer(p.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()));
        return new HostBuffer(seg, p);
    }

    @Override
    public void free(HostBuffer buffer) {
        if (buffer != null) {
            try (Scope _ = enter()) {
                cuMemFreeHost((Pointer) buffer.handle);
            }
        }
    }

    @Override
    public void copyToDevice(DeviceBuffer dst, long dstOffset, HostBuffer src, long srcOffset, long bytes) {
        check(cuMemcpyHtoDAsync(ptr(dst, dstOffset), ((Pointer) src.handle).withByteOffset(srcOffset), bytes, stream), "cuMemcpyHtoDAsync");
    }

    @Override
    public void copyToHost(float[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        synchronize();
        check(cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * dstIndex), ptr(src, srcOffset), 4L * count), "cuMemcpyDtoH");
    }

    @Override
    public void copyToHost(int[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        synchronize();
        check(cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * dstIndex), ptr(src, srcOffset), 4L * count), "cuMemcpyDtoH");
    }

    @Override
    public void copyToHost(byte[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        synchronize();
        check(cuMemcpyDtoH(Pointer.to(dst).withByteOffset(dstIndex), ptr(src, srcOffset), count), "cuMemcpyDtoH");
    }

    @Override
    public void copyToDevice(DeviceBuffer dst, long dstOffset, byte[] src, int srcIndex, int count) {
        // A synchronous copy runs outside our (non-blocking) stream: wait for the stream first.
        synchronize();
        check(cuMemcpyHtoD(ptr(dst, dstOffset), Pointer.to(src).withByteOffset(srcIndex), count), "cuMemcpyHtoD");
    }

    @Override
    public void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
        check(cuMemcpyDtoDAsync(ptr(dst, dstOffset), ptr(src, srcOffset), bytes, stream), "cuMemcpyDtoDAsync");
    }

    @Override
    public void zero(DeviceBuffer dst, long offset, long bytes) {
        check(cuMemsetD8Async(ptr(dst, offset), (byte) 0, bytes, stream), "cuMemsetD8Async");
    }

    @Override
    public Kernel kernel(String name) {
        try (Scope _ = enter()) {
            return kernels.computeIfAbsent(name, n -> {
                Function f = new Function();
                int rc = cuModuleGetFunction(f, module, n);
                if (rc != CUresult.CUDA_SUCCESS) {
                    throw new CudaException("kernel " + n + " not found in the module: " + CUresult.stringFor(rc));
                }
                // Allow all the dynamic shared memory a block can have, once, before any graph capture.
                int[] staticBytes = new int[1];
                check(cuFuncGetAttribute(staticBytes, CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f), "cuFuncGetAttribute");
                int limit = sharedPerBlock - staticBytes[0];
                check(cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, limit),
                        "cuFuncSetAttribute(" + n + ", " + limit + " bytes of shared memory)");
                Kernel k = new Kernel(n, f);
                k.sharedLimit = limit;
                return k;
            });
        }
    }

    @Override
    public void launch(Kernel kernel, int gridX, int gridY, int block, int sharedBytes, KernelArgs args) {
        if (sharedBytes > kernel.sharedLimit) {
            throw new CudaException("kernel " + kernel.name() + " needs " + sharedBytes + " bytes of shared memory; the device allows "
                    + kernel.sharedLimit);
        }
        if (pdl != null) {
            int rc = pdl.launch(((Function) kernel.handle).address(), gridX, gridY, block, sharedBytes, current.address(), args);
            if (rc != CUresult.CUDA_SUCCESS) {
                throw new CudaException("launch of " + kernel.name() + " (grid " + gridX + "x" + gridY + ", block " + block + ", "
                        + sharedBytes + " bytes shared) failed: " + CUresult.stringFor(rc));
            }
            return;
        }
        Pointer[] params = new Pointer[args.count()];
        for (int i = 0; i < params.length; i++) {
            long v = args.bits(i);
            params[i] = switch (args.kind(i)) {
                case I32 -> Pointer.to(new int[]{(int) v});
                case I64 -> Pointer.to(new long[]{v});
                case F32 -> Pointer.to(new float[]{Float.intBitsToFloat((int) v)});
            };
        }
        int rc = cuLaunchKernel((CUfunction) kernel.handle, gridX, gridY, 1, block, 1, 1, sharedBytes, current, Pointer.to(params), null);
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaException("launch of " + kernel.name() + " (grid " + gridX + "x" + gridY + ", block " + block + ", " + sharedBytes
                    + " bytes shared) failed: " + CUresult.stringFor(rc));
        }
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
                     float beta, long c, int cType, int ldc) {
        cublas.gemm(current == side ? sideHandle : cublasHandle, transA, transB, m, n, k, a, aType, lda, b, bType, ldb, beta, c, cType, ldc);
    }

    @Override
    public boolean hasSideStream() {
        return true;
    }

    @Override
    public void useSideStream(boolean useSide) {
        current = useSide ? side : stream;
    }

    @Override
    public void waitForOtherStream() {
        Stream other = current == side ? stream : side;
        CUevent e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        try {
            check(cuEventRecord(e, other), "cuEventRecord");
            check(cuStreamWaitEvent(current, e, 0), "cuStreamWaitEvent");
        } finally {
            cuEventDestroy(e); // released once the wait is done with it
        }
    }

    @Override
    public int residentBlocksPerSm(Kernel kernel, int block, int sharedBytes) {
        try (Scope _ = enter()) {
            int[] n = new int[1];
            check(cuOccupancyMaxActiveBlocksPerMultiprocessor(n, (CUfunction) kernel.handle, block, sharedBytes),
                    "cuOccupancyMaxActiveBlocksPerMultiprocessor");
            return n[0];
        }
    }

    @Override
    public void setGemmSmTarget(int sms) {
        cublas.setSmCountTarget(cublasHandle, sms);
        if (sideHandle != null) {
            cublas.setSmCountTarget(sideHandle, sms);
        }
    }

    @Override
    public void synchronize() {
        current = stream;
        int rs = cuStreamSynchronize(side);
        if (rs != CUresult.CUDA_SUCCESS) {
            throw new CudaException("a kernel on the device's side stream failed: " + CUresult.stringFor(rs)
                    + " (the context may be unusable; restart the process)");
        }
        int rc = cuStreamSynchronize(stream);
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaException("a kernel or copy on the device failed: " + CUresult.stringFor(rc)
                    + " (the context may be unusable; restart the process)");
        }
    }

    @Override
    public Graph capture(Runnable body) {
        check(cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
        CUgraph graph = new CUgraph();
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            cuStreamEndCapture(stream, graph);
            cuGraphDestroy(graph);
            throw e;
        }
        check(cuStreamEndCapture(stream, graph), "cuStreamEndCapture");
        try {
            CUgraphExec exec = new CUgraphExec();
            check(cuGraphInstantiate(exec, graph, 0L), "cuGraphInstantiate");
            return new CudaGraph(exec);
        } finally {
            cuGraphDestroy(graph);
        }
    }

    @Override
    public void launch(Graph graph) {
        check(cuGraphLaunch(((CudaGraph) graph).exec(), stream), "cuGraphLaunch");
    }

    @Override
    public void destroy(Graph graph) {
        if (graph != null) {
            cuGraphExecDestroy(((CudaGraph) graph).exec());
        }
    }

    @Override
    public Event record() {
        CUevent e = new CUevent();
        check(cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        check(cuEventRecord(e, stream), "cuEventRecord");
        return new CudaEvent(e);
    }

    @Override
    public float millisBetween(Event from, Event to) {
        check(cuEventSynchronize(((CudaEvent) to).event()), "cuEventSynchronize");
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, ((CudaEvent) from).event(), ((CudaEvent) to).event()), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void destroy(Event event) {
        if (event != null) {
            cuEventDestroy(((CudaEvent) event).event());
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        lock.lock();
        try {
            cuCtxSetCurrent(context);
            cuStreamSynchronize(stream);
            cuStreamSynchronize(side);
            if (cublasHandle != null) {
                cublas.destroy(cublasHandle);
            }
            if (sideHandle != null) {
                cublas.destroy(sideHandle);
            }
            if (sideWorkspace != null && sideWorkspace.markFreed()) {
                cuMemFree((DevicePtr) sideWorkspace.handle);
            }
            if (workspace != null && workspace.markFreed()) {
                cuMemFree((DevicePtr) workspace.handle);
            }
            cuModuleUnload(module);
            cuStreamDestroy(stream);
            cuStreamDestroy(side);
            cuDevicePrimaryCtxRelease(device);
        } finally {
            lock.unlock();
        }
        arena.close();
    }

    @Override
    public String toString() {
        return "CUDA device " + ordinal + ": " + description;
    }
}
