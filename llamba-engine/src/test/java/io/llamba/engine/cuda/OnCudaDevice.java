package io.llamba.engine.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The device of a GPU test class (tag "gpu", enabled by {@code @EnabledIf("cudaUsable")}): opened
 * before its tests, closed after them. Test classes run one after another, each with its own.
 */
abstract class OnCudaDevice {
    static CudaDevice dev;

    static boolean cudaUsable() {
        return CudaAvailability.probe().available();
    }

    @BeforeAll
    static void open() {
        dev = CudaDevice.open(0, CudaAvailability.fatbin());
        System.out.println("[gpu] " + dev.description());
    }

    @AfterAll
    static void close() {
        if (dev != null) {
            dev.close();
            dev = null;
        }
    }
}
