package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.CheckpointException;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.llamba.LlambaConfig;
import io.llamba.engine.model.TensorSpec;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llamba's weights resident on a device: matrices in the chosen format (F32 or BF16), vectors and
 * the conv in F32. Gate and up projections share one matrix with their rows interleaved
 * (gate₀, up₀, gate₁, ...), so one product yields both and SwiGLU pairs neighbours. Only the
 * vocabSize rows of the embedding and head that can be used are uploaded.
 */
final class LlambaCudaWeights implements AutoCloseable {
    /** Device addresses of one layer's tensors (0 where the configuration has none). */
    record Layer(long inNorm, long inProj, long inBias, long zBias, long convW, long convB, long dSkip, long outProj,
                 long outBias, long postNorm, long gateUp, long down) {
    }

    /** Where a checkpoint tensor goes: rows of {@code cols} values, every {@code stride}-th row from {@code offset}. */
    private record Target(DeviceBuffer buffer, long rows, int cols, DType type, int stride, int offset) {
    }

    private static final long STAGING_BYTES = 64L << 20;

    private final Device dev;
    private final LlambaConfig c;
    final DType matrixType;
    final Layer[] layers;
    final long embedding;
    final long head;
    final long finalNorm;
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    private final Map<String, Target> targets = new LinkedHashMap<>();
    private long bytes;

    LlambaCudaWeights(Device dev, LlambaConfig c, DType matrixType) {
        this.dev = dev;
        this.c = c;
        this.matrixType = matrixType;
        boolean ok = false;
        try {
            int d = c.dModel();
            int v = c.vocabSize();
            embedding = matrix("backbone.embedding.weight", v, d, 1).at(0);
            head = c.tieEmbeddings() ? embedding : matrix("lm_head.weight", v, d, 1).at(0);
            finalNorm = vector("backbone.final_layernorm.weight", d).at(0);
            layers = new Layer[c.nLayer()];
            for (int i = 0; i < layers.length; i++) {
                String p = "backbone.layers." + i + ".";
                long inNorm = vector(p + "input_layernorm.weight", d).at(0);
                long inProj = matrix(p + "mixer.in_proj.weight", c.inProjRows(), d, 1).at(0);
                long inBias = c.ssmBias() ? vector(p + "mixer.in_proj.bias", c.inProjRows()).at(0) : 0;
                long zBias = c.ssmBias() ? 0 : vector(p + "mixer.z_bias", c.innerSize()).at(0);
                DeviceBuffer conv = alloc((long) c.convChannels() * c.dConv() * 4, p + "mixer.conv1d.weight");
                targets.put(p + "mixer.conv1d.weight", new Target(conv, c.convChannels(), c.dConv(), DType.F32, 1, 0));
                long convB = vector(p + "mixer.conv1d.bias", c.convChannels()).at(0);
                long dSkip = vector(p + "mixer.D", c.nVHeads()).at(0);
                long outProj = matrix(p + "mixer.out_proj.weight", d, c.innerSize(), 1).at(0);
                long outBias = c.ssmBias() ? vector(p + "mixer.out_proj.bias", d).at(0) : 0;
                long postNorm = vector(p + "post_attention_layernorm.weight", d).at(0);
                DeviceBuffer gu = matrix(p + "mlp.gate_proj.weight", c.intermediateSize(), d, 2);
                targets.put(p + "mlp.up_proj.weight", new Target(gu, c.intermediateSize(), d, matrixType, 2, 1));
                long down = matrix(p + "mlp.down_proj.weight", d, c.intermediateSize(), 1).at(0);
                layers[i] = new Layer(inNorm, inProj, inBias, zBias, conv.at(0), convB, dSkip, outProj, outBias, postNorm, gu.at(0), down);
            }
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    private DeviceBuffer alloc(long size, String what) {
        DeviceBuffer b = dev.allocate(size, what);
        buffers.add(b);
        bytes += size;
        return b;
    }

    /** A matrix of {@code rows·stride} rows (stride 2: this tensor fills the even rows). */
    private DeviceBuffer matrix(String name, long rows, int cols, int stride) {
        DeviceBuffer b = alloc(rows * stride * cols * matrixType.bytes(), name);
        targets.put(name, new Target(b, rows, cols, matrixType, stride, 0));
        return b;
    }

    private DeviceBuffer vector(String name, int n) {
        DeviceBuffer b = alloc(4L * n, name);
        targets.put(name, new Target(b, 1, n, DType.F32, 1, 0));
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
                    .i32(t.cols).ptr(t.buffer.at(r0 * t.stride * dstRowBytes)).i32(t.stride).i32(t.offset));
            dev.synchronize(); // the host staging is refilled next
        }
    }

    /** Random values as {@link io.llamba.engine.model.RandomCheckpoint} draws them, made on the device. */
    void randomize(List<TensorSpec> specs, long seed) {
        try (Device.Scope _ = dev.enter()) {
            for (TensorSpec spec : specs) {
                Target t = targets.get(spec.name());
                if (t == null) {
                    throw new IllegalArgumentException("no device tensor for " + spec.name());
                }
                if (t.offset != 0) {
                    continue; // up_proj: filled with gate_proj, same distribution
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
                long count = t.rows * t.stride * t.cols;
                long tensorSeed = seed * 0x9E3779B97F4A7C15L ^ spec.name().hashCode();
                dev.launch(dev.kernel("init_uniform_" + suffix(t.type)), grid(count), 1, 256, 0,
                        new KernelArgs().ptr(t.buffer.at(0)).i64(count).i64(tensorSeed).f32(lo).f32(hi));
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
