package io.llamba.engine.model;

import java.util.Locale;

/** Where a model computes: {@code AUTO} picks CUDA when a device and driver are usable, else the CPU. */
public enum BackendKind {
    AUTO, CPU, CUDA;

    public static BackendKind parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown backend '" + s + "' (supported: auto, cpu, cuda)");
        }
    }
}
