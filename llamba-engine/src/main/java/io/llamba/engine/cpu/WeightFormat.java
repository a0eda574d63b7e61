package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.model.Quantization;

import java.util.Locale;

/**
 * How a weight matrix is held in memory by the CPU backend. The float formats keep the checkpoint's
 * values exactly; the block formats are ggml's: blocks of 32 weights along a row with one float16
 * scale each (Q8_0: int8 values, Q4_0: 4-bit values offset by 8).
 */
public enum WeightFormat {
    F32(32 * 4),
    BF16(32 * 2),
    F16(32 * 2),
    Q8_0(32 + 2),
    Q4_0(16 + 2);

    private final int bytesPerBlock;

    WeightFormat(int bytesPerBlock) {
        this.bytesPerBlock = bytesPerBlock;
    }

    /** Bytes per block of 32 weights. */
    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    /** Bytes per weight, with the scales of the block formats. */
    public double bytesPerWeight() {
        return bytesPerBlock / 32.0;
    }

    public boolean quantized() {
        return this == Q8_0 || this == Q4_0;
    }

    /** The format that keeps a checkpoint dtype's values exactly. */
    public static WeightFormat of(DType dtype) {
        return switch (dtype) {
            case F32 -> F32;
            case BF16 -> BF16;
            case F16 -> F16;
            default -> throw new IllegalArgumentException("dtype " + dtype + " is not a weight format (F32, BF16, F16)");
        };
    }

    /**
     * The format a matrix stored as {@code dtype} is held in under {@code quantization}: the block format
     * asked for, or the one that keeps the checkpoint's values.
     */
    public static WeightFormat of(DType dtype, Quantization quantization) {
        return switch (quantization) {
            case NONE -> of(dtype);
            case Q8_0 -> Q8_0;
            case Q4_0 -> Q4_0;
        };
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
