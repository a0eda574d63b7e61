package io.llamba.engine.llama;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.Quantization;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.testing.LlamaFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The Llama plugin takes --quantize like Llamba: its matrices packed as Q8_0 or Q4_0, logits close to the checkpoint's. */
class LlamaQuantizedTest {
    private static float[] logits(Quantization q, int[] ids) {
        try (Model model = ModelLoader.load(LlamaFixtures.dir("gqa-f32"), new LoadOptions(null, 2, q));
             StatePool pool = model.createStatePool(1)) {
            assertThat(model.info().details()).containsEntry("weight_format", q == Quantization.NONE ? "f32" : q.name().toLowerCase());
            SequenceState s = pool.tryAcquire().orElseThrow();
            float[] out = new float[ids.length * model.vocabSize()];
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, ids, 0, ids.length, out, true)));
            return out;
        }
    }

    @ParameterizedTest
    @EnumSource(value = Quantization.class, names = {"Q8_0", "Q4_0"})
    void quantizedLogitsStayCloseToTheCheckpoints(Quantization q) {
        int[] ids = {1, 5, 9, 2, 7, 3, 11, 4};
        float[] ref = logits(Quantization.NONE, ids);
        float[] got = logits(q, ids);
        double max = 0;
        double maxDelta = 0;
        for (int i = 0; i < ref.length; i++) {
            max = Math.max(max, Math.abs(ref[i]));
            maxDelta = Math.max(maxDelta, Math.abs(ref[i] - got[i]));
        }
        // As QuantizedModelTest bounds Llamba's: 8 bits within a few percent of the logits' scale, 4 within one half.
        assertThat(maxDelta).as("%s max |Δlogit| against max |logit| %f", q, max).isGreaterThan(0)
                .isLessThan((q == Quantization.Q8_0 ? 0.05 : 0.5) * max);
    }
}
