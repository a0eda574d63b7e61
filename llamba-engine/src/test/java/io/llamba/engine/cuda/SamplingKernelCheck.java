package io.llamba.engine.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The device sampler (kernel sample_rows) on hand-made logits, on any {@link Device}: greedy picks
 * the first largest logit; draws follow the softmax restricted by top-k, min-p and top-p; a seed
 * and step always give the same token.
 */
final class SamplingKernelCheck {
    private SamplingKernelCheck() {
    }

    /** Parameters of one launch: every row uses the same settings, row i draws with step i. */
    record Params(int mode, int topK, float temperature, float topP, float minP, long seed) {
    }

    /** Runs sample_rows over {@code rows} copies of {@code logits} with steps 0..rows-1. */
    static int[] sample(Device dev, float[] logits, int rows, Params p) {
        int v = logits.length;
        long logitBytes = 4L * rows * v;
        long n = rows;
        long off = logitBytes;
        long mode = off, topK = mode + 4 * n, temp = topK + 4 * n, topP = temp + 4 * n, minP = topP + 4 * n;
        long seed = (minP + 4 * n + 7) / 8 * 8, step = seed + 8 * n, out = step + 8 * n, end = out + 4 * n;
        try (Device.Scope _ = dev.enter()) {
            DeviceBuffer buf = dev.allocate(end, "sampling test");
            HostBuffer host = dev.allocateHost(end);
            try {
                MemorySegment h = host.segment();
                for (int r = 0; r < rows; r++) {
                    MemorySegment.copy(logits, 0, h, ValueLayout.JAVA_FLOAT, 4L * r * v, v);
                    h.set(ValueLayout.JAVA_INT, mode + 4L * r, p.mode);
                    h.set(ValueLayout.JAVA_INT, topK + 4L * r, p.topK);
                    h.set(ValueLayout.JAVA_FLOAT, temp + 4L * r, p.temperature);
                    h.set(ValueLayout.JAVA_FLOAT, topP + 4L * r, p.topP);
                    h.set(ValueLayout.JAVA_FLOAT, minP + 4L * r, p.minP);
                    h.set(ValueLayout.JAVA_LONG, seed + 8L * r, p.seed);
                    h.set(ValueLayout.JAVA_LONG, step + 8L * r, r);
                    h.set(ValueLayout.JAVA_INT, out + 4L * r, -7);
                }
                dev.copyToDevice(buf, 0, host, 0, end);
                dev.launch(dev.kernel("sample_rows"), rows, 1, 1024, 0, new KernelArgs().ptr(buf.address()).i64(v).i32(v)
                        .ptr(buf.at(mode)).ptr(buf.at(topK)).ptr(buf.at(temp)).ptr(buf.at(topP)).ptr(buf.at(minP)).ptr(buf.at(seed))
                        .ptr(buf.at(step)).ptr(buf.at(out)));
                int[] tokens = new int[rows];
                dev.copyToHost(tokens, 0, buf, out, rows);
                return tokens;
            } finally {
                dev.free(buf);
                dev.free(host);
            }
        }
    }

    static double[] frequencies(int[] tokens, int v) {
        double[] f = new double[v];
        for (int t : tokens) {
            f[t] += 1.0 / tokens.length;
        }
        return f;
    }

    /** Softmax at temperature {@code t} over the ids flagged in {@code keep}. */
    static double[] softmax(float[] logits, double t, boolean[] keep) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (keep[i]) {
                max = Math.max(max, logits[i]);
            }
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            if (keep[i]) {
                p[i] = Math.exp((logits[i] - max) / t);
                sum += p[i];
            }
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** A vocabulary of 300 whose first ids carry most of the mass, with ties and a NaN. */
    static float[] logits() {
        float[] l = new float[300];
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) (r.nextDouble() * 2 - 6);
        }
        l[17] = 2.0f;   // p ≈ 0.47 of the top four at T = 1
        l[250] = 1.5f;  // ≈ 0.29
        l[3] = 0.8f;    // ≈ 0.14
        l[120] = 0.5f;  // ≈ 0.10
        l[299] = Float.NaN;
        return l;
    }

    static void greedyPicksTheFirstLargest(Device dev) {
        float[] l = logits();
        assertThat(sample(dev, l, 3, new Params(1, 0, 1, 1, 0, 5))).containsOnly(17);
        float[] tie = l.clone();
        tie[200] = 2.0f; // a later tie does not win
        tie[5] = 2.0f;   // an earlier one does
        assertThat(sample(dev, tie, 2, new Params(1, 0, 1, 1, 0, 5))).containsOnly(5);
    }

    static void seedAndStepFixTheDraw(Device dev) {
        float[] l = logits();
        int[] a = sample(dev, l, 64, new Params(2, 0, 1, 1, 0, 1234));
        int[] b = sample(dev, l, 64, new Params(2, 0, 1, 1, 0, 1234));
        int[] c = sample(dev, l, 64, new Params(2, 0, 1, 1, 0, 99));
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        assertThat(Arrays.stream(a).distinct().count()).as("different steps draw different tokens").isGreaterThan(1);
    }

    /** Top-k 4 at temperature 1: only the four best, in softmax proportion. */
    static void topKFollowsTheSoftmaxOfTheBest(Device dev, int draws, double tolerance) {
        float[] l = logits();
        int[] t = sample(dev, l, draws, new Params(2, 4, 1, 1, 0, 7));
        boolean[] keep = new boolean[l.length];
        keep[17] = keep[250] = keep[3] = keep[120] = true;
        double[] want = softmax(l, 1, keep);
        double[] got = frequencies(t, l.length);
        for (int i = 0; i < l.length; i++) {
            if (keep[i]) {
                assertThat(got[i]).as("frequency of id " + i).isCloseTo(want[i], within(tolerance));
            } else {
                assertThat(got[i]).as("id " + i + " is outside the top 4").isZero();
            }
        }
    }

    /** Top-p 0.7 at temperature 1 over the whole vocabulary: the smallest head reaching 70 %. */
    static void topPKeepsTheSmallestHead(Device dev, int draws, double tolerance) {
        float[] l = logits();
        boolean[] all = new boolean[l.length];
        for (int i = 0; i < l.length - 1; i++) {
            all[i] = true; // the NaN is never a candidate
        }
        double[] full = softmax(l, 1, all);
        Integer[] order = new Integer[l.length - 1];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Double.compare(full[y], full[x]));
        boolean[] keep = new boolean[l.length];
        double acc = 0;
        for (Integer i : order) {
            keep[i] = true;
            acc += full[i];
            if (acc >= 0.7) {
                break;
            }
        }
        int[] t = sample(dev, l, draws, new Params(2, 0, 1, 0.7f, 0, 8));
        double[] want = softmax(l, 1, keep);
        double[] got = frequencies(t, l.length);
        for (int i = 0; i < l.length; i++) {
            if (keep[i]) {
                assertThat(got[i]).as("frequency of id " + i).isCloseTo(want[i], within(tolerance));
            } else {
                assertThat(got[i]).as("id " + i + " is outside the nucleus").isZero();
            }
        }
    }

    /** Min-p 0.25 at temperature 0.5: ids below a quarter of the best's probability are dropped. */
    static void minPDropsTheUnlikely(Device dev, int draws, double tolerance) {
        float[] l = logits();
        double t = 0.5;
        boolean[] keep = new boolean[l.length];
        for (int i = 0; i < l.length - 1; i++) {
            keep[i] = Math.exp((l[i] - 2.0) / t) >= 0.25;
        }
        int[] got = sample(dev, l, draws, new Params(2, 0, (float) t, 1, 0.25f, 9));
        double[] want = softmax(l, t, keep);
        double[] f = frequencies(got, l.length);
        for (int i = 0; i < l.length; i++) {
            if (keep[i]) {
                assertThat(f[i]).as("frequency of id " + i).isCloseTo(want[i], within(tolerance));
            } else {
                assertThat(f[i]).as("id " + i + " is below min-p").isZero();
            }
        }
    }
}
