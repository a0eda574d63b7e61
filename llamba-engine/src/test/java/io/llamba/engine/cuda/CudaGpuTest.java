package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.RandomCheckpoint;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.sampling.Sampler;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.Fixtures;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CUDA backend on a real GPU (tag "gpu"; runs only where {@link CudaAvailability} finds a
 * usable device): the reference fixtures, the device sampler, CUDA graphs, a random
 * Llamba-1B-shaped checkpoint against the CPU backend, and the engine. Prints the measured
 * errors, which docs/gpu-tests.md records.
 */
@Tag("gpu")
@EnabledIf("cudaUsable")
class CudaGpuTest extends OnCudaDevice {

    static List<String> fixtures() {
        return Fixtures.names();
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void fixtureLogitsMatchTheReference(String name) {
        for (DType state : new DType[]{DType.F32, DType.BF16}) {
            try (LlambaCudaModel m = CudaFixtureCheck.load(name, dev, null, state, true)) {
                double tol = state == DType.BF16 ? EmulatedCudaModelTest.BF16_STATE_TOLERANCE : EmulatedCudaModelTest.tolerance(m);
                CudaFixtureCheck.Worst p = CudaFixtureCheck.prefill(name, m);
                CudaFixtureCheck.Worst s = CudaFixtureCheck.steps(name, m);
                CudaFixtureCheck.Worst x = CudaFixtureCheck.mixed(name, m);
                System.out.printf("[gpu] fixture %-17s weights %-4s state %-4s max |Δ|/max|logit|: prefill %.2e, step %.2e, mixed %.2e (tolerance %.0e)%n",
                        name, m.weightType(), state, p.relative(), s.relative(), x.relative(), tol);
                for (CudaFixtureCheck.Worst w : List.of(p, s, x)) {
                    assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(tol);
                }
            }
        }
    }

    @Test
    void samplingKernel() {
        SamplingKernelCheck.greedyPicksTheFirstLargest(dev);
        SamplingKernelCheck.seedAndStepFixTheDraw(dev);
        SamplingKernelCheck.topKFollowsTheSoftmaxOfTheBest(dev, 40000, 0.01);
        SamplingKernelCheck.topPKeepsTheSmallestHead(dev, 40000, 0.01);
        SamplingKernelCheck.minPDropsTheUnlikely(dev, 40000, 0.01);
    }

    @Test
    void graphReplayEqualsDirectLaunches() {
        CudaFixtureCheck.Case c = EmulatedCudaModelTest.longest("grouped-bf16");
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
     * Batch-1 decode through every layer in one launch (grid barriers between the steps) gives the
     * same bits as five launches per layer, on every fixture without biases and both state formats.
     */
    @ParameterizedTest
    @MethodSource("fixtures")
    void layersInOneLaunchEqualTheSeparateLaunches(String name) {
        int[] ids = EmulatedCudaModelTest.longest(name).ids();
        for (DType state : new DType[]{DType.F32, DType.BF16}) {
            float[][] out = new float[2][];
            for (int k = 0; k < 2; k++) {
                try (LlambaCudaModel m = CudaFixtureCheck.load(name, dev, null, state, true)) {
                    m.setLayersInOneLaunch(k == 1);
                    out[k] = CudaModelRuns.logitsAtEveryPosition(m, ids);
                    if (k == 1) {
                        System.out.println("[gpu] fixture " + name + ", state " + state + ": " + m.tuning());
                    }
                }
            }
            assertThat(out[1]).as(name + ", state " + state).isEqualTo(out[0]);
        }
    }

    /**
     * The split decode step from one row on, the fused per-head step pipelined over runs of 3
     * (sequence, head) items, so that runs end inside a sequence's heads (fixtures whose heads share
     * qk groups take the separate conv instead): single-sequence steps and mixed batches against the
     * reference, and the same bits as one item per block.
     */
    @ParameterizedTest
    @MethodSource("fixtures")
    void pipelinedHeadStepMatchesTheReference(String name) {
        int[] ids = EmulatedCudaModelTest.longest(name).ids();
        for (DType state : new DType[]{DType.F32, DType.BF16}) {
            float[][] out = new float[2][];
            for (int k = 0; k < 2; k++) {
                try (LlambaCudaModel m = CudaFixtureCheck.load(name, dev, null, state, true)) {
                    m.tune(4, 256, 1, 4, 1);
                    m.setPipelineItems(k == 1 ? 3 : 0);
                    out[k] = CudaModelRuns.logitsAtEveryPosition(m, ids);
                    if (k == 1) {
                        double tol = state == DType.BF16 ? EmulatedCudaModelTest.BF16_STATE_TOLERANCE : EmulatedCudaModelTest.tolerance(m);
                        CudaFixtureCheck.Worst s = CudaFixtureCheck.steps(name, m);
                        CudaFixtureCheck.Worst x = CudaFixtureCheck.mixed(name, m);
                        System.out.printf("[gpu] fixture %-17s state %-4s, %s: step %.2e, mixed %.2e (tolerance %.0e)%n",
                                name, state, m.tuning(), s.relative(), x.relative(), tol);
                        for (CudaFixtureCheck.Worst w : List.of(s, x)) {
                            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(tol);
                        }
                    }
                }
            }
            float maxDiff = 0;
            for (int i = 0; i < out[0].length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(out[1][i] - out[0][i]));
            }
            System.out.printf("[gpu] fixture %-17s state %-4s: pipelined against one item per block, max |diff| %.3e%n", name, state, maxDiff);
            assertThat(java.util.Arrays.equals(out[1], out[0])).as(name + ", state " + state + ": the same logits").isTrue();
        }
    }

    /**
     * A random checkpoint of the real Llamba-1B shape, on the GPU and on the CPU backend: logits
     * of a 150-token prompt at every position (three scan chunks), then 12 greedy decode steps. F32 weights on the GPU
     * (the BF16 checkpoint widened exactly) must pick the CPU's tokens; BF16 weights stay close.
     */
    @Test
    void llamba1bShapedCheckpointMatchesTheCpuBackend(@TempDir Path dir) throws Exception {
        RandomCheckpoint.write(GpuBenchmark.preset("llamba-1b"), DType.BF16, dir, 1, 4L << 30);
        int[] prompt = new SplittableRandom(3).ints(150, 0, 128000).toArray();
        int steps = 12;
        Result cpu;
        try (Model m = ModelLoader.load(dir, new LoadOptions(BackendKind.CPU, 0))) {
            cpu = run(m, prompt, steps);
        }
        for (DType w : new DType[]{DType.F32, DType.BF16}) {
            Result gpu;
            try (Model m = ModelLoader.load(dir, new LoadOptions(BackendKind.CUDA, 0, w, DType.F32))) {
                assertThat(m.info().backend()).isEqualTo("cuda");
                gpu = run(m, prompt, steps);
            }
            double worst = 0;
            for (int r = 0; r < cpu.logits.length; r++) {
                worst = Math.max(worst, CudaFixtureCheck.compare("row " + r, cpu.logits[r], gpu.logits[r], 0).relative());
            }
            int same = 0;
            while (same < steps && gpu.tokens[same] == cpu.tokens[same]) {
                same++;
            }
            System.out.printf("[gpu] Llamba-1B-shaped BF16 checkpoint, GPU weights %s vs CPU: max |Δ|/max|logit| %.2e over %d logit rows;"
                    + " greedy tokens equal for %d of %d steps%n", w, worst, cpu.logits.length, same, steps);
            if (w == DType.F32) {
                assertThat(worst).isLessThanOrEqualTo(1e-3);
                assertThat(gpu.tokens).isEqualTo(cpu.tokens);
            } else {
                assertThat(worst).isLessThanOrEqualTo(EmulatedCudaModelTest.BF16_TOLERANCE);
            }
        }
    }

    record Result(float[][] logits, int[] tokens) {
    }

    /** Prefill logits at every position, then greedy steps (logits of each step kept too). */
    static Result run(Model m, int[] prompt, int steps) {
        int v = m.vocabSize();
        float[][] rows = new float[prompt.length + steps][];
        int[] tokens = new int[steps];
        try (StatePool pool = m.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            float[] all = new float[prompt.length * v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, prompt, 0, prompt.length, all, true)));
            for (int p = 0; p < prompt.length; p++) {
                rows[p] = java.util.Arrays.copyOfRange(all, p * v, (p + 1) * v);
            }
            float[] last = rows[prompt.length - 1];
            for (int k = 0; k < steps; k++) {
                tokens[k] = Sampler.argmax(last, v);
                float[] next = new float[v];
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, new int[]{tokens[k]}, 0, 1, next, false)));
                rows[prompt.length + k] = next;
                last = next;
            }
        }
        return new Result(rows, tokens);
    }

    /**
     * The bundled demo model (BF16 weights) on 20 held-out prompts, 48 greedy tokens each, all in
     * flight together: with the weights widened to F32 on the GPU every reply is the CPU backend's,
     * token for token; with BF16 weights (activations rounded to BF16) the count of identical replies
     * is reported.
     */
    @Test
    void demoModelGreedyRepliesMatchTheCpuBackend() throws Exception {
        var tok = DemoModelCheck.tokenizer();
        List<int[]> prompts = DemoModelCheck.prompts(tok, 20);
        int[][] cpu;
        try (Model m = ModelLoader.load(DemoModelCheck.dir(), new LoadOptions(BackendKind.CPU, 0))) {
            cpu = DemoModelCheck.greedy(m, tok, prompts, 48);
        }
        int[][] f32;
        try (Model m = ModelLoader.load(DemoModelCheck.dir(), new LoadOptions(BackendKind.CUDA, 0, DType.F32, null))) {
            f32 = DemoModelCheck.greedy(m, tok, prompts, 48);
        }
        int[][] bf16;
        try (Model m = ModelLoader.load(DemoModelCheck.dir(), new LoadOptions(BackendKind.CUDA, 0))) {
            assertThat(m.info().details().get("weight_dtype")).isEqualTo("BF16");
            bf16 = DemoModelCheck.greedy(m, tok, prompts, 48);
        }
        System.out.printf("[gpu] demo model, %d held-out prompts, greedy: GPU F32 weights identical to CPU for %d, GPU BF16 weights for %d%n",
                prompts.size(), DemoModelCheck.identical(cpu, f32), DemoModelCheck.identical(cpu, bf16));
        assertThat(f32).isEqualTo(cpu);
    }

    /** The engine's device-sampling path on the GPU: greedy equals the CPU backend; a seed repeats. */
    @Test
    void engineOnTheGpuMatchesTheCpuBackend() throws Exception {
        int[] prompt = EmulatedCudaModelTest.longest("base-f32").ids();
        GenerationRequest greedy = GenerationRequest.builder(prompt).sampling(SamplingParams.GREEDY).maxTokens(24).build();
        GenerationRequest sampled = GenerationRequest.builder(prompt).maxTokens(24)
                .sampling(SamplingParams.builder().temperature(0.9).topK(20).topP(0.95).seed(5L).build()).build();
        int[] cpu;
        try (Model m = ModelLoader.load(Fixtures.dir("base-f32"), new LoadOptions(BackendKind.CPU, 1));
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults())) {
            cpu = e.generate(greedy).tokens();
        }
        try (Model m = ModelLoader.load(Fixtures.dir("base-f32"), new LoadOptions(BackendKind.CUDA, 0));
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults())) {
            assertThat(m).isInstanceOf(LlambaCudaModel.class);
            assertThat(e.generate(greedy).tokens()).isEqualTo(cpu);
            assertThat(e.generate(sampled).tokens()).isEqualTo(e.generate(sampled).tokens());
        }
    }
}
