package io.llamba.engine.checkpoint;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped read-only into the caller's arena. The format: an
 * 8-byte little-endian header length, a JSON header mapping tensor names to
 * {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the data that follows
 * the header), then the data. Every field is validated before any tensor is handed out, so a
 * truncated or corrupt file gives a message naming the file and the problem instead of a crash.
 */
public final class SafetensorsFile {
    /** Headers are small JSON; a larger "length" means a corrupt or foreign file. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path path;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path, Arena arena) {
        long size;
        MemorySegment file;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            size = ch.size();
            if (size < 8) {
                throw new CheckpointException(path + ": not a safetensors file: " + size + " bytes, shorter than the 8-byte header length");
            }
            file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(path + ": file not found");
        } catch (IOException e) {
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        }
        long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 0 || headerLen > size - 8) {
            throw new CheckpointException(path + ": corrupt safetensors: header length " + Long.toUnsignedString(headerLen)
                    + " runs past the end of the file (" + size + " bytes)");
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw new CheckpointException(path + ": corrupt safetensors: header length " + headerLen + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        String headerText = new String(file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        Object header;
        try {
            header = Json.parse(headerText.stripTrailing(), path + " (safetensors header)");
        } catch (JsonException e) {
            throw new CheckpointException("corrupt safetensors: " + e.getMessage(), e);
        }
        if (!(header instanceof Map<?, ?> headerMap)) {
            throw new CheckpointException(path + ": corrupt safetensors: the header is not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        MemorySegment data = file.asSlice(dataStart, dataSize);

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        record Span(String name, long begin, long end) {
        }
        List<Span> spans = new ArrayList<>();
        for (Map.Entry<?, ?> e : headerMap.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                if (e.getValue() instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> metadata.put(String.valueOf(k), String.valueOf(v)));
                }
                continue;
            }
            if (!(e.getValue() instanceof Map<?, ?> entry)) {
                throw bad(path, name, "entry is not an object");
            }
            if (!(entry.get("dtype") instanceof String dtypeName)) {
                throw bad(path, name, "missing dtype");
            }
            DType dtype = DType.of(dtypeName).orElseThrow(() -> bad(path, name, "unknown dtype '" + dtypeName + "'"));
            if (!(entry.get("shape") instanceof List<?> shapeList)) {
                throw bad(path, name, "missing shape");
            }
            long[] shape = new long[shapeList.size()];
            for (int i = 0; i < shape.length; i++) {
                if (!(shapeList.get(i) instanceof Long d) || d < 0) {
                    throw bad(path, name, "invalid shape " + shapeList);
                }
                shape[i] = d;
            }
            if (!(entry.get("data_offsets") instanceof List<?> offs) || offs.size() != 2
                    || !(offs.get(0) instanceof Long begin) || !(offs.get(1) instanceof Long end)) {
                throw bad(path, name, "missing or invalid data_offsets");
            }
            if (begin < 0 || end < begin || end > dataSize) {
                throw bad(path, name, "data_offsets [" + begin + ", " + end + "] lie outside the data section of "
                        + dataSize + " bytes (file truncated?)");
            }
            long count;
            try {
                count = Math.multiplyExact(TensorInfo.elementCount(shape), dtype.bytes());
            } catch (ArithmeticException ex) {
                throw bad(path, name, "shape " + shapeList + " overflows");
            }
            if (end - begin != count) {
                throw bad(path, name, "byte count " + (end - begin) + " does not match shape " + shapeList + " of " + dtype
                        + " (" + count + " bytes)");
            }
            spans.add(new Span(name, begin, end));
            tensors.put(name, new TensorInfo(name, dtype, shape, path, data.asSlice(begin, end - begin)));
        }
        spans.sort(Comparator.comparingLong(Span::begin).thenComparingLong(Span::end));
        for (int i = 1; i < spans.size(); i++) {
            Span prev = spans.get(i - 1);
            Span cur = spans.get(i);
            if (cur.begin < prev.end && cur.end > cur.begin) {
                throw new CheckpointException(path + ": corrupt safetensors: tensors " + prev.name + " [" + prev.begin + ", " + prev.end
                        + ") and " + cur.name + " [" + cur.begin + ", " + cur.end + ") overlap");
            }
        }
        return new SafetensorsFile(path, tensors, metadata);
    }

    private static CheckpointException bad(Path path, String tensor, String what) {
        return new CheckpointException(path + ": corrupt safetensors: tensor " + tensor + ": " + what);
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }
}
