package io.llamba.engine.generate;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
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
import io.llamba.engine.tokenizer.ChatMessage;
import io.llamba.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The engine on a real (random-weight) Llamba: greedy equals a hand-written loop; batching changes nothing. */
class LlambaEngineTest {
    static final Tokenizer TOKENIZER = ByteTokenizer.load();
    static Model model;

    @BeforeAll
    static void load(@TempDir Path dir) throws Exception {
        String config = """
                {"model_type": "llamba", "vocab_size": %d, "d_model": 64, "n_layer": 2, "tie_embeddings": true,
                 "mlp_cfg": {"intermediate_size": 128}, "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 2}}"""
                .formatted(ByteTokenizer.VOCAB);
        RandomCheckpoint.write(Json.parseObject(config, "config"), DType.BF16, dir, 3, Long.MAX_VALUE);
        model = ModelLoader.load(dir, new LoadOptions(null, 2));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static int[] chat(String user) {
        return new io.llamba.engine.tokenizer.ChatTemplate(TOKENIZER).encode(List.of(ChatMessage.user(user)), true);
    }

    /** Greedy decoding written directly against Model.forward, one token at a time. */
    static int[] handGreedy(int[] prompt, int n) {
        try (StatePool pool = model.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            int v = model.vocabSize();
            float[] logits = new float[v];
            List<Integer> out = new ArrayList<>();
            for (int i = 0; i < prompt.length; i++) {
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, prompt, i, 1, logits, false)));
            }
            for (int k = 0; k < n; k++) {
                int t = Sampler.argmax(logits, v);
                out.add(t);
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, new int[]{t}, 0, 1, logits, false)));
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @Test
    void engineGreedyEqualsHandWrittenLoop() throws Exception {
        int[] prompt = chat("Tell me about llamas.");
        int[] expected = handGreedy(prompt, 24);
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults())) {
            GenerationResult r = engine.generate(GenerationRequest.builder(prompt).maxTokens(24).build());
            int[] got = r.tokens();
            // The engine stops early at a stop token; compare what it produced.
            assertThat(got).isEqualTo(Arrays.copyOf(expected, got.length));
            if (r.finishReason() == FinishReason.LENGTH) {
                assertThat(got).hasSize(24);
            }
        }
    }

    @Test
    void tokensAreTheSameAloneOrBatchedWithChunkedPrefill() throws Exception {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            prompts.add(chat("question number " + i + " " + "x".repeat(i * 7)));
        }
        SamplingParams seeded = SamplingParams.builder().temperature(0.9).topP(0.95).seed(11L).build();
        List<int[]> alone = new ArrayList<>();
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(1))) {
            for (int i = 0; i < prompts.size(); i++) {
                SamplingParams p = i % 2 == 0 ? SamplingParams.GREEDY : seeded;
                alone.add(engine.generate(GenerationRequest.builder(prompts.get(i)).sampling(p).maxTokens(16).build()).tokens());
            }
        }
        // All at once, with a small token budget so long prompts are prefilled in chunks beside decoding.
        try (Engine engine = new Engine(model, TOKENIZER, new EngineOptions(12, 64, 0, 24))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                SamplingParams p = i % 2 == 0 ? SamplingParams.GREEDY : seeded;
                handles.add(engine.submit(GenerationRequest.builder(prompts.get(i)).sampling(p).maxTokens(16).build(), null));
            }
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(handles.get(i).result().get().tokens()).as("request " + i).isEqualTo(alone.get(i));
            }
        }
    }

    @Test
    void greedyTokensAreTheSameAloneOrWith63Others() throws Exception {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            prompts.add(chat("request " + i + ": " + "llama ".repeat(i % 9)));
        }
        EngineOptions noCache = EngineOptions.defaults().withStateCacheBytes(0);
        List<int[]> alone = new ArrayList<>();
        try (Engine engine = new Engine(model, TOKENIZER, noCache.withMaxSequences(1))) {
            for (int[] p : prompts) {
                alone.add(engine.generate(GenerationRequest.builder(p).maxTokens(12).build()).tokens());
            }
        }
        // 64 at once; a token budget below the prompts' total, so prefill chunks ride along with decoding.
        try (Engine engine = new Engine(model, TOKENIZER, noCache.withMaxSequences(64).withMaxBatchTokens(160))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (int[] p : prompts) {
                handles.add(engine.submit(GenerationRequest.builder(p).maxTokens(12).build(), null));
            }
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(handles.get(i).result().get().tokens()).as("request " + i).isEqualTo(alone.get(i));
            }
            assertThat(engine.stats().capacity()).isEqualTo(64);
        }
    }

    /** Runs conversations of {@code turns} turns, all at once; each reply is appended as text, as a chat client does. */
    static List<List<GenerationResult>> conversations(Engine engine, int count, int turns) throws Exception {
        List<List<GenerationResult>> all = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < count; c++) {
            List<GenerationResult> results = java.util.Collections.synchronizedList(new ArrayList<>());
            all.add(results);
            int id = c;
            threads.add(Thread.ofVirtual().start(() -> {
                List<ChatMessage> messages = new ArrayList<>();
                messages.add(ChatMessage.system(id % 2 == 0 ? "You are terse." : "You like llamas."));
                for (int t = 0; t < turns; t++) {
                    messages.add(ChatMessage.user("conversation " + id + ", turn " + t));
                    int[] prompt = new io.llamba.engine.tokenizer.ChatTemplate(TOKENIZER).encode(messages, true);
                    try {
                        GenerationResult r = engine.generate(GenerationRequest.builder(prompt).maxTokens(10).build());
                        results.add(r);
                        messages.add(ChatMessage.assistant(r.text()));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        return all;
    }

    @Test
    void conversationsGiveTheSameTokensWithTheStateCacheAsWithout() throws Exception {
        List<List<GenerationResult>> without;
        List<List<GenerationResult>> with;
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withStateCacheBytes(0))) {
            without = conversations(engine, 6, 5);
        }
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(4).withStateCacheBytes(64 << 20))) {
            with = conversations(engine, 6, 5);
            assertThat(engine.stats().cache().hits()).isPositive();
            assertThat(engine.stats().cachedPromptTokens()).isPositive();
        }
        for (int c = 0; c < 6; c++) {
            assertThat(with.get(c)).hasSize(5);
            for (int t = 0; t < 5; t++) {
                assertThat(with.get(c).get(t).tokens()).as("conversation " + c + " turn " + t).isEqualTo(without.get(c).get(t).tokens());
                assertThat(with.get(c).get(t).text()).isEqualTo(without.get(c).get(t).text());
                if (t > 0) {
                    // Each turn restores at least what the previous one did (that snapshot is still a prefix);
                    // which boundary serves depends on whether the reply re-encodes to the generated bytes.
                    assertThat(with.get(c).get(t).cachedPromptTokens()).as("conversation " + c + " turn " + t)
                            .isPositive().isGreaterThanOrEqualTo(with.get(c).get(t - 1).cachedPromptTokens());
                }
            }
        }
    }
}
