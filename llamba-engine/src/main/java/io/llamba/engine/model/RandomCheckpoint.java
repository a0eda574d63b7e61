package io.llamba.engine.model;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.checkpoint.Floats;
import io.llamba.engine.checkpoint.SafetensorsWriter;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a random-weight checkpoint of any configuration an architecture plugin accepts (for tests
 * and benchmarks of real shapes). Values are deterministic in the seed: each block of a tensor
 * has its own generator, so the result does not depend on the number of threads.
 */
public final class RandomCheckpoint {
    private static final int BLOCK = 1 << 20;

    private RandomCheckpoint() {
    }

    public static void write(JsonObject config, DType dtype, Path out, long seed, long maxShardBytes) throws IOException {
        if (!dtype.isFloatWeight()) {
            throw new IllegalArgumentException("dtype must be F32, BF16 or F16, got " + dtype);
        }
        ModelArchitecture arch = ModelLoader.architecture(config.getString("model_type"), Path.of(config.origin()));
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (TensorSpec spec : arch.tensorSpecs(config)) {
            long tensorSeed = seed * 0x9E3779B97F4A7C15L ^ spec.name().hashCode();
            entries.add(new SafetensorsWriter.Entry(spec.name(), dtype, spec.writtenShape(),
                    (seg, dt, count) -> fill(seg, dt, count, spec.init(), tensorSeed)));
        }
        Files.createDirectories(out);
        Files.writeString(out.resolve(ModelLoader.CONFIG_FILE), Json.write(config.asMap()) + "\n");
        SafetensorsWriter.write(out, entries, maxShardBytes);
    }

    /** Normal(σ) is drawn as uniform on [-√3σ, √3σ] (the same variance): gigabytes of it must be quick. */
    private static void fill(MemorySegment seg, DType dtype, long count, TensorSpec.Init init, long seed) {
        int blocks = (int) ((count + BLOCK - 1) / BLOCK);
        IntStream.range(0, blocks).parallel().forEach(b -> {
            SplittableRandom rnd = new SplittableRandom(seed + b * 0xBF58476D1CE4E5B9L);
            long from = (long) b * BLOCK;
            long to = Math.min(count, from + BLOCK);
            for (long i = from; i < to; i++) {
                float v = switch (init) {
                    case TensorSpec.Constant k -> k.value();
                    case TensorSpec.Normal n -> (float) ((rnd.nextDouble() * 2 - 1) * 1.7320508 * n.std());
                    case TensorSpec.Uniform u -> (float) (u.low() + rnd.nextDouble() * (u.high() - u.low()));
                };
                Floats.write(seg, dtype, i, v);
            }
        });
    }

    /** Bytes the checkpoint of {@code config} will take in {@code dtype}. */
    public static long bytes(JsonObject config, DType dtype) {
        ModelArchitecture arch = ModelLoader.architecture(config.getString("model_type"), Path.of(config.origin()));
        return arch.tensorSpecs(config).stream().mapToLong(s -> TensorInfo.elementCount(s.writtenShape()) * dtype.bytes()).sum();
    }
}
