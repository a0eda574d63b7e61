package io.llamba.engine.llama;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The plugin's own kernels against plain double-precision formulas. */
class LlamaCpuKernelsTest {

    @Test
    void expIsWithinTwoUlpsAndTheSameInLanesAndTail() {
        SplittableRandom r = new SplittableRandom(7);
        float[] xs = new float[4099];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) (r.nextDouble() * 170 - 86); // [-86, 84]
        }
        xs[0] = 0f;
        xs[1] = -87.5f;
        xs[2] = 88f;
        float[] vec = xs.clone();
        // softmax's vector path on one row and the scalar exp on each value must agree bit for bit
        for (int i = 0; i < xs.length; i++) {
            float e = LlamaCpuKernels.exp(xs[i]);
            if (xs[i] < -87f) {
                assertThat(e).isZero();
                continue;
            }
            double want = Math.exp(xs[i]);
            assertThat(Math.abs(e - want)).as("exp(%s)", xs[i]).isLessThanOrEqualTo(2 * Math.ulp((float) want));
        }
        float[] lanes = new float[16];
        for (int i = 0; i + 16 <= vec.length; i += 16) {
            System.arraycopy(vec, i, lanes, 0, 16);
            float[] copy = lanes.clone();
            // swiglu with u = 1 runs exp(-g) in vector lanes; compare with the scalar formula
            LlamaCpuKernels.swiglu(copy, 0, ones(16), 0, 16);
            for (int k = 0; k < 16; k++) {
                float g = lanes[k];
                assertThat(copy[k]).isEqualTo(g / (LlamaCpuKernels.exp(-g) + 1f));
            }
        }
    }

    static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }

    @Test
    void softmaxSumsToOneAndMatchesDouble() {
        SplittableRandom r = new SplittableRandom(3);
        for (int n : new int[]{1, 5, 16, 17, 300}) {
            float[] v = new float[n + 3];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextGaussian() * 4);
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 3; i < n + 3; i++) {
                max = Math.max(max, v[i]);
            }
            double sum = 0;
            for (int i = 3; i < n + 3; i++) {
                sum += Math.exp(v[i] - max);
            }
            float[] got = v.clone();
            LlamaCpuKernels.softmax(got, 3, n);
            double total = 0;
            for (int i = 3; i < n + 3; i++) {
                double want = Math.exp(v[i] - max) / sum;
                assertThat((double) got[i]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * want + 1e-9));
                total += got[i];
            }
            assertThat(total).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
            assertThat(got[0]).isEqualTo(v[0]); // outside the range: untouched
        }
    }

    /** Rotating half pairs (i, i + d/2) by position·freq, as transformers' rotate_half does. */
    @Test
    void ropeRotatesHalvesByTheirAngle() {
        int d = 8;
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        float[] cos = new float[d / 2];
        float[] sin = new float[d / 2];
        double[] angle = {0.3, 1.1, -2.0, 0.0};
        for (int i = 0; i < d / 2; i++) {
            cos[i] = (float) Math.cos(angle[i]);
            sin[i] = (float) Math.sin(angle[i]);
        }
        float[] got = x.clone();
        LlamaCpuKernels.rope(got, 0, 2, d, cos, sin, 0);
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < d / 2; i++) {
                double a = x[h * d + i];
                double b = x[h * d + i + d / 2];
                assertThat((double) got[h * d + i]).isCloseTo(a * Math.cos(angle[i]) - b * Math.sin(angle[i]), org.assertj.core.data.Offset.offset(1e-5));
                assertThat((double) got[h * d + i + d / 2]).isCloseTo(b * Math.cos(angle[i]) + a * Math.sin(angle[i]), org.assertj.core.data.Offset.offset(1e-5));
            }
        }
    }
}
