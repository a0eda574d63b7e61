package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.CheckpointException;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.checkpoint.Floats;
import io.llamba.engine.checkpoint.TensorInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every weight format's products against a scalar reference in double precision, on shapes that are
 * and are not whole tiles and blocks; bit-identical results for a token row alone or in any batch;
 * the ggml quantization rules; and errors for weights that cannot be quantized.
 */
class CpuMatrixTest {
    static final Parallel TEAM = new Parallel(2);
    static final Arena ARENA = Arena.ofShared();

    @AfterAll
    static void close() {
        TEAM.close();
        ARENA.close();
    }

    /** A rows × cols checkpoint-like tensor of normal-ish values, in {@code dtype}. */
    static TensorInfo tensor(String name, DType dtype, int rows, int cols, long seed) {
        MemorySegment seg = ARENA.allocate((long) rows * cols * dtype.bytes(), 8);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < (long) rows * cols; i++) {
            Floats.write(seg, dtype, i, (float) ((r.nextDouble() * 2 - 1) * (r.nextInt(8) == 0 ? 3 : 0.5)));
        }
        return new TensorInfo(name, dtype, new long[]{rows, cols}, Path.of("test.safetensors"), seg);
    }

    static float[] randomRows(int t, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[t * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }

    static final int[][] SHAPES = {{64, 64}, {32, 96}, {37, 45}, {100, 200}, {5, 31}, {130, 33}};

    static List<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (WeightFormat f : WeightFormat.values()) {
            DType source = f == WeightFormat.F32 ? DType.F32 : f == WeightFormat.F16 ? DType.F16 : DType.BF16;
            for (int[] s : SHAPES) {
                all.add(Arguments.of(f, source, s[0], s[1]));
            }
        }
        return all;
    }

    /** What the Q4_0 kernels multiply by: the activations quantized per block and dequantized. */
    static float[] effectiveInput(CpuMatrix m, float[] x, int t) {
        if (m.format() != WeightFormat.Q4_0) {
            return x;
        }
        int cols = m.cols();
        int padded = m.colsPadded;
        int[] q = new int[padded];
        float[] d = new float[m.blocks];
        float[] out = new float[x.length];
        for (int s = 0; s < t; s++) {
            Quantize.activations(x, s * cols, cols, m.blocks, q, d, 0);
            for (int i = 0; i < cols; i++) {
                out[s * cols + i] = q[i] * d[i / CpuMatrix.BLOCK];
            }
        }
        return out;
    }

    /** Σ_i w[r,i]·x[i] in double, and Σ|w·x| for the tolerance. */
    static double[] reference(CpuMatrix m, float[] x, int xOff, int row) {
        float[] w = new float[m.cols()];
        m.row(row, w, 0);
        double sum = 0;
        double abs = 0;
        for (int i = 0; i < w.length; i++) {
            sum += (double) w[i] * x[xOff + i];
            abs += Math.abs((double) w[i] * x[xOff + i]);
        }
        return new double[]{sum, abs};
    }

    @ParameterizedTest(name = "{0} from {1}, {2}x{3}")
    @MethodSource("cases")
    void productMatchesDoublePrecisionReference(WeightFormat format, DType source, int rows, int cols) {
        CpuMatrix m = CpuMatrix.pack(WeightSource.of(tensor("w", source, rows, cols, rows * 31L + cols)), format, ARENA, TEAM);
        assertThat(m.rows()).isEqualTo(rows);
        assertThat(m.cols()).isEqualTo(cols);
        for (int t : new int[]{1, 2, 3, 4, 8, 13}) {
            float[] x = randomRows(t, cols, t);
            float[] xe = effectiveInput(m, x, t);
            float[] y = new float[t * (rows + 3)];
            m.matmul(TEAM, x, t, y, rows + 3);
            for (int s = 0; s < t; s++) {
                for (int r = 0; r < rows; r++) {
                    double[] ref = reference(m, xe, s * cols, r);
                    assertThat((double) y[s * (rows + 3) + r]).as("%s t=%d token %d row %d", format, t, s, r)
                            .isCloseTo(ref[0], org.assertj.core.data.Offset.offset(2e-6 * ref[1] + 1e-6));
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} from {1}, {2}x{3}")
    @MethodSource("cases")
    void aTokensResultDoesNotDependOnItsBatch(WeightFormat format, DType source, int rows, int cols) {
        CpuMatrix m = CpuMatrix.pack(WeightSource.of(tensor("w", source, rows, cols, 5)), format, ARENA, TEAM);
        int t = 13;
        float[] x = randomRows(t, cols, 9);
        float[] all = new float[t * rows];
        m.matmul(TEAM, x, t, all, rows);
        for (int s = 0; s < t; s++) {
            float[] one = new float[rows];
            float[] xs = java.util.Arrays.copyOfRange(x, s * cols, (s + 1) * cols);
            m.matmul(TEAM, xs, 1, one, rows);
            assertThat(one).as("token %d alone vs in a batch of %d", s, t).containsExactly(java.util.Arrays.copyOfRange(all, s * rows, (s + 1) * rows));
        }
        // Other batches: tokens reversed, with duplicates, in every size the paths treat differently
        // (one token, a few streamed like one, several through widened tiles).
        for (int[] pick : new int[][]{{6, 5, 4, 3, 2, 4}, {9, 1}, {3, 0, 12}, {11, 7, 2, 7}, {4, 4, 4, 4, 4}}) {
            float[] xp = new float[pick.length * cols];
            for (int k = 0; k < pick.length; k++) {
                System.arraycopy(x, pick[k] * cols, xp, k * cols, cols);
            }
            float[] yp = new float[pick.length * rows];
            m.matmul(TEAM, xp, pick.length, yp, rows);
            for (int k = 0; k < pick.length; k++) {
                assertThat(java.util.Arrays.copyOfRange(yp, k * rows, (k + 1) * rows))
                        .as("token %d in a batch of %d", pick[k], pick.length)
                        .containsExactly(java.util.Arrays.copyOfRange(all, pick[k] * rows, (pick[k] + 1) * rows));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void gatedProductIsSiluOfOneTimesTheOther(WeightFormat format) {
        int rows = 45;
        int cols = 70;
        DType source = format == WeightFormat.F32 ? DType.F32 : DType.BF16;
        TensorInfo a = tensor("gate", source, rows, cols, 1);
        TensorInfo b = tensor("up", source, rows, cols, 2);
        CpuMatrix gated = CpuMatrix.pack(WeightSource.gated(a, b), format, ARENA, TEAM);
        CpuMatrix ma = CpuMatrix.pack(WeightSource.of(a), format, ARENA, TEAM);
        CpuMatrix mb = CpuMatrix.pack(WeightSource.of(b), format, ARENA, TEAM);
        assertThat(gated.gated()).isTrue();
        assertThat(gated.rows()).isEqualTo(rows);
        for (int t : new int[]{1, 3, 9}) {
            float[] x = randomRows(t, cols, 3);
            float[] y = new float[t * rows];
            float[] ya = new float[t * rows];
            float[] yb = new float[t * rows];
            gated.matmul(TEAM, x, t, y, rows);
            ma.matmul(TEAM, x, t, ya, rows);
            mb.matmul(TEAM, x, t, yb, rows);
            for (int i = 0; i < y.length; i++) {
                // Same sums as the separate products, bit for bit; SwiGLU applied in float.
                double expected = ya[i] / (1 + Math.exp(-ya[i])) * yb[i];
                assertThat((double) y[i]).as("%s t=%d at %d", format, t, i).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6 * Math.abs(expected) + 1e-7));
            }
            float[] y1 = new float[rows];
            gated.matmul(TEAM, java.util.Arrays.copyOf(x, cols), 1, y1, rows);
            assertThat(y1).containsExactly(java.util.Arrays.copyOf(y, rows));
        }
    }

    static WeightFormat[] formats() {
        return WeightFormat.values();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void accumulateAddsTheProductToTheOutput(WeightFormat format) {
        int rows = 50;
        int cols = 64;
        CpuMatrix m = CpuMatrix.pack(WeightSource.of(tensor("w", DType.BF16, rows, cols, 4)), format, ARENA, TEAM);
        for (int t : new int[]{1, 2, 5}) {
            float[] x = randomRows(t, cols, 8);
            float[] product = new float[t * rows];
            m.matmul(TEAM, x, t, product, rows);
            float[] y = randomRows(t, rows, 10);
            float[] before = y.clone();
            m.matmul(TEAM, new MatmulScratch(), x, t, y, rows, true);
            for (int i = 0; i < y.length; i++) {
                assertThat(y[i]).isEqualTo(before[i] + product[i]);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("floatFormats")
    void floatFormatsKeepTheCheckpointValues(DType dtype) {
        TensorInfo t = tensor("w", dtype, 37, 45, 6);
        if (dtype == DType.F16) {
            t.data().setAtIndex(Floats.U16, 45 + 3, Float.floatToFloat16(Float.POSITIVE_INFINITY)); // row 1
            t.data().setAtIndex(Floats.U16, 4, (short) 0x0001); // row 0: the smallest subnormal
        }
        CpuMatrix m = CpuMatrix.pack(WeightSource.of(t), WeightFormat.of(dtype), ARENA, TEAM);
        float[] row = new float[45];
        for (int r = 0; r < 37; r++) {
            m.row(r, row, 0);
            for (int i = 0; i < 45; i++) {
                assertThat(row[i]).isEqualTo(t.getFloat((long) r * 45 + i));
            }
        }
        if (dtype == DType.F16) {
            float[] x = new float[45];
            x[3] = 1;
            float[] y = new float[37];
            m.matmul(TEAM, x, 1, y, 37);
            assertThat(y[1]).isEqualTo(Float.POSITIVE_INFINITY);
            x[3] = 0;
            x[4] = 1;
            m.matmul(TEAM, x, 1, y, 37);
            assertThat(y[0]).isEqualTo(0x1p-24f);
        }
    }

    static DType[] floatFormats() {
        return new DType[]{DType.F32, DType.BF16, DType.F16};
    }

    /** ggml's Q8_0 and Q4_0 rules, written out plainly, give the weights the matrices hold. */
    @Test
    void quantizationFollowsTheGgmlRules() {
        int rows = 33;
        int cols = 80;
        TensorInfo t = tensor("w", DType.F32, rows, cols, 12);
        // A block that is all zeros and a block with one large value.
        for (int i = 0; i < 32; i++) {
            t.data().setAtIndex(Floats.F32, i, 0f);
        }
        t.data().setAtIndex(Floats.F32, cols + 40, -7.5f);
        CpuMatrix q8 = CpuMatrix.pack(WeightSource.of(t), WeightFormat.Q8_0, ARENA, TEAM);
        CpuMatrix q4 = CpuMatrix.pack(WeightSource.of(t), WeightFormat.Q4_0, ARENA, TEAM);
        float[] got8 = new float[cols];
        float[] got4 = new float[cols];
        for (int r = 0; r < rows; r++) {
            q8.row(r, got8, 0);
            q4.row(r, got4, 0);
            for (int b = 0; b * 32 < cols; b++) {
                int from = b * 32;
                int to = Math.min(cols, from + 32);
                float amax = 0;
                float max = 0;
                for (int i = from; i < to; i++) {
                    float v = t.getFloat((long) r * cols + i);
                    amax = Math.max(amax, Math.abs(v));
                    if (Math.abs(v) > Math.abs(max)) {
                        max = v;
                    }
                }
                float d8 = amax / 127;
                float d4 = max / -8;
                for (int i = from; i < to; i++) {
                    float v = t.getFloat((long) r * cols + i);
                    float z = v * (d8 == 0 ? 0 : 1f / d8);
                    int q = (int) Math.signum(z) * Math.round(Math.abs(z)); // roundf: half away from zero
                    float e8 = q * Float.float16ToFloat(Float.floatToFloat16(d8));
                    int u = d4 == 0 ? 8 : Math.min(15, (int) (v * (1f / d4) + 8.5f));
                    float e4 = (u - 8) * Float.float16ToFloat(Float.floatToFloat16(d4));
                    assertThat(got4[i]).as("q4_0 row %d col %d", r, i).isEqualTo(e4);
                    assertThat(got8[i]).as("q8_0 row %d col %d", r, i).isEqualTo(e8);
                }
            }
        }
        q4.row(0, got4, 0);
        q8.row(0, got8, 0);
        for (int i = 0; i < 32; i++) {
            assertThat(got4[i]).isZero();
            assertThat(got8[i]).isZero();
        }
        q4.row(1, got4, 0);
        assertThat(got4[40]).isEqualTo(-7.5f);
        // The format's stated size: 34 and 18 bytes per block of 32 (rows padded to whole tiles).
        long blocks = (long) ((rows + CpuMatrix.TILE - 1) / CpuMatrix.TILE) * CpuMatrix.TILE * 3;
        assertThat(q8.bytes()).isEqualTo(blocks * 34);
        assertThat(q4.bytes()).isEqualTo(blocks * 18);
    }

    @Test
    void weightsThatCannotBeQuantizedAreAnErrorNamingTheTensor() {
        TensorInfo t = tensor("layers.3.mlp.down_proj.weight", DType.F32, 40, 64, 1);
        t.data().setAtIndex(Floats.F32, 64 * 35 + 40, Float.NaN);
        for (WeightFormat f : new WeightFormat[]{WeightFormat.Q8_0, WeightFormat.Q4_0}) {
            assertThatThrownBy(() -> CpuMatrix.pack(WeightSource.of(t), f, ARENA, TEAM))
                    .isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("layers.3.mlp.down_proj.weight")
                    .hasMessageContaining("row 35")
                    .hasMessageContaining("column 32")
                    .hasMessageContaining(f.label());
        }
        TensorInfo big = tensor("huge", DType.F32, 4, 32, 1);
        big.data().setAtIndex(Floats.F32, 0, 1e12f);
        assertThatThrownBy(() -> CpuMatrix.pack(WeightSource.of(big), WeightFormat.Q8_0, ARENA, TEAM))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("huge").hasMessageContaining("float16 scale");
    }

    @Test
    void badShapesAndBuffersAreErrors() {
        TensorInfo oneD = new TensorInfo("norm", DType.F32, new long[]{8}, Path.of("x"), ARENA.allocate(32));
        assertThatThrownBy(() -> WeightSource.of(oneD)).isInstanceOf(CheckpointException.class).hasMessageContaining("norm must be 2-D");
        TensorInfo ints = new TensorInfo("ids", DType.I32, new long[]{2, 2}, Path.of("x"), ARENA.allocate(16));
        assertThatThrownBy(() -> WeightSource.of(ints)).isInstanceOf(CheckpointException.class).hasMessageContaining("ids: dtype I32");
        TensorInfo a = tensor("a", DType.BF16, 4, 8, 1);
        TensorInfo b = tensor("b", DType.BF16, 4, 9, 1);
        assertThatThrownBy(() -> WeightSource.gated(a, b)).isInstanceOf(CheckpointException.class).hasMessageContaining("same shape");
        CpuMatrix m = CpuMatrix.pack(WeightSource.of(a), WeightFormat.BF16, ARENA, TEAM);
        assertThatThrownBy(() -> m.matmul(TEAM, new float[7], 1, new float[4], 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("need 8 floats");
        assertThatThrownBy(() -> m.matmul(TEAM, new float[16], 2, new float[6], 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not fit");
        assertThatThrownBy(() -> m.row(4, new float[8], 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
