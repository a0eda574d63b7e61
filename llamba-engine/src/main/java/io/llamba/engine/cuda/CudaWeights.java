package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.CheckpointException;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.model.TensorSpec;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's weights resident on a device: matrices in the chosen format (F32 or BF16), vectors in
 * F32, each filled from a checkpoint tensor (converted on the device) or with random values.
 * Several tensors may share one matrix: interleaved row by row ({@code stride} 2, as gate and up)
 * or stacked ({@code firstRow}, as Llama's q, k and v), so that one product computes them all.
 */
class CudaWeights implements AutoCloseable {
    /**
     * Where a checkpoint tensor goes: {@code rows} rows of {@code cols} values, into rows
     * {@code firstRow + r·stride + offset} of {@code buffer}.
     */
    private record Target(DeviceBuffer buffer, long rows, int cols, DType type, int stride, int offset, long firstRow) {
    }

    private static final long STAGING_BYTES = 64L << 20;

    protected final Device dev;
    final DType matrixType;
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    private final Map<String, Target> targets = new LinkedHashMap<>();
    private long bytes;

    CudaWeights(Device dev, DType matrixType) {
        this.dev = dev;
        this.matrixType = matrixType;
    }

    protected DeviceBuffer alloc(long size, String what) {
        DeviceBuffer b = dev.allocate(size, what);
        buffers.add(b);
        bytes += size;
        return b;
    }

    /** A matrix of {@code rows·stride} rows (stride 2: this tensor fills the even rows). */
    protected DeviceBuffer matrix(String name, long rows, int cols, int stride) {
        DeviceBuffer b = alloc(rows * stride * cols * matrixType.bytes(), name);
        targets.put(name, new Target(b, rows, cols, matrixType, stride, 0, 0));
        return b;
    }

    /** The odd rows of a stride-2 matrix made by {@link #matrix}. */
    protected void interleaved(String name, DeviceBuffer matrix, long rows, int cols) {
        targets.put(name, new Target(matrix, rows, cols, matrixType, 2, 1, 0));
    }

    /** A matrix of {@code rows} rows that several tensors fill ({@link #stacked}). */
    protected DeviceBuffer sharedMatrix(String what, long rows, int cols) {
        return alloc(rows * cols * matrixType.bytes(), what);
    }

    /** Rows {@code [firstRow, firstRow + rows)} of a matrix whose other rows hold other tensors. */
    protected void stacked(String name, DeviceBuffer matrix, long firstRow, long rows, int cols) {
        targets.put(name, new Target(matrix, rows, cols, matrixType, 1, 0, firstRow));
    }

    protected DeviceBuffer vector(String name, int n) {
        DeviceBuffer b = alloc(4L * n, name);
        targets.put(name, new Target(b, 1, n, DType.F32, 1, 0, 0));
        return b;
    }

    /** A tensor kept in F32 whatever the matrix format (small ones, such as the conv). */
    protected DeviceBuffer f32(String name, long rows, int cols) {
        DeviceBuffer b = alloc(4L * rows * cols, name);
        targets.put(name, new Target(b, rows, cols, DType.F32, 1, 0, 0));
        return b;
    }

    long bytes() {
        return bytes;
    }

    private static String suffix(DType t) {
        return t == DType.BF16 ? "bf16" : "f32";
    }

    private static int sourceCode(DType t) {
        return switch (t) {
            case F32 -> 0;
            case BF16 -> 1;
            case F16 -> 2;
            default -> throw new CheckpointException("weights must be F32, BF16 or F16, got " + t);
        };
    }

    private int grid(long n) {
        return (int) Math.max(1, Math.min((n + 255) / 256, (long) dev.multiprocessors() * 32));
    }

    /** Copies every tensor in, converting on the device, through page-locked staging. */
    void upload(Checkpoint ck) {
        try (Device.Scope _ = dev.enter()) {
            HostBuffer host = dev.allocateHost(STAGING_BYTES);
            DeviceBuffer staging = dev.allocate(STAGING_BYTES, "weight upload staging");
            try {
                for (Map.Entry<String, Target> e : targets.entrySet()) {
                    TensorInfo t = ck.get(e.getKey());
                    Target tg = e.getValue();
                    if (t.elementCount() < tg.rows * tg.cols) {
                        throw new CheckpointException("tensor " + t.name() + " holds " + t.elementCount() + " values, needs " + tg.rows * tg.cols);
                    }
                    upload(t.data(), t.dtype(), tg, host, staging);
                }
            } finally {
                dev.free(staging);
                dev.free(host);
            }
        }
    }

    private void upload(MemorySegment src, DType srcType, Target t, HostBuffer host, DeviceBuffer staging) {
        long rowBytes = (long) t.cols * srcType.bytes();
        long chunkRows = Math.max(1, STAGING_BYTES / rowBytes);
        Kernel convert = dev.kernel("convert_rows_" + suffix(t.type));
        long dstRowBytes = (long) t.cols * t.type.bytes();
        for (long r0 = 0; r0 < t.rows; r0 += chunkRows) {
            long n = Math.min(chunkRows, t.rows - r0);
            MemorySegment.copy(src, r0 * rowBytes, host.segment(), 0, n * rowBytes);
            dev.copyToDevice(staging, 0, host, 0, n * rowBytes);
            dev.launch(convert, grid(n * t.cols), 1, 256, 0, new KernelArgs().ptr(staging.at(0)).i32(sourceCode(srcType)).i64(n)
                    .i32(t.cols).ptr(t.buffer.at((t.firstRow + r0 * t.stride) * dstRowBytes)).i32(t.stride).i32(t.offset));
            dev.synchronize(); // the host staging is refilled next
        }
    }

    /**
     * Random values of each tensor's distribution (normals drawn uniform with the same variance, as
     * {@link io.llamba.engine.model.RandomCheckpoint} draws them), made on the device. A matrix shared
     * by several tensors is filled once, by the first; the others must have the same distribution.
     */
    void randomize(List<TensorSpec> specs, long seed) {
        try (Device.Scope _ = dev.enter()) {
            Map<DeviceBuffer, TensorSpec> filled = new LinkedHashMap<>();
            Set<String> seen = new HashSet<>();
            for (TensorSpec spec : specs) {
                Target t = targets.get(spec.name());
                if (t == null) {
                    throw new IllegalArgumentException("no device tensor for " + spec.name());
                }
                seen.add(spec.name());
                TensorSpec first = filled.putIfAbsent(t.buffer, spec);
                if (first != null) {
                    if (!first.init().equals(spec.init())) {
                        throw new IllegalArgumentException(spec.name() + " shares a device matrix with " + first.name()
                                + " but not its distribution");
                    }
                    continue;
                }
                float lo;
                float hi;
                switch (spec.init()) {
                    case TensorSpec.Constant k -> lo = hi = k.value();
                    case TensorSpec.Normal n -> {
                        hi = (float) (1.7320508 * n.std());
                        lo = -hi;
                    }
                    case TensorSpec.Uniform u -> {
                        lo = u.low();
                        hi = u.high();
                    }
                }
                long count = t.buffer.bytes() / t.type.bytes();
                long tensorSeed = seed * 0x9E3779B97F4A7C15L ^ spec.name().hashCode();
                dev.launch(dev.kernel("init_uniform_" + suffix(t.type)), grid(count), 1, 256, 0,
                        new KernelArgs().ptr(t.buffer.at(0)).i64(count).i64(tensorSeed).f32(lo).f32(hi));
            }
            for (String name : targets.keySet()) {
                if (!seen.contains(name)) {
                    throw new IllegalArgumentException("no random values for device tensor " + name);
                }
            }
            dev.synchronize();
        }
    }

    @Override
    public void close() {
        for (DeviceBuffer b : buffers) {
            dev.free(b);
        }
        buffers.clear();
    }
}
