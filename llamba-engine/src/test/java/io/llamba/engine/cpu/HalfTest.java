package io.llamba.engine.cpu;

import io.llamba.engine.checkpoint.Floats;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;

class HalfTest {
    /** Every finite half, subnormals and both zeros included, widens to exactly Float.float16ToFloat's value. */
    @Test
    void everyFiniteHalfWidensExactly() {
        int finite = 2 * 0x7c00; // exponent 31 (infinities, NaN) is F16Matrix's extra step
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(2L * finite, 64);
            for (int k = 0; k < finite; k++) {
                int bits = k < 0x7c00 ? k : 0x8000 | (k - 0x7c00);
                seg.setAtIndex(Floats.U16, k, (short) bits);
            }
            float[] out = new float[finite];
            Half.toFloats(seg, 0, out, 0, finite);
            for (int k = 0; k < finite; k++) {
                short h = seg.getAtIndex(Floats.U16, k);
                assertThat(Float.floatToRawIntBits(out[k])).as("half 0x%04x", h & 0xffff)
                        .isEqualTo(Float.floatToRawIntBits(Float.float16ToFloat(h)));
            }
        }
    }

    /** The strided form used for a block's scales: runs placed back to back, tails done in scalar. */
    @Test
    void runsAreWidenedBackToBack() {
        int n = CpuMatrix.TILE + 3;
        long stride = 2L * n + 10;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(stride * 3, 64);
            for (int r = 0; r < 3; r++) {
                for (int i = 0; i < n; i++) {
                    seg.set(Floats.U16, r * stride + 2L * i, Float.floatToFloat16((r + 1) * 1e-6f * (i - 7)));
                }
            }
            float[] out = new float[3 * n + 1];
            out[3 * n] = 42f;
            Half.toFloats(seg, 0, stride, 3, n, out, 0);
            for (int r = 0; r < 3; r++) {
                for (int i = 0; i < n; i++) {
                    assertThat(out[r * n + i]).isEqualTo(Float.float16ToFloat(seg.get(Floats.U16, r * stride + 2L * i)));
                }
            }
            assertThat(out[3 * n]).isEqualTo(42f);
        }
    }
}
