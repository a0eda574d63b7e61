package io.llamba.engine.cpu;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class CpuKernelsTest {
    @Test
    void siluIsWithinAFewUlpsOfItsDefinition() {
        SplittableRandom r = new SplittableRandom(1);
        float[] v = new float[100_003];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 200 - 100);
        }
        v[0] = -1000f;
        v[1] = 1000f;
        v[2] = 0f;
        v[3] = Float.MIN_NORMAL;
        float[] s = v.clone();
        CpuKernels.silu(s, 0, s.length);
        for (int i = 0; i < v.length; i++) {
            double expected = v[i] / (1 + Math.exp(-(double) v[i]));
            assertThat((double) s[i]).as("silu(%s)", v[i]).isCloseTo(expected, org.assertj.core.data.Offset.offset(4e-7 * Math.abs(expected) + 1e-30));
        }
        assertThat(s[0]).isBetween(-1e-30f, 0f); // e^x saturates at e^88: -1000/(1+e^88), zero for a float activation
        assertThat(s[1]).isEqualTo(1000f);
        assertThat(s[2]).isZero();
    }

    @Test
    void siluGivesTheSameBitsAtAnyOffset() {
        // An element goes through the vector loop or the scalar tail depending on n, not on the token:
        // within one call the result must only depend on the value and its position class.
        float[] v = new float[64];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.37f - 9f;
        }
        float[] a = v.clone();
        float[] b = v.clone();
        CpuKernels.silu(a, 0, 64);
        CpuKernels.silu(b, 0, 32);
        CpuKernels.silu(b, 32, 32);
        assertThat(b).containsExactly(a);
    }

    @Test
    void rmsnormMatchesItsDefinition() {
        float[] x = new float[37];
        float[] w = new float[37];
        double ss = 0;
        for (int i = 0; i < 37; i++) {
            x[i] = (float) Math.sin(i);
            w[i] = 1 + i / 37f;
            ss += x[i] * (double) x[i];
        }
        float[] out = new float[37];
        CpuKernels.rmsnorm(x, 0, w, out, 0, 37, 1e-5f);
        double scale = 1 / Math.sqrt(ss / 37 + 1e-5);
        for (int i = 0; i < 37; i++) {
            assertThat((double) out[i]).isCloseTo(w[i] * x[i] * scale, org.assertj.core.data.Offset.offset(1e-6));
        }
    }
}
