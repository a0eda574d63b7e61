package io.llamba.engine.generate;

import io.llamba.engine.model.ModelInfo;

import java.util.Locale;

/** The engine's memory budgets: how many state slots fit, and the defaults when none is configured. */
final class MemoryBudget {
    private MemoryBudget() {
    }

    /**
     * A quarter of the maximum heap for CPU states (weights are memory-mapped, off the heap); on other
     * backends states live in device memory, which their own pools bound.
     */
    static long defaultStateBytes(ModelInfo info) {
        return "cpu".equals(info.backend()) ? Runtime.getRuntime().maxMemory() / 4 : Long.MAX_VALUE;
    }

    /** A quarter of the maximum heap: snapshots are host copies whatever the backend. */
    static long defaultCacheBytes() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    /** The slot count: maxSequences, or as many states as the budget holds if fewer; at least one. */
    static int slots(int maxSequences, long budgetBytes, long bytesPerState, String model) {
        return slots(maxSequences, budgetBytes, bytesPerState, model, 0);
    }

    /** As above, for states sized at {@code contextLimit} tokens (0: not context-dependent), named in the error. */
    static int slots(int maxSequences, long budgetBytes, long bytesPerState, String model, int contextLimit) {
        if (bytesPerState <= 0) {
            return maxSequences;
        }
        long fit = budgetBytes / bytesPerState;
        if (fit < 1) {
            throw new IllegalArgumentException("the state memory budget of " + format(budgetBytes) + " holds no sequence state of "
                    + format(bytesPerState) + " (model " + model + "); raise stateMemoryBytes, or the heap (-Xmx) for the automatic budget"
                    + (contextLimit > 0 ? "; a state that grows with the context (a KV cache) is smaller with a lower maxContext (now "
                    + contextLimit + " tokens)" : ""));
        }
        return (int) Math.min(maxSequences, fit);
    }

    static String format(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "unbounded";
        }
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return bytes + " B";
    }
}
