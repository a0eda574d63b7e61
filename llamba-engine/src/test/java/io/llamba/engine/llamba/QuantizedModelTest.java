package io.llamba.engine.llamba;

import io.llamba.engine.bench.QuantizationQuality;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.Quantization;
import io.llamba.engine.model.RandomCheckpoint;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A random Llamba loaded with each quantization: close to the BF16 model, and, like every format, the
 * same logits whether a sequence is prefilled at once, decoded token by token or batched with others.
 */
class QuantizedModelTest {
    static Path dir;

    @BeforeAll
    static void write(@TempDir Path tmp) throws Exception {
        // Dimensions that are whole blocks of 32 (d_model, intermediate) and some that are not (vocab, in_proj rows).
        String config = """
                {"model_type": "llamba", "vocab_size": 301, "d_model": 96, "n_layer": 2, "tie_embeddings": true,
                 "mlp_cfg": {"intermediate_size": 192}, "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 2}}""";
        dir = tmp.resolve("m");
        RandomCheckpoint.write(Json.parseObject(config, "config"), DType.BF16, dir, 5, Long.MAX_VALUE);
    }

    static int[] prompt(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(301);
        }
        return ids;
    }

    @ParameterizedTest
    @EnumSource(Quantization.class)
    void prefillDecodeAndBatchesGiveTheSameLogits(Quantization q) {
        try (Model model = ModelLoader.load(dir, new LoadOptions(null, 2, q)); StatePool pool = model.createStatePool(4)) {
            assertThat(model.info().details().get("weight_format")).isEqualTo(q == Quantization.NONE ? "bf16" : q.label());
            int v = model.vocabSize();
            int[] ids = prompt(40, 1);
            float[] prefill = new float[ids.length * v];
            SequenceState a = pool.tryAcquire().orElseThrow();
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(a, ids, 0, ids.length, prefill, true)));
            pool.release(a);

            SequenceState b = pool.tryAcquire().orElseThrow();
            SequenceState other1 = pool.tryAcquire().orElseThrow();
            SequenceState other2 = pool.tryAcquire().orElseThrow();
            int[] noise = prompt(60, 2);
            float[] step = new float[v];
            for (int i = 0; i < ids.length; i++) {
                ForwardBatch batch = new ForwardBatch();
                // Other sequences around it, with prompt chunks of varying length, on some steps only.
                if (i % 3 == 0) {
                    batch.add(new ForwardBatch.Entry(other1, noise, i % 50, 1 + i % 9, new float[v], false));
                }
                batch.add(new ForwardBatch.Entry(b, ids, i, 1, step, false));
                if (i % 2 == 0) {
                    batch.add(new ForwardBatch.Entry(other2, noise, i % 40, 1, new float[v], false));
                }
                model.forward(batch);
                for (int k = 0; k < v; k++) {
                    assertThat(step[k]).as("%s position %d id %d", q, i, k).isEqualTo(prefill[i * v + k]);
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void quantizedLogitsStayCloseToTheReference() {
        int[] ids = prompt(12, 3);
        QuantizationQuality.Reference ref;
        try (Model model = ModelLoader.load(dir, new LoadOptions(null, 2))) {
            ref = QuantizationQuality.reference(model, ids, 24);
        }
        QuantizationQuality.Comparison q8;
        QuantizationQuality.Comparison q4;
        try (Model model = ModelLoader.load(dir, new LoadOptions(null, 2, Quantization.Q8_0))) {
            q8 = QuantizationQuality.compare(model, ref);
        }
        try (Model model = ModelLoader.load(dir, new LoadOptions(null, 2, Quantization.Q4_0))) {
            q4 = QuantizationQuality.compare(model, ref);
        }
        // Uniform random weights are the hard case for 4 bits (no outliers, the whole range used):
        // relative to the logits' scale, 8-bit stays within a few percent, 4-bit well within one half.
        assertThat(q8.maxAbsDelta()).as("q8_0 max |Δlogit| vs max |logit| %f", q8.maxAbsLogit()).isLessThan(0.05 * q8.maxAbsLogit());
        assertThat(q4.maxAbsDelta()).as("q4_0 max |Δlogit| vs max |logit| %f", q4.maxAbsLogit()).isLessThan(0.5 * q4.maxAbsLogit());
        assertThat(q4.meanAbsDelta()).as("4 bits err more than 8").isGreaterThan(3 * q8.meanAbsDelta());
        assertThat(q8.meanAbsDelta()).isGreaterThan(0).isLessThan(q8.maxAbsDelta());
        assertThat(q8.agreement()).isGreaterThanOrEqualTo(0.9);
        assertThat(q4.agreement()).isBetween(0.0, 1.0);
        assertThat(q8.positions()).isEqualTo(24);
        assertThat(q8.freeRunPrefix()).isBetween(0, 24);
    }

    @org.junit.jupiter.api.Test
    void quantizedWeightsAreTheCpuBackends() throws Exception {
        // auto picks the CPU for quantized weights (the CUDA backend has none), even where CUDA would run.
        assertThat(new LoadOptions(io.llamba.engine.model.BackendKind.AUTO, 2, Quantization.Q8_0).backendToTry())
                .isEqualTo(io.llamba.engine.model.BackendKind.CPU);
        assertThat(new LoadOptions(io.llamba.engine.model.BackendKind.AUTO, 2).backendToTry())
                .isEqualTo(io.llamba.engine.model.BackendKind.AUTO);
        try (Model model = ModelLoader.load(dir, new LoadOptions(io.llamba.engine.model.BackendKind.AUTO, 2, Quantization.Q4_0))) {
            assertThat(model.info().details()).containsEntry("weight_format", "q4_0");
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> ModelLoader.load(dir, new LoadOptions(io.llamba.engine.model.BackendKind.CUDA, 2, Quantization.Q8_0)))
                .isInstanceOf(io.llamba.engine.model.ModelException.class)
                .hasMessageContaining("quantization q8_0 is for the CPU backend");
    }
}
