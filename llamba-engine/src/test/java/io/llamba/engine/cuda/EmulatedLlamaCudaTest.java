package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.RandomCheckpoint;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.LlamaFixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The CUDA Llama model's kernels and launch sequence on the CPU kernel emulator (needs g++; skipped
 * without it): every transformers fixture in prefill, decode (CUDA graphs) and mixed ragged batches
 * with F32 and BF16 weights and caches; a random head_dim-64 model with a long prompt against the
 * CPU backend (prompt tiles, key splits in prefill and decode, and passes mixing both); graph replay;
 * snapshot, restore and device copy; device sampling and the engine; errors. The same checks run on
 * a real GPU in {@link LlamaCudaGpuTest}.
 *
 * <p>Products go through the emulated cuBLAS here ({@link #onCublas}), except in
 * {@link #batchOneDecodeThroughTheGemvKernels}: the emulator runs the 512-thread GEMV blocks as
 * fibers, which costs seconds per sequence, and those kernels are Llamba's, tested with it.
 */
class EmulatedLlamaCudaTest {
    /** F32 weights and cache compute in F32 throughout: the CPU backend's own check (measured ≤ 1.3e-6 here). */
    static final double F32_TOLERANCE = 1e-4;
    /** BF16 weights (activations rounded to BF16 before every product) and BF16 cache (measured ≤ 1.2e-2 here). */
    static final double BF16_TOLERANCE = 3e-2;
    /** F32 weights with a BF16 cache: keys and values rounded once, when written (measured ≤ 9.3e-3 on an H200). */
    static final double BF16_KV_TOLERANCE = 1e-2;
    /**
     * BF16 weights made from an F32 or F16 checkpoint: the weights themselves are rounded too, on top
     * of the activations (measured 3.25e-2 on the F16 fixture, the same bits on an H200 and here: the
     * one GPU run checked it against 3e-2 and failed; see docs/gpu-tests.md).
     */
    static final double BF16_NARROWED_TOLERANCE = 6e-2;

    static EmulatedDevice dev;
    /** An emulated H200-sized device: its 132 "SMs" make the model split long contexts over blocks as on the GPU. */
    static EmulatedDevice wide;
    @TempDir
    static Path tmp;
    static Path longModel;

    @BeforeAll
    static void emulator() throws Exception {
        Assumptions.assumeTrue(EmulatedDevice.library() != null, () -> "kernel emulator unavailable: " + EmulatedDevice.unavailableReason());
        dev = new EmulatedDevice(2);
        wide = new EmulatedDevice(132);
        longModel = tmp.resolve("llama-hd64");
        RandomCheckpoint.write(longModelConfig(), DType.F32, longModel, 7, Long.MAX_VALUE);
    }

    /** head_dim 64 (the 16-byte-piece paths of the kernels), grouped query heads, llama3 RoPE scaling, an untied head. */
    static JsonObject longModelConfig() {
        return Json.parseObject("""
                {"model_type": "llama", "vocab_size": 300, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 256},
                 "max_position_embeddings": 2048, "tie_word_embeddings": false}""", "llama-hd64");
    }

    @AfterAll
    static void close() {
        if (dev != null) {
            dev.close();
            wide.close();
        }
    }

    static List<String> fixtures() {
        return LlamaFixtures.names();
    }

    static double tolerance(LlamaCudaModel m) {
        return m.weightType() == DType.BF16 ? BF16_TOLERANCE : m.kvType() == DType.BF16 ? BF16_KV_TOLERANCE : F32_TOLERANCE;
    }

    /** As {@link #tolerance(LlamaCudaModel)}, for BF16 weights narrowed from a wider checkpoint too. */
    static double tolerance(LlamaCudaModel m, String fixture) {
        boolean narrowed = m.weightType() == DType.BF16
                && LlamaCudaCheck.defaultWeights(io.llamba.engine.checkpoint.Checkpoint.open(LlamaFixtures.dir(fixture))) != DType.BF16;
        return narrowed ? BF16_NARROWED_TOLERANCE : tolerance(m);
    }

    /** Every product through the (emulated) cuBLAS path. */
    static LlamaCudaModel onCublas(LlamaCudaModel m) {
        m.setGemvMaxRows(0);
        return m;
    }

    static int[] prompt(int n, long seed, int vocab) {
        return new SplittableRandom(seed).ints(n, 0, vocab).toArray();
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void fixtureLogitsMatchTransformers(String name) {
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load(name, dev, null, null, true))) {
            double tol = tolerance(m);
            for (CudaFixtureCheck.Worst w : List.of(LlamaCudaCheck.prefill(name, m), LlamaCudaCheck.steps(name, m), LlamaCudaCheck.mixed(name, m))) {
                assertThat(w.relative()).as("weights " + m.weightType() + ", cache " + m.kvType() + ": " + w.where()).isLessThanOrEqualTo(tol);
            }
        }
    }

    /** Decode at batch 1 as the GPU runs it: every product through the GEMV kernels with the neighbouring steps fused. */
    @Test
    void batchOneDecodeThroughTheGemvKernels() {
        for (String name : List.of("gqa-bf16", "mha-hf-sharded-f16")) {
            try (LlamaCudaModel m = LlamaCudaCheck.load(name, dev, null, null, true)) {
                CudaFixtureCheck.Worst w = LlamaCudaCheck.steps(name, m, 40);
                assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(tolerance(m));
            }
        }
    }

    @Test
    void bf16WeightsWidenedToF32AreExactAndABf16CacheStaysClose() {
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load("gqa-bf16", dev, DType.F32, DType.F32, true))) {
            CudaFixtureCheck.Worst w = LlamaCudaCheck.mixed("gqa-bf16", m);
            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(F32_TOLERANCE);
        }
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load("gqa-f32", dev, DType.F32, DType.BF16, true))) {
            CudaFixtureCheck.Worst w = LlamaCudaCheck.mixed("gqa-f32", m);
            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(BF16_KV_TOLERANCE).isGreaterThan(F32_TOLERANCE / 10);
        }
        // An F16 checkpoint narrowed to BF16 weights (and cache): the weights' own rounding comes on top.
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load("mha-hf-sharded-f16", dev, DType.BF16, DType.BF16, true))) {
            CudaFixtureCheck.Worst w = LlamaCudaCheck.prefill("mha-hf-sharded-f16", m);
            assertThat(tolerance(m, "mha-hf-sharded-f16")).isEqualTo(BF16_NARROWED_TOLERANCE);
            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(BF16_NARROWED_TOLERANCE).isGreaterThan(BF16_TOLERANCE / 10);
        }
    }

    /**
     * A 700-token prompt in 256-token chunks (the last chunk's tiles split their keys over blocks),
     * logits at every position, then greedy steps (each splitting its 700+ keys over six blocks and
     * merging them), against the CPU backend on the same F32 checkpoint; F32 and BF16 caches.
     */
    @Test
    void longPromptAndDecodeMatchTheCpuBackend() {
        int[] prompt = prompt(700, 11, 300);
        LlamaCudaCheck.Run cpu;
        try (Model m = ModelLoader.load(longModel, new LoadOptions(BackendKind.CPU, 1))) {
            cpu = LlamaCudaCheck.run(m, prompt, 256, 4);
        }
        for (DType kv : List.of(DType.F32, DType.BF16)) {
            try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load(longModel, "llama-hd64", wide, DType.F32, kv, true))) {
                LlamaCudaCheck.Run gpu = LlamaCudaCheck.run(m, prompt, 256, 4);
                CudaFixtureCheck.Worst w = LlamaCudaCheck.compare("cache " + kv, cpu, gpu);
                assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(kv == DType.F32 ? F32_TOLERANCE : BF16_KV_TOLERANCE);
                if (kv == DType.F32) {
                    assertThat(gpu.tokens()).isEqualTo(cpu.tokens());
                }
            }
        }
    }

    /** Passes that mix a long sequence's decode token (split keys) with another's prompt chunk (tiles), against the CPU backend. */
    @Test
    void mixedPassesAtLongContextMatchTheCpuBackend() {
        int[] a = prompt(600, 21, 300);
        int[] b = prompt(560, 22, 300);
        float[][] cpuA;
        float[][] cpuB;
        try (Model m = ModelLoader.load(longModel, new LoadOptions(BackendKind.CPU, 1))) {
            cpuA = LlamaCudaCheck.run(m, a, 600, 0).logits();
            cpuB = LlamaCudaCheck.run(m, b, 560, 0).logits();
        }
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load(longModel, "llama-hd64", wide, DType.F32, DType.F32, true));
             StatePool pool = m.createStatePool(2, 1024)) {
            int v = m.vocabSize();
            SequenceState sa = pool.tryAcquire().orElseThrow();
            SequenceState sb = pool.tryAcquire().orElseThrow();
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(sa, a, 0, 580, null, false))
                    .add(new ForwardBatch.Entry(sb, b, 0, 400, null, false)));
            CudaFixtureCheck.Worst worst = new CudaFixtureCheck.Worst(0, "");
            int pb = 400;
            for (int pa = 580; pa < 600; pa++) {
                int len = Math.min(17, 560 - pb);
                float[] la = new float[v];
                float[] lb = new float[len * v];
                ForwardBatch fb = new ForwardBatch().add(new ForwardBatch.Entry(sa, a, pa, 1, la, false));
                if (len > 0) {
                    fb.add(new ForwardBatch.Entry(sb, b, pb, len, lb, true));
                }
                m.forward(fb);
                worst = worst.max(CudaFixtureCheck.compare("a pos " + pa, cpuA[pa], la, 0));
                for (int i = 0; i < len; i++) {
                    worst = worst.max(CudaFixtureCheck.compare("b pos " + (pb + i), cpuB[pb + i], lb, i * v));
                }
                pb += Math.max(len, 0);
            }
            assertThat(pb).isEqualTo(560);
            assertThat(worst.relative()).as(worst.where()).isLessThanOrEqualTo(F32_TOLERANCE);
        }
    }

    /**
     * Random weights made on the device, and the two attention kernels against each other: after the
     * same 659-token prefix, token 699's logits from a 41-token prompt chunk (tiles, keys split over
     * blocks) and from a 40-token chunk then a decode step (keys split over six blocks). The GPU test
     * does the same at 16k tokens on the 1B shape.
     */
    @Test
    void prefillAndDecodeKernelsAgreeOnRandomDeviceWeights() {
        int n = 700;
        int[] prompt = prompt(n, 5, 300);
        for (DType f : List.of(DType.F32, DType.BF16)) {
            try (LlamaCudaModel m = onCublas(LlamaCudaModel.random("llama-hd64", longModelConfig(), wide, f, f, 9));
                 StatePool pool = m.createStatePool(2, n)) {
                float[][] both = CudaModelRuns.lastLogitsChunkedAndDecoded(m, pool, prompt);
                float[] tiled = both[0], decoded = both[1];
                float maxAbs = 0;
                for (float x : tiled) {
                    assertThat(Float.isFinite(x)).isTrue();
                    maxAbs = Math.max(maxAbs, Math.abs(x));
                }
                assertThat(maxAbs).as("random weights give non-trivial logits").isGreaterThan(0.1f);
                CudaFixtureCheck.Worst w = CudaFixtureCheck.compare("position " + (n - 1), tiled, decoded, 0);
                assertThat(w.relative()).as(f + ": " + w.where()).isLessThanOrEqualTo(f == DType.F32 ? F32_TOLERANCE : BF16_TOLERANCE);
            }
        }
    }

    /** The GPU attention profile's code path (bench-gpu --attention), at small sizes. */
    @Test
    void attentionProfileRuns() {
        java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
        java.util.List<String> titles = new java.util.ArrayList<>();
        var r = LlamaAttentionProfile.run(wide, "llama-hd64", longModelConfig(), 256, 256, 2, 1, new java.io.PrintStream(text),
                (title, times) -> {
                    titles.add(title);
                    assertThat(times.keySet()).anyMatch(k -> k.startsWith("attn_"));
                }, 4e12);
        assertThat(titles).hasSize(3);
        assertThat(r).containsKeys("prompt_chunk", "decode_batch1", "decode_batch2");
        assertThat(text.toString()).contains("TFLOP/s", "of the copy bandwidth");
    }

    /** A replayed graph runs the same kernels on the same data: the same bits as launching them one by one. */
    @Test
    void graphReplayEqualsDirectLaunches() {
        LlamaCudaCheck.Case c = LlamaCudaCheck.cases("gqa-bf16").get(2);
        float[][] out = new float[2][];
        for (int g = 0; g < 2; g++) {
            boolean graphs = g == 1;
            try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load("gqa-bf16", dev, null, null, graphs))) {
                out[g] = CudaModelRuns.logitsAtEveryPosition(m, c.ids());
            }
        }
        assertThat(out[1]).isEqualTo(out[0]);
    }

    /** A snapshot restored into another pool's state, and a device copy, continue exactly as the original sequence does. */
    @Test
    void snapshotRestoreAndCopyContinueExactly() {
        LlamaCudaCheck.Case c = LlamaCudaCheck.cases("gqa-f32").getLast();
        LlamaCudaCheck.Case full = LlamaCudaCheck.cases("gqa-f32").get(2); // logits at every position
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load("gqa-f32", dev, null, null, true)); StatePool pool = m.createStatePool(2);
             StatePool other = m.createStatePool(1, 400)) {
            int v = m.vocabSize();
            SequenceState s = pool.tryAcquire().orElseThrow();
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, c.ids(), 0, 150, null, false)));
            StateSnapshot snap = s.snapshot();
            assertThat(snap.position()).isEqualTo(150);
            assertThat(snap.bytes()).isEqualTo(150 * m.kvBytesPerToken());
            SequenceState copy = pool.tryAcquire().orElseThrow();
            copy.copyFrom(s);
            float[] first = new float[20 * v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, c.ids(), 150, 20, first, true)));
            SequenceState restored = other.tryAcquire().orElseThrow();
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(restored, c.ids(), 0, 7, null, false))); // something to overwrite
            restored.restore(snap);
            assertThat(restored.position()).isEqualTo(150);
            float[] again = new float[20 * v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(restored, c.ids(), 150, 20, again, true)));
            assertThat(again).isEqualTo(first);
            float[] copied = new float[20 * v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(copy, c.ids(), 150, 20, copied, true)));
            assertThat(copied).isEqualTo(first);
            // A reset state reads as empty: the fixture's logits again.
            s.reset();
            float[] fresh = new float[3 * v];
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, full.ids(), 0, 3, fresh, true)));
            CudaFixtureCheck.Worst w = LlamaCudaCheck.compareCase("after reset", new LlamaCudaCheck.Case(full.ids(), new int[]{0, 1, 2},
                    Arrays.copyOf(full.logits(), 3)), fresh, v);
            assertThat(w.relative()).as(w.where()).isLessThanOrEqualTo(F32_TOLERANCE);
        }
    }

    @Test
    void greedyPicksAreTheArgmaxOfTheLogits() {
        LlamaCudaCheck.Case c = LlamaCudaCheck.cases("mqa-untied-bf16").get(2);
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load("mqa-untied-bf16", dev, null, null, true))) {
            CudaModelRuns.greedyPicksAreTheArgmax(m, c.ids(), 12);
        }
    }

    @Test
    void badInputIsRejectedWithAClearError() {
        try (LlamaCudaModel m = LlamaCudaCheck.load("gqa-f32", dev, null, null, true);
             LlamaCudaModel other = LlamaCudaCheck.load("gqa-f32", dev, null, null, true);
             StatePool pool = m.createStatePool(1, 8); StatePool otherPool = other.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            assertThat(pool.tryAcquire()).isEmpty();
            assertThat(pool.bytesPerState()).isEqualTo(CudaModel.roundUp(8 * m.kvBytesPerToken(), 256));
            SequenceState foreign = otherPool.tryAcquire().orElseThrow();
            int v = m.vocabSize();
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(foreign, new int[]{1}, null)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a CUDA state of this model");
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(s, new int[]{v}, null)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(s, new int[9], null)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds at most 8 tokens");
            m.forward(new ForwardBatch().add(s, new int[6], null));
            assertThatThrownBy(() -> m.forward(new ForwardBatch().add(s, new int[3], null)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at position 6 cannot take 3");
            assertThat(s.position()).as("rejected batches change nothing").isEqualTo(6);
            StateSnapshot six = s.snapshot();
            try (StatePool small = m.createStatePool(1, 4)) {
                SequenceState t = small.tryAcquire().orElseThrow();
                assertThatThrownBy(() -> t.restore(six)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context limit of 4");
                assertThatThrownBy(() -> t.copyFrom(s)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context limit of 4");
            }
            StateSnapshot foreignSnapshot = foreign.snapshot();
            assertThatThrownBy(() -> s.restore(foreignSnapshot)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not from a state of this model");
            assertThatThrownBy(() -> m.createStatePool(0, 8)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> m.createStatePool(1, 0)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** A configuration the kernels cannot run is refused at load with the reason. */
    @Test
    void unsupportedShapesAreRefusedAtLoad() {
        JsonObject big = Json.parseObject("""
                {"model_type": "llama", "vocab_size": 50, "hidden_size": 256, "intermediate_size": 64, "num_hidden_layers": 1,
                 "num_attention_heads": 1, "head_dim": 256}""", "wide-heads");
        assertThatThrownBy(() -> LlamaCudaModel.random("wide-heads", big, dev, DType.F32, DType.F32, 1))
                .isInstanceOf(ModelException.class).hasMessageContaining("head_dim 256 > 128");
    }

    /** The engine through the device-sampling branch: greedy output equals the CPU backend's; a seeded sampled request repeats. */
    @Test
    void engineOnTheCudaModelMatchesTheCpuBackend() throws Exception {
        int[] prompt = LlamaCudaCheck.cases("gqa-f32").get(2).ids();
        GenerationRequest greedy = GenerationRequest.builder(prompt).sampling(SamplingParams.GREEDY).maxTokens(12).build();
        GenerationRequest sampled = GenerationRequest.builder(prompt).maxTokens(12)
                .sampling(SamplingParams.builder().temperature(0.9).topK(20).topP(0.95).seed(5L).build()).build();
        int[] cpu;
        try (Model m = ModelLoader.load(LlamaFixtures.dir("gqa-f32"), new LoadOptions(BackendKind.CPU, 1));
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults())) {
            cpu = e.generate(greedy).tokens();
        }
        try (LlamaCudaModel m = onCublas(LlamaCudaCheck.load("gqa-f32", dev, null, null, true));
             Engine e = new Engine(m, ByteTokenizer.load(), EngineOptions.defaults().withMaxContext(256))) {
            assertThat(e.generate(greedy).tokens()).isEqualTo(cpu);
            int[] first = e.generate(sampled).tokens();
            assertThat(e.generate(sampled).tokens()).isEqualTo(first);
        }
    }
}
