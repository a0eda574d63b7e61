package io.llamba.engine.cli;

import java.util.Arrays;

/** A growable list of nanosecond samples with nearest-rank percentiles. Not thread-safe. */
final class LatencySamples {
    private long[] values = new long[1024];
    private int size;

    void add(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = nanos;
    }

    int size() {
        return size;
    }

    void clear() {
        size = 0;
    }

    /** The {@code p}-th percentile (0..100) in milliseconds, nearest rank; NaN when empty. */
    double percentileMillis(double p) {
        if (size == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * size);
        return sorted[Math.clamp(rank - 1, 0, size - 1)] / 1e6;
    }

    double meanMillis() {
        if (size == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < size; i++) {
            sum += values[i];
        }
        return sum / size / 1e6;
    }
}
