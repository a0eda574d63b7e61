package io.llamba.engine.cuda;

import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.testing.Fixtures;
import io.llamba.engine.testing.LlamaFixtures;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Backend choice where CUDA cannot run (CI, laptops, this build machine): the probe reports why
 * instead of failing, auto falls back to the CPU, and asking for cuda fails with that reason.
 */
class CudaBackendSelectionTest {
    @Test
    void probeNeverThrowsAndExplainsItself() {
        CudaAvailability.Status s = CudaAvailability.probe();
        assertThat(s).isSameAs(CudaAvailability.probe());
        if (s.available()) {
            assertThat(s.devices()).isPositive();
            assertThat(s.device()).isNotBlank();
        } else {
            assertThat(s.reason()).isNotBlank();
        }
    }

    @Test
    void withoutCudaAutoRunsOnTheCpuAndCudaFailsClearly() {
        CudaAvailability.Status s = CudaAvailability.probe();
        Assumptions.assumeFalse(s.available(), "a CUDA device is usable here");
        try (Model m = ModelLoader.load(Fixtures.dir("base-f32"), new LoadOptions(BackendKind.AUTO, 1))) {
            assertThat(m.info().backend()).isEqualTo("cpu");
        }
        assertThatThrownBy(() -> ModelLoader.load(Fixtures.dir("base-f32"), new LoadOptions(BackendKind.CUDA, 1)))
                .isInstanceOf(ModelException.class)
                .hasMessageContaining("backend cuda was asked for")
                .hasMessageContaining(s.reason());
        // The Llama plugin chooses the same way.
        try (Model m = ModelLoader.load(LlamaFixtures.dir("gqa-f32"), new LoadOptions(BackendKind.AUTO, 1))) {
            assertThat(m.info().backend()).isEqualTo("cpu");
        }
        assertThatThrownBy(() -> ModelLoader.load(LlamaFixtures.dir("gqa-f32"), new LoadOptions(BackendKind.CUDA, 1)))
                .isInstanceOf(ModelException.class)
                .hasMessageContaining("backend cuda was asked for")
                .hasMessageContaining(s.reason());
    }

    @Test
    void deviceFormatsAreF32OrBf16() {
        assertThatThrownBy(() -> new LoadOptions(BackendKind.CUDA, 0, io.llamba.engine.checkpoint.DType.F16, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("F32 or BF16");
        assertThat(new LoadOptions(BackendKind.CPU, 2)).isEqualTo(new LoadOptions(BackendKind.CPU, 2, null, null));
    }
}
