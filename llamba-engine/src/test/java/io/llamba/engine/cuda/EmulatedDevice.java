package io.llamba.engine.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A {@link Device} whose kernels are llamba.cu compiled for the CPU with the fiber emulator
 * (src/test/cuda-emu) and whose "device memory" is native host memory. Graph capture records
 * the launches and replays them. Lets the CUDA model's launch sequence, metadata and kernels be
 * checked on machines without a GPU (it needs g++).
 */
@SuppressWarnings("restricted") // native calls into the emulator library, by design
final class EmulatedDevice implements Device {
    private static final Path MODULE = Path.of("").toAbsolutePath();
    private static final Path LIB = MODULE.resolve("target/cuda-emu/libllamba_emu.so");
    private static Path built;
    private static String unavailable;

    private final MethodHandle launch;
    private final MethodHandle gemm;
    private final MethodHandle lastError;
    private final Map<String, Kernel> kernels = new HashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final int multiprocessors;
    private List<Runnable> capturing;
    private long allocated;

    private record EmuGraph(List<Runnable> steps) implements Graph {
    }

    private record EmuEvent(long nanos) implements Event {
    }

    /** Builds the emulator library once (or reuses an up-to-date one); null and a reason when g++ is missing. */
    static synchronized Path library() {
        if (built != null || unavailable != null) {
            return built;
        }
        try {
            List<Path> sources;
            try (Stream<Path> a = Files.list(MODULE.resolve("src/main/cuda")); Stream<Path> b = Files.list(MODULE.resolve("src/test/cuda-emu"))) {
                sources = Stream.concat(a, b).toList();
            }
            FileTime newest = FileTime.fromMillis(0);
            for (Path p : sources) {
                FileTime t = Files.getLastModifiedTime(p);
                if (t.compareTo(newest) > 0) {
                    newest = t;
                }
            }
            if (Files.exists(LIB) && Files.getLastModifiedTime(LIB).compareTo(newest) > 0) {
                return built = LIB;
            }
            Files.createDirectories(LIB.getParent());
            Path tmp = LIB.resolveSibling("libllamba_emu.so.tmp");
            Process p = new ProcessBuilder("g++", "-std=c++20", "-O1", "-shared", "-fPIC", "-DLLAMBA_EMU",
                    "-I" + MODULE.resolve("src/test/cuda-emu"), "-x", "c++", MODULE.resolve("src/main/cuda/llamba.cu").toString(),
                    MODULE.resolve("src/test/cuda-emu/emu_runtime.cpp").toString(), "-o", tmp.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("g++ failed to build the kernel emulator:\n" + out);
            }
            Files.move(tmp, LIB, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return built = LIB;
        } catch (IOException e) {
            unavailable = "g++ not available: " + e.getMessage();
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            unavailable = "interrupted";
            return null;
        }
    }

    static String unavailableReason() {
        return unavailable;
    }

    EmulatedDevice(int multiprocessors) {
        Path lib = library();
        if (lib == null) {
            throw new IllegalStateException(unavailable);
        }
        this.multiprocessors = multiprocessors;
        SymbolLookup l = SymbolLookup.libraryLookup(lib, Arena.global());
        Linker linker = Linker.nativeLinker();
        launch = linker.downcallHandle(l.find("emu_launch").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        gemm = linker.downcallHandle(l.find("emu_gemm").orElseThrow(), FunctionDescriptor.of(JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_INT));
        lastError = linker.downcallHandle(l.find("emu_last_error").orElseThrow(), FunctionDescriptor.of(ADDRESS));
    }

    private String error() {
        try {
            return ((MemorySegment) lastError.invokeExact()).reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return t.toString();
        }
    }

    private void run(Runnable r) {
        if (capturing != null) {
            capturing.add(r);
        } else {
            r.run();
        }
    }

    @Override
    public String description() {
        return "CPU kernel emulator";
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public int maxSharedMemoryPerBlock() {
        return 227 * 1024;
    }

    @Override
    public int sharedMemoryPerMultiprocessor() {
        return 228 * 1024;
    }

    @Override
    public long totalMemory() {
        return 1L << 32;
    }

    @Override
    public long freeMemory() {
        return totalMemory() - allocated;
    }

    @Override
    public ReentrantLock lock() {
        return lock;
    }

    @Override
    public Scope enter() {
        lock.lock();
        return lock::unlock;
    }

    @Override
    public DeviceBuffer allocate(long bytes, String purpose) {
        Arena arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(Math.max(bytes, 1), 256);
        allocated += bytes;
        return new DeviceBuffer(seg.address(), bytes, purpose, new Object[]{arena, seg});
    }

    private static MemorySegment seg(DeviceBuffer b) {
        return (MemorySegment) ((Object[]) b.handle)[1];
    }

    @Override
    public void free(DeviceBuffer buffer) {
        if (buffer != null && buffer.markFreed()) {
            allocated -= buffer.bytes();
            ((Arena) ((Object[]) buffer.handle)[0]).close();
        }
    }

    @Override
    public HostBuffer allocateHost(long bytes) {
        Arena arena = Arena.ofShared();
        return new HostBuffer(arena.allocate(bytes, 64), arena);
    }

    @Override
    public void free(HostBuffer buffer) {
        if (buffer != null) {
            ((Arena) buffer.handle).close();
        }
    }

    @Override
    public void copyToDevice(DeviceBuffer dst, long dstOffset, HostBuffer src, long srcOffset, long bytes) {
        if (capturing != null) {
            throw new IllegalStateException("host copies are not captured");
        }
        MemorySegment.copy(src.segment(), srcOffset, seg(dst), dstOffset, bytes);
    }

    @Override
    public void copyToHost(float[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        MemorySegment.copy(seg(src), ValueLayout.JAVA_FLOAT, srcOffset, dst, dstIndex, count);
    }

    @Override
    public void copyToHost(int[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        MemorySegment.copy(seg(src), ValueLayout.JAVA_INT, srcOffset, dst, dstIndex, count);
    }

    @Override
    public void copyToHost(byte[] dst, int dstIndex, DeviceBuffer src, long srcOffset, int count) {
        MemorySegment.copy(seg(src), ValueLayout.JAVA_BYTE, srcOffset, dst, dstIndex, count);
    }

    @Override
    public void copyToDevice(DeviceBuffer dst, long dstOffset, byte[] src, int srcIndex, int count) {
        MemorySegment.copy(src, srcIndex, seg(dst), ValueLayout.JAVA_BYTE, dstOffset, count);
    }

    @Override
    public void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
        run(() -> MemorySegment.copy(seg(src), srcOffset, seg(dst), dstOffset, bytes));
    }

    @Override
    public void zero(DeviceBuffer dst, long offset, long bytes) {
        run(() -> seg(dst).asSlice(offset, bytes).fill((byte) 0));
    }

    @Override
    public Kernel kernel(String name) {
        return kernels.computeIfAbsent(name, n -> {
            Kernel k = new Kernel(n, n);
            k.sharedLimit = maxSharedMemoryPerBlock();
            return k;
        });
    }

    @Override
    public void launch(Kernel kernel, int gridX, int gridY, int block, int sharedBytes, KernelArgs args) {
        if (sharedBytes > kernel.sharedLimit) {
            throw new CudaException("kernel " + kernel.name() + " needs " + sharedBytes + " bytes of shared memory");
        }
        // Values are copied now: a captured launch keeps the arguments it was given.
        Arena arena = Arena.ofAuto();
        MemorySegment values = arena.allocate(8L * args.count(), 8);
        MemorySegment pointers = arena.allocate(ADDRESS, args.count());
        for (int i = 0; i < args.count(); i++) {
            MemorySegment slot = values.asSlice(8L * i, 8);
            switch (args.kind(i)) {
                case I32, F32 -> slot.set(JAVA_INT, 0, (int) args.bits(i));
                case I64 -> slot.set(ValueLayout.JAVA_LONG, 0, args.bits(i));
            }
            pointers.setAtIndex(ADDRESS, i, slot);
        }
        MemorySegment name = arena.allocateFrom(kernel.name());
        run(() -> {
            int rc;
            try {
                rc = (int) launch.invokeExact(name, gridX, gridY, 1, block, sharedBytes, pointers);
            } catch (Throwable t) {
                throw new CudaException("emulated launch failed: " + t, t);
            }
            if (rc != 0) {
                throw new CudaException("launch of " + kernel.name() + " failed: " + error());
            }
            Reference.reach(values);
        });
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb,
                     float beta, long c, int cType, int ldc) {
        run(() -> {
            int rc;
            try {
                rc = (int) gemm.invokeExact(transA ? 1 : 0, transB ? 1 : 0, m, n, k, 1f, MemorySegment.ofAddress(a), aType, lda,
                        MemorySegment.ofAddress(b), bType, ldb, beta, MemorySegment.ofAddress(c), cType, ldc);
            } catch (Throwable t) {
                throw new CudaException("emulated gemm failed: " + t, t);
            }
            if (rc != 0) {
                throw new CudaException("gemm failed: " + error());
            }
        });
    }

    @Override
    public void synchronize() {
    }

    @Override
    public Graph capture(Runnable body) {
        capturing = new ArrayList<>();
        try {
            body.run();
            return new EmuGraph(capturing);
        } finally {
            capturing = null;
        }
    }

    @Override
    public void launch(Graph graph) {
        for (Runnable r : ((EmuGraph) graph).steps()) {
            r.run();
        }
    }

    @Override
    public void destroy(Graph graph) {
    }

    @Override
    public Event record() {
        return new EmuEvent(System.nanoTime());
    }

    @Override
    public float millisBetween(Event from, Event to) {
        return (((EmuEvent) to).nanos() - ((EmuEvent) from).nanos()) / 1e6f;
    }

    @Override
    public void destroy(Event event) {
    }

    @Override
    public void close() {
    }

    /** Keeps an object reachable until this point (arguments of a recorded launch). */
    private static final class Reference {
        static void reach(Object o) {
            java.lang.ref.Reference.reachabilityFence(o);
        }
    }
}
