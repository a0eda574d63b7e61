package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The CUDA model's kernels and launch sequence, run on the CPU kernel emulator (needs g++; skipped
 * without it): every fixture against the numpy reference in prefill, decode (CUDA graphs) and
 * mixed ragged batches; the device sampler; states; errors; the engine's device-sampling path.
 * The same checks run on a real GPU in {@link CudaGpuTest}.
 */
class EmulatedCudaModelTest {
    /** F32 weights compute in F32 throughout: as tight as the CPU backend's check. */
    static final double F32_TOLERANCE = 1e-4;
    /** BF16 weights: activations are rounded to BF16 before every product (measured ≤ 1.3e-2 here, ≤ 1.4e-2 on an H200). */
    static final double BF16_TOLERANCE = 3e-2;
    /** BF16 state, rounded after every decode step (measured ≤ 3.5e-2 here and on an H200). */
    static final double BF16_STATE_TOLERANCE = 6e-2;

    static EmulatedDevice dev;

    @BeforeAll
    static void emulator() {
        Assumptions.assumeTrue(EmulatedDevice.library() != null, () -> "kernel emulator unavailable: " + EmulatedDevice.unavailableReason());
        dev = new EmulatedDevice(2);
    }

    @AfterAll
    static void close() {
        if (dev != null) {
            dev.close();
        }
    }

    static List<String> fixtures() {
        return Fixtures.names();
    }

    static CudaFixtureCheck.Case longest(String fixture) {
        return CudaFixtureCheck.cases(Fixtures.expected(fixture)).stream().max(java.util.Comparator.comparingInt(c -> c.ids().length)).orElseThrow();
    }

    static double tolerance(LlambaCudaModel m) {
        return m.weightType() == DType.BF16 ? BF16_TOLERANCE : F32_TOLERANCE;
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void fixtureLogitsMatchTheReference(String name) {
        try (LlambaCudaModel m = CudaFixtureCheck.load(name, dev, null, DType.F32, true)) {
            double tol = tolerance(m);
            for (CudaFixtureCheck.Worst w : List.of(CudaFixtureCheck.prefill(name, m), CudaFixtureCheck.steps(name, m), CudaFixtureCheck.mixed(name, m))) {
                assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(tol);
            }
        }
    }

    @Test
    void bf16WeightsWidenedToF32OnUploadAreExact() {
        try (LlambaCudaModel m = CudaFixtureCheck.load("grouped-bf16", dev, DType.F32, DType.F32, true)) {
            CudaFixtureCheck.Worst w = CudaFixtureCheck.mixed("grouped-bf16", m);
            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(F32_TOLERANCE);
        }
    }

    @Test
    void f32WeightsNarrowedToBf16StayWithinTheBf16Tolerance() {
        try (LlambaCudaModel m = CudaFixtureCheck.load("bias-f32", dev, DType.BF16, DType.F32, true)) {
            CudaFixtureCheck.Worst w = CudaFixtureCheck.mixed("bias-f32", m);
            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(BF16_TOLERANCE).isGreaterThan(F32_TOLERANCE);
        }
    }

    @Test
    void bf16StateStaysWithinItsTolerance() {
        try (LlambaCudaModel m = CudaFixtureCheck.load("base-f32", dev, null, DType.BF16, true)) {
            for (CudaFixtureCheck.Worst w : List.of(CudaFixtureCheck.steps("base-f32", m), CudaFixtureCheck.mixed("base-f32", m))) {
                assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(BF16_STATE_TOLERANCE);
            }
        }
    }

    /** A replayed graph runs the same kernels on the same data: the same bits as launching them one by one. */
    @Test
    void graphReplayEqualsDirectLaunches() {
        CudaFixtureCheck.Case c = longest("grouped-bf16");
        float[][] out = new float[2][];
        for (int g = 0; g < 2; g++) {
            boolean graphs = g == 1;
            try (LlambaCudaModel m = CudaFixtureCheck.load("grouped-bf16", dev, null, DType.F32, graphs)) {
                out[g] = CudaModelRuns.logitsAtEveryPosition(m, c.ids());
            }
        }
        assertThat(out[1]).isEqualTo(out[0]);
    }

    /**
     * Batch-1 decode through every layer in one kernel (here one launch per step of it, the emulator's
     * blocks running one after another) gives the same bits as five launches per layer: the same
     * device functions with the same K splits. Every fixture, both state formats (the bias fixture
     * takes the separate launches either way).
     */
    @ParameterizedTest
    @MethodSource("fixtures")
    void layersInOneLaunchEqualTheSeparateLaunches(String name) {
        int[] ids = longest(name).ids();
        for (DType state : List.of(DType.F32, DType.BF16)) {
            float[][] out = new float[2][];
            for (int k = 0; k < 2; k++) {
                try (LlambaCudaModel m = CudaFixtureCheck.load(name, dev, null, state, true)) {
                    m.setLayersInOneLaunch(k == 1);
                    if (k == 1 && !name.startsWith("bias")) {
                        assertThat(m.layersInOneLaunch(1)).isTrue();
                    }
                    out[k] = CudaModelRuns.logitsAtEveryPosition(m, ids);
                }
            }
            assertThat(out[1]).as(name + ", state " + state).isEqualTo(out[0]);
        }
    }

    /**
     * Decode passes through the split mixer step (conv then a block per head, or the conv fused into
     * the per-head kernel, pipelined over items or one item per block), as two halves on two
     * streams, and the K-split GEMV.
     */
    @Test
    void splitDecodeStepAndGemvVariantsMatchTheReference() {
        for (String name : List.of("base-f32", "grouped-bf16")) {
            for (DType state : List.of(DType.F32, DType.BF16)) {
                for (int variant = 0; variant < 3; variant++) {
                try (LlambaCudaModel m = CudaFixtureCheck.load(name, dev, null, state, true)) {
                    m.tune(4, 256, 1, 4, 1);
                    // 0: one stream; 1: two halves on two streams; 2: one stream, the fused step one item per block.
                    boolean twoStreams = variant == 1;
                    m.setDecodeOverlap(twoStreams ? 2 : 0, twoStreams ? 3 : 0, variant == 2 || twoStreams == (state == DType.F32));
                    m.setPipelineItems(variant == 2 ? 0 : 8);
                    double tol = state == DType.BF16 ? BF16_STATE_TOLERANCE : tolerance(m);
                    for (CudaFixtureCheck.Worst w : List.of(CudaFixtureCheck.steps(name, m), CudaFixtureCheck.mixed(name, m))) {
                        assertThat(w.relative()).as(m.tuning() + ", state " + state + ": " + w.where()).isLessThanOrEqualTo(tol);
                    }
                }
                }
            }
        }
    }

    /**
     * The fused per-head step pipelined over runs of (sequence, head) items (3, so that runs end
     * inside a sequence's heads, and 8) gives the same bits as one item per block: the same
     * arithmetic, item by item.
     */
    @Test
    void pipelinedHeadStepEqualsOneItemPerBlock() {
        for (String name : List.of("base-f32", "base-bf16")) {
            int[] ids = longest(name).ids();
            for (DType state : List.of(DType.F32, DType.BF16)) {
                float[][] out = new float[3][];
                int[] runs = {0, 3, 8};
                for (int k = 0; k < 3; k++) {
                    try (LlambaCudaModel m = CudaFixtureCheck.load(name, dev, null, state, true)) {
                        m.tune(4, 256, 1, 4, 1);
                        m.setPipelineItems(runs[k]);
                        assertThat(m.tuning()).contains(k > 0 ? "(conv fused, pipelined over " + runs[k] + " items)" : "(conv fused)");
                        out[k] = CudaModelRuns.logitsAtEveryPosition(m, ids);
                    }
                }
                for (int k = 1; k < 3; k++) {
                    assertThat(java.util.Arrays.equals(out[k], out[0])).as(name + ", state " + state + ", runs of " + runs[k] + ": the same logits").isTrue();
                }
            }
        }
    }

    @Test
    void greedyPicksAreTheArgmaxOfTheLogits() {
        CudaFixtureCheck.Case c = longest("base-bf16");
        try (LlambaCudaModel m = CudaFixtureCheck.load("base-bf16", dev, null, DType.F32, true)) {
            CudaModelRuns.greedyPicksAreTheArgmax(m, c.ids(), c.ids().length);
        }
    }

    /** The benchmark's decode loop and graph replay timing, at a padded batch (3 → bucket 4) and above the GEMV rows (6 → 8). */
    @Test
    void benchmarkDecodeLoopRuns() {
        try (LlambaCudaModel m = CudaFixtureCheck.load("grouped-bf16", dev, null, DType.F32, true); StatePool pool = m.createStatePool(6)) {
            assertThat(GpuBenchmark.decode(m, pool, 3, 4)).isPositive();
            assertThat(m.replayMillis(3, 1)).isGreaterThanOrEqualTo(0f);
            assertThat(GpuBenchmark.decode(m, pool, 6, 2)).isPositive();
            assertThatThrownBy(() -> m.replayMillis(3, 1)).isInstanceOf(IllegalStateException.class);
            assertThat(pool.inUse()).isZero();
        }
    }

    @Test
    void samplingKernel() {
        SamplingKernelCheck.greedyPicksTheFirstLargest(dev);
        SamplingKernelCheck.seedAndStepFixTheDraw(dev);
        SamplingKernelCheck.topKFollowsTheSoftmaxOfTheBest(dev, 1500, 0.05);
        SamplingKernelCheck.topPKeepsTheSmallestHead(dev, 1500, 0.05);
        SamplingKernelCheck.minPDropsTheUnlikely(dev, 1500, 0.05);
    }

    @Test
    void snapshotAndRestoreResumeExactly() {
        CudaFixtureCheck.Case c = longest("base-f32");
        try (LlambaCudaModel m = CudaFixtureCheck.load("base-f32", dev, null, DType.F32, true); StatePool pool = m.createStatePool(2)) {
            int v = m.vocabSize();
            SequenceState s = pool.tryAcquire().orElseThrow();
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, c.ids(), 0, 10, null, false)));
            StateSnapshot snap = s.snapshot();
            assertThat(snap.position()).isEqualTo(10);
            float[] first = new float[v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, c.ids(), 10, 5, first, false)));
            SequenceState other = pool.tryAcquire().orElseThrow();
            other.restore(snap);
            float[] again = new float[v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(other, c.ids(), 10, 5, again, false)));
            assertThat(again).isEqualTo(first);
            assertThat(other.position()).isEqualTo(15);
            // A reset state reads as empty: the same logits as a fresh prefill.
            s.reset();
            float[] fresh = new float[v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, c.ids(), 0, 3, fresh, false)));
            CudaFixtureCheck.Worst w = CudaFixtureCheck.compare("after reset", c.logits()[2], fresh, 0);
            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(F32_TOLERANCE);
        }
    }

    @Test
    void badInputIsRejectedWithAClearError() {
        try (LlambaCudaModel m = CudaFixtureCheck.load("base-f32", dev, null, DType.F32, true);
             LlambaCudaModel other = CudaFixtureCheck.load("base-f32", dev, null, DType.F32, true);
             StatePool pool = m.createStatePool(1); StatePool otherPool = other.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            assertThat(pool.tryAcquire()).isEmpty();
            SequenceState foreign = otherPool.tryAcquire().orElseThrow();
            int v = m.vocabSize();
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(foreign, new int[]{1}, null)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a CUDA state of this model");
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(s, new int[]{v}, null)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(s, new int[]{1}, new float[v - 1])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("logits buffer");
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(s, new int[]{1}, null).add(s, new int[]{2}, null)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
            SamplingParams penalised = SamplingParams.builder().repetitionPenalty(1.2).build();
            assertThat(m.supportsDeviceSampling(penalised)).isFalse();
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(s, new int[]{1}, null), new TokenPick[]{new TokenPick(penalised, 1, 0)}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("penalties");
            assertThat(s.position()).as("rejected batches change nothing").isZero();
            pool.release(s);
            assertThatThrownBy(() -> pool.release(s)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> m.createStatePool(0)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** The demo model's first two held-out prompts, 12 greedy tokens, on the emulated GPU with F32 weights: the CPU's tokens. */
    @Test
    void demoModelGreedyRepliesMatchTheCpuBackend() throws Exception {
        var tok = DemoModelCheck.tokenizer();
        List<int[]> prompts = DemoModelCheck.prompts(tok, 2);
        int[][] cpu;
        try (Model m = ModelLoader.load(DemoModelCheck.dir(), new LoadOptions(io.llamba.engine.model.BackendKind.CPU, 1))) {
            cpu = DemoModelCheck.greedy(m, tok, prompts, 12);
        }
        var json = ModelLoader.readConfig(DemoModelCheck.dir());
        try (LlambaCudaModel m = new LlambaCudaModel("demo", json, dev, false, DType.F32, DType.F32,
                io.llamba.engine.checkpoint.Checkpoint.open(DemoModelCheck.dir()), 0, true)) {
            assertThat(DemoModelCheck.greedy(m, tok, prompts, 12)).isEqualTo(cpu);
        }
    }

    /**
     * The engine through the device-sampling branch: greedy output equals the CPU backend's on the
     * same F32 checkpoint, and a seeded sampled request repeats exactly.
     */
    @Test
    void engineOnTheCudaModelMatchesTheCpuBackend() throws Exception {
        int[] prompt = CudaFixtureCheck.cases(Fixtures.expected("base-f32")).get(0).ids();
        GenerationRequest greedy = GenerationRequest.builder(prompt).sampling(SamplingParams.GREEDY).maxTokens(12).build();
        GenerationRequest sampled = GenerationRequest.builder(prompt).maxTokens(12)
                .sampling(SamplingParams.builder().temperature(0.9).topK(20).topP(0.95).seed(5L).build()).build();
        int[] cpu;
        try (Model m = ModelLoader.load(Fixtures.dir("base-f32"), new LoadOptions(null, 1).withBackend(io.llamba.engine.model.BackendKind.CPU));
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults())) {
            cpu = e.generate(greedy).tokens();
        }
        try (LlambaCudaModel m = CudaFixtureCheck.load("base-f32", dev, null, DType.F32, true);
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults())) {
            GenerationResult g = e.generate(greedy);
            assertThat(g.tokens()).isEqualTo(cpu);
            int[] first = e.generate(sampled).tokens();
            int[] second = e.generate(sampled).tokens();
            assertThat(second).isEqualTo(first);
        }
    }
}
