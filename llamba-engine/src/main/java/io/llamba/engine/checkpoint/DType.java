package io.llamba.engine.checkpoint;

import java.util.Arrays;
import java.util.Optional;

/** Storage dtypes of safetensors tensors that the engine reads. */
public enum DType {
    F32(4),
    F16(2),
    BF16(2),
    F64(8),
    I64(8),
    I32(4),
    I16(2),
    I8(1),
    U8(1),
    BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Whether the engine can compute with weights stored in this dtype. */
    public boolean isFloatWeight() {
        return this == F32 || this == F16 || this == BF16;
    }

    public static Optional<DType> of(String name) {
        return Arrays.stream(values()).filter(d -> d.name().equals(name)).findFirst();
    }

    /** Parses a user-given dtype name (case-insensitive), for options such as {@code --dtype bf16}. */
    public static DType parse(String name) {
        return of(name.toUpperCase(java.util.Locale.ROOT))
                .orElseThrow(() -> new IllegalArgumentException("unknown dtype '" + name + "' (supported: F32, BF16, F16)"));
    }
}
