package io.llamba.engine.model;

import java.util.Locale;

/**
 * Whether and how a backend quantizes weight matrices when it loads a checkpoint: {@code NONE} keeps
 * the checkpoint's values (F32, BF16 or F16); {@code Q8_0} and {@code Q4_0} are ggml's block formats
 * (blocks of 32 weights with one float16 scale; 8-bit and 4-bit values).
 */
public enum Quantization {
    NONE, Q8_0, Q4_0;

    /** Parses {@code none}, {@code q8_0} or {@code q4_0} (case-insensitive). */
    public static Quantization parse(String s) {
        String v = s.trim().toUpperCase(Locale.ROOT);
        for (Quantization q : values()) {
            if (q.name().equals(v)) {
                return q;
            }
        }
        throw new IllegalArgumentException("unknown quantization '" + s + "' (supported: none, q8_0, q4_0)");
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
