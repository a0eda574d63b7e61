package io.llamba.engine.checkpoint;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The weights of a model directory in the Hugging Face layout: {@code model.safetensors}, or
 * {@code model.safetensors.index.json} with its shards. All files are memory-mapped into one shared
 * arena, which {@link #close()} releases; tensors stay valid until then.
 */
public final class Checkpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path directory;
    private final Arena arena;
    private final Map<String, TensorInfo> tensors;
    private final long totalBytes;

    private Checkpoint(Path directory, Arena arena, Map<String, TensorInfo> tensors) {
        this.directory = directory;
        this.arena = arena;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.totalBytes = tensors.values().stream().mapToLong(t -> t.data().byteSize()).sum();
    }

    /** Opens the weights of {@code directory}; the index wins when both layouts are present. */
    public static Checkpoint open(Path directory) {
        Path index = directory.resolve(INDEX_FILE);
        Path single = directory.resolve(SINGLE_FILE);
        Arena arena = Arena.ofShared();
        try {
            Map<String, TensorInfo> tensors;
            if (Files.isRegularFile(index)) {
                tensors = openSharded(directory, index, arena);
            } else if (Files.isRegularFile(single)) {
                tensors = new LinkedHashMap<>(SafetensorsFile.open(single, arena).tensors());
            } else {
                throw new CheckpointException(directory + ": no weights: neither " + SINGLE_FILE + " nor " + INDEX_FILE + " is there");
            }
            return new Checkpoint(directory, arena, tensors);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, TensorInfo> openSharded(Path directory, Path index, Arena arena) {
        JsonObject json;
        try {
            json = Json.parseObject(Files.readString(index), index.toString());
        } catch (IOException e) {
            throw new CheckpointException(index + ": cannot read: " + e.getMessage(), e);
        } catch (JsonException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
        if (!json.has("weight_map")) {
            throw new CheckpointException(index + ": missing field weight_map");
        }
        JsonObject weightMap;
        try {
            weightMap = json.getObject("weight_map");
        } catch (JsonException e) {
            throw new CheckpointException(e.getMessage(), e);
        }
        // Shard name -> tensors the index says it holds.
        Map<String, java.util.List<String>> byShard = new TreeMap<>();
        for (String tensor : weightMap.keys()) {
            if (!(weightMap.raw(tensor) instanceof String shard)) {
                throw new CheckpointException(index + ": weight_map entry for " + tensor + " is not a file name");
            }
            if (shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
                throw new CheckpointException(index + ": weight_map entry for " + tensor + " names a file outside the model directory: " + shard);
            }
            byShard.computeIfAbsent(shard, k -> new java.util.ArrayList<>()).add(tensor);
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, java.util.List<String>> e : byShard.entrySet()) {
            Path shardPath = directory.resolve(e.getKey());
            if (!Files.isRegularFile(shardPath)) {
                throw new CheckpointException(index + ": names shard " + e.getKey() + " (for tensor " + e.getValue().getFirst()
                        + "), which is missing from " + directory);
            }
            SafetensorsFile shard = SafetensorsFile.open(shardPath, arena);
            for (String tensor : e.getValue()) {
                TensorInfo t = shard.tensors().get(tensor);
                if (t == null) {
                    throw new CheckpointException(index + ": says tensor " + tensor + " is in " + e.getKey() + ", but that shard has no such tensor");
                }
                tensors.put(tensor, t);
            }
        }
        return tensors;
    }

    public Path directory() {
        return directory;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Optional<TensorInfo> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The tensor, or a clear error naming it. */
    public TensorInfo get(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(directory + ": missing tensor " + name);
        }
        return t;
    }

    /** Bytes of all tensors as stored. */
    public long totalBytes() {
        return totalBytes;
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Whether {@code directory} holds weights in a layout this class reads. */
    public static boolean isCheckpoint(Path directory) {
        return Files.isRegularFile(directory.resolve(SINGLE_FILE)) || Files.isRegularFile(directory.resolve(INDEX_FILE));
    }

}
