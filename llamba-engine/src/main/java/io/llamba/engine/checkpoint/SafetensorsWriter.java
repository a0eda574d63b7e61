package io.llamba.engine.checkpoint;

import io.llamba.engine.json.Json;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors checkpoints (single file, or shards plus {@code model.safetensors.index.json}
 * when the total exceeds {@code maxShardBytes}). Data is written through a memory-mapped file, so
 * multi-GB checkpoints need no heap.
 */
public final class SafetensorsWriter {
    /** Fills the elements of one tensor: {@code out} holds {@code count} elements of the tensor's dtype. */
    @FunctionalInterface
    public interface Filler {
        void fill(MemorySegment out, DType dtype, long count);
    }

    public record Entry(String name, DType dtype, long[] shape, Filler filler) {
        long bytes() {
            return TensorInfo.elementCount(shape) * dtype.bytes();
        }
    }

    private SafetensorsWriter() {
    }

    /** Writes {@code entries} into {@code dir}; returns the files written. */
    public static List<Path> write(Path dir, List<Entry> entries, long maxShardBytes) throws IOException {
        Files.createDirectories(dir);
        List<List<Entry>> shards = new ArrayList<>();
        List<Entry> current = new ArrayList<>();
        long currentBytes = 0;
        for (Entry e : entries) {
            if (!current.isEmpty() && currentBytes + e.bytes() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e);
            currentBytes += e.bytes();
        }
        shards.add(current);
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path p = dir.resolve(Checkpoint.SINGLE_FILE);
            writeFile(p, shards.getFirst());
            written.add(p);
            return written;
        }
        Map<String, Object> weightMap = new LinkedHashMap<>();
        long total = 0;
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            Path p = dir.resolve(name);
            writeFile(p, shards.get(i));
            written.add(p);
            for (Entry e : shards.get(i)) {
                weightMap.put(e.name(), name);
                total += e.bytes();
            }
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", Map.of("total_size", total));
        index.put("weight_map", weightMap);
        Path indexPath = dir.resolve(Checkpoint.INDEX_FILE);
        Files.writeString(indexPath, Json.write(index));
        written.add(indexPath);
        return written;
    }

    /** Writes one safetensors file holding {@code entries} in order. */
    public static void writeFile(Path path, List<Entry> entries) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (Entry e : entries) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("dtype", e.dtype().name());
            List<Object> shape = new ArrayList<>();
            for (long d : e.shape()) {
                shape.add(d);
            }
            t.put("shape", shape);
            t.put("data_offsets", List.of(offset, offset + e.bytes()));
            header.put(e.name(), t);
            offset += e.bytes();
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        int padded = (json.length + 7) / 8 * 8;
        long total = 8 + padded + offset;
        Files.deleteIfExists(path);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
            file.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, padded);
            MemorySegment.copy(MemorySegment.ofArray(json), 0, file, 8, json.length);
            file.asSlice(8 + json.length, padded - json.length).fill((byte) ' ');
            long pos = 8 + padded;
            for (Entry e : entries) {
                e.filler().fill(file.asSlice(pos, e.bytes()), e.dtype(), TensorInfo.elementCount(e.shape()));
                pos += e.bytes();
            }
            file.force();
        }
    }
}
