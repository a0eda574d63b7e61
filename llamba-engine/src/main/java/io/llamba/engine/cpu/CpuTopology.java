package io.llamba.engine.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How many threads the CPU backend uses by default: one per physical core of those the JVM may use.
 * On Linux the hardware threads per core come from sysfs ({@code thread_siblings_list} of cpu0); elsewhere,
 * or when it cannot be read, every available processor counts as a core.
 */
public final class CpuTopology {
    private static final int DEFAULT = compute(Path.of("/sys/devices/system/cpu"), Runtime.getRuntime().availableProcessors());

    private CpuTopology() {
    }

    public static int defaultThreads() {
        return DEFAULT;
    }

    static int compute(Path sysCpu, int available) {
        int perCore = threadsPerCore(sysCpu);
        return Math.max(1, available / perCore);
    }

    /** Hardware threads of cpu0's core, from a list such as "0,32" or "0-1"; 1 when unknown. */
    static int threadsPerCore(Path sysCpu) {
        try {
            String list = Files.readString(sysCpu.resolve("cpu0/topology/thread_siblings_list")).trim();
            int n = 0;
            for (String part : list.split(",")) {
                int dash = part.indexOf('-');
                n += dash < 0 ? 1 : Integer.parseInt(part.substring(dash + 1).trim()) - Integer.parseInt(part.substring(0, dash).trim()) + 1;
            }
            return Math.max(1, n);
        } catch (IOException | RuntimeException e) {
            return 1;
        }
    }
}
