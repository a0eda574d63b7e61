package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.RandomCheckpoint;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.LlamaFixtures;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CUDA Llama model on a real GPU (tag "gpu"; runs only where {@link CudaAvailability} finds a
 * usable device): the transformers fixtures with every weight and cache format, graph replay, a
 * random Llama-3.2-1B-shaped checkpoint against the CPU backend, the two attention kernels against
 * each other at a long context, and the engine. Prints the measured errors, which docs/gpu-tests.md
 * records. Tolerances are the emulator's ({@link EmulatedLlamaCudaTest}).
 */
@Tag("gpu")
@EnabledIf("cudaUsable")
class LlamaCudaGpuTest extends OnCudaDevice {

    static List<String> fixtures() {
        return LlamaFixtures.names();
    }

    static JsonObject preset(String name) {
        try (InputStream in = LlamaCudaGpuTest.class.getResourceAsStream("/io/llamba/engine/llama/presets/" + name + ".json")) {
            return Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8), name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void fixtureLogitsMatchTransformers(String name) {
        DType[][] formats = {{null, null}, {DType.F32, DType.F32}, {DType.F32, DType.BF16}, {DType.BF16, DType.BF16}};
        for (DType[] f : formats) {
            try (LlamaCudaModel m = LlamaCudaCheck.load(name, dev, f[0], f[1], true)) {
                double tol = EmulatedLlamaCudaTest.tolerance(m, name);
                CudaFixtureCheck.Worst p = LlamaCudaCheck.prefill(name, m);
                CudaFixtureCheck.Worst s = LlamaCudaCheck.steps(name, m);
                CudaFixtureCheck.Worst x = LlamaCudaCheck.mixed(name, m);
                System.out.printf("[gpu] llama fixture %-18s weights %-4s cache %-4s max |Δ|/max|logit|: prefill %.2e, step %.2e, mixed %.2e (tolerance %.0e)%n",
                        name, m.weightType(), m.kvType(), p.relative(), s.relative(), x.relative(), tol);
                for (CudaFixtureCheck.Worst w : List.of(p, s, x)) {
                    assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(tol);
                }
            }
        }
    }

    @Test
    void graphReplayEqualsDirectLaunches() {
        LlamaCudaCheck.Case c = LlamaCudaCheck.cases("gqa-bf16").get(2);
        float[][] out = new float[2][];
        for (int g = 0; g < 2; g++) {
            boolean graphs = g == 1;
            try (LlamaCudaModel m = LlamaCudaCheck.load("gqa-bf16", dev, null, null, graphs)) {
                out[g] = CudaModelRuns.logitsAtEveryPosition(m, c.ids());
            }
        }
        assertThat(out[1]).isEqualTo(out[0]);
    }

    /**
     * A random checkpoint of the Llama-3.2-1B shape, on the GPU and on the CPU backend: a 300-token
     * prompt in 256-token chunks with logits at every position, then 12 greedy steps. F32 weights
     * and cache on the GPU (the BF16 checkpoint widened exactly) must pick the CPU's tokens; BF16
     * weights and cache stay close.
     */
    @Test
    void llama1bShapedCheckpointMatchesTheCpuBackend(@TempDir Path dir) throws Exception {
        RandomCheckpoint.write(preset("llama-3.2-1b"), DType.BF16, dir, 1, 4L << 30);
        int[] prompt = new SplittableRandom(3).ints(300, 0, 128000).toArray();
        int steps = 12;
        LlamaCudaCheck.Run cpu;
        try (Model m = ModelLoader.load(dir, new LoadOptions(BackendKind.CPU, 0))) {
            cpu = LlamaCudaCheck.run(m, prompt, 256, steps);
        }
        for (DType w : new DType[]{DType.F32, DType.BF16}) {
            LlamaCudaCheck.Run gpu;
            try (Model m = ModelLoader.load(dir, new LoadOptions(BackendKind.CUDA, 0, w, w))) {
                assertThat(m).isInstanceOf(LlamaCudaModel.class);
                gpu = LlamaCudaCheck.run(m, prompt, 256, steps);
            }
            CudaFixtureCheck.Worst worst = LlamaCudaCheck.compare("weights and cache " + w, cpu, gpu);
            int same = 0;
            while (same < steps && gpu.tokens()[same] == cpu.tokens()[same]) {
                same++;
            }
            System.out.printf("[gpu] Llama-3.2-1B-shaped BF16 checkpoint, GPU weights and KV cache %s vs CPU: max |Δ|/max|logit| %.2e over %d"
                    + " logit rows (%s); greedy tokens equal for %d of %d steps%n", w, worst.relative(), cpu.logits().length, worst.where(),
                    same, steps);
            if (w == DType.F32) {
                assertThat(worst.relative()).isLessThanOrEqualTo(1e-3);
                assertThat(gpu.tokens()).isEqualTo(cpu.tokens());
            } else {
                assertThat(worst.relative()).isLessThanOrEqualTo(EmulatedLlamaCudaTest.BF16_TOLERANCE);
            }
        }
    }

    /**
     * At 16k tokens of context the two attention kernels meet: after the same prefix of n-41 tokens,
     * the logits of token n-1 come once from a 41-token prompt chunk (its last tile row; keys split
     * over blocks) and once from a 40-token chunk then a decode step (keys split over 64 blocks), on
     * the Llama-3.2-1B shape with random weights made on the device.
     */
    @Test
    void prefillAndDecodeKernelsAgreeAtALongContext() {
        int n = 16384;
        int[] prompt = new SplittableRandom(5).ints(n, 0, 128000).toArray();
        for (DType f : new DType[]{DType.F32, DType.BF16}) {
            try (LlamaCudaModel m = LlamaCudaModel.random("llama-3.2-1b", preset("llama-3.2-1b"), dev, f, f, 9);
                 StatePool pool = m.createStatePool(2, n)) {
                float[][] both = CudaModelRuns.lastLogitsChunkedAndDecoded(m, pool, prompt);
                float[] tiled = both[0], decoded = both[1];
                CudaFixtureCheck.Worst w = CudaFixtureCheck.compare("position " + (n - 1), tiled, decoded, 0);
                System.out.printf("[gpu] Llama-3.2-1B shape, weights and cache %s, %d-token context: decode kernel vs prompt-tile kernel"
                        + " max |Δ|/max|logit| %.2e%n", f, n, w.relative());
                assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(f == DType.F32 ? 1e-4 : EmulatedLlamaCudaTest.BF16_TOLERANCE);
            }
        }
    }

    /** The engine's device-sampling path on the GPU: greedy equals the CPU backend; a seed repeats. */
    @Test
    void engineOnTheGpuMatchesTheCpuBackend() throws Exception {
        int[] prompt = LlamaCudaCheck.cases("gqa-f32").get(2).ids();
        GenerationRequest greedy = GenerationRequest.builder(prompt).sampling(SamplingParams.GREEDY).maxTokens(24).build();
        GenerationRequest sampled = GenerationRequest.builder(prompt).maxTokens(24)
                .sampling(SamplingParams.builder().temperature(0.9).topK(20).topP(0.95).seed(5L).build()).build();
        int[] cpu;
        try (Model m = ModelLoader.load(LlamaFixtures.dir("gqa-f32"), new LoadOptions(BackendKind.CPU, 1));
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults())) {
            cpu = e.generate(greedy).tokens();
        }
        try (Model m = ModelLoader.load(LlamaFixtures.dir("gqa-f32"), new LoadOptions(BackendKind.CUDA, 0));
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults())) {
            assertThat(m).isInstanceOf(LlamaCudaModel.class);
            assertThat(e.generate(greedy).tokens()).isEqualTo(cpu);
            assertThat(e.generate(sampled).tokens()).isEqualTo(e.generate(sampled).tokens());
        }
    }
}
