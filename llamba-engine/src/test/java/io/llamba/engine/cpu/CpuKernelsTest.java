package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class CpuKernelsTest {
    static final jdk.incubator.vector.VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Test
    void expIsWithinAFewUlpsOfMathExp() {
        SplittableRandom r = new SplittableRandom(1);
        float[] x = new float[F.length()];
        float[] e = new float[F.length()];
        for (int k = 0; k < 20_000; k++) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (r.nextDouble() * 170 - 86);
            }
            CpuKernels.exp(FloatVector.fromArray(F, x, 0)).intoArray(e, 0);
            for (int i = 0; i < x.length; i++) {
                double expected = Math.exp(x[i]);
                assertThat((double) e[i]).as("exp(%s)", x[i]).isCloseTo(expected, org.assertj.core.data.Offset.offset(3e-7 * expected));
            }
        }
        float[] edges = new float[F.length()];
        edges[0] = -1000f;
        edges[1] = 1000f;
        edges[2] = 0f;
        if (edges.length > 3) {
            edges[3] = Float.NEGATIVE_INFINITY;
        }
        CpuKernels.exp(FloatVector.fromArray(F, edges, 0)).intoArray(e, 0);
        assertThat(e[0]).isBetween(0f, 2e-38f);
        assertThat(e[1]).isGreaterThan(1e38f).isFinite();
        assertThat(e[2]).isEqualTo(1f);
    }

    @Test
    void siluAndRmsnormMatchTheirDefinitions() {
        float[] v = new float[F.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = i - 7.5f;
        }
        float[] s = new float[v.length];
        CpuKernels.silu(FloatVector.fromArray(F, v, 0)).intoArray(s, 0);
        for (int i = 0; i < v.length; i++) {
            assertThat((double) s[i]).isCloseTo(v[i] / (1 + Math.exp(-v[i])), org.assertj.core.data.Offset.offset(1e-6));
        }
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
