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
import io.llamba.engine.tokenizer.ChatTemplate;
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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The engine, unchanged, on a real (random-weight) Llama: greedy equals a hand-written loop,
 * batching and chunked prefill change no token, and the KV cache is sized from the engine's context
 * limit.
 */
class LlamaEngineTest {
    static final Tokenizer TOKENIZER = ByteTokenizer.load();
    static Model model;

    @BeforeAll
    static void load(@TempDir Path dir) throws Exception {
        String config = """
                {"model_type": "llama", "vocab_size": %d, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024, "tie_word_embeddings": true,
                 "rope_theta": 10000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}"""
                .formatted(ByteTokenizer.VOCAB);
        RandomCheckpoint.write(Json.parseObject(config, "config"), DType.BF16, dir, 3, Long.MAX_VALUE);
        model = ModelLoader.load(dir, new LoadOptions(null, 2));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static int[] chat(String user) {
        return new ChatTemplate(TOKENIZER).encode(List.of(ChatMessage.user(user)), true);
    }

    static int[] handGreedy(int[] prompt, int n) {
        try (StatePool pool = model.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            int v = model.vocabSize();
            float[] logits = new float[v];
            for (int i = 0; i < prompt.length; i++) {
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, prompt, i, 1, logits, false)));
            }
            int[] out = new int[n];
            for (int k = 0; k < n; k++) {
                out[k] = Sampler.argmax(logits, v);
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, new int[]{out[k]}, 0, 1, logits, false)));
            }
            return out;
        }
    }

    @Test
    void engineGreedyEqualsHandWrittenLoop() throws Exception {
        int[] prompt = chat("Tell me about llamas and their long context.");
        int[] expected = handGreedy(prompt, 24);
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults())) {
            GenerationResult r = engine.generate(GenerationRequest.builder(prompt).maxTokens(24).build());
            int[] got = r.tokens();
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
            prompts.add(chat("question number " + i + " " + "x".repeat(i * 9)));
        }
        SamplingParams seeded = SamplingParams.builder().temperature(0.9).topP(0.95).seed(11L).build();
        List<int[]> alone = new ArrayList<>();
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(1))) {
            for (int i = 0; i < prompts.size(); i++) {
                SamplingParams p = i % 2 == 0 ? SamplingParams.GREEDY : seeded;
                alone.add(engine.generate(GenerationRequest.builder(prompts.get(i)).sampling(p).maxTokens(16).build()).tokens());
            }
        }
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
    void theCacheIsSizedFromTheEnginesContextLimit() throws Exception {
        long perToken = model.info().stateBytesPerSequence() / model.info().maxContext();
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(3).withMaxContext(100))) {
            assertThat(engine.contextLimit()).isEqualTo(100);
            assertThat(engine.stats().stateBytesCapacity()).isEqualTo(3 * 100 * perToken);
            int[] prompt = chat("hi");
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder(prompt).maxTokens(100).build(), null))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("context limit of 100");
            // A request that may fill the context exactly is accepted and served.
            GenerationResult r = engine.generate(GenerationRequest.builder(prompt).maxTokens(100 - prompt.length).build());
            assertThat(r.finishReason()).isIn(FinishReason.LENGTH, FinishReason.STOP_TOKEN);
            assertThat(r.tokens().length).isBetween(1, 100 - prompt.length);
        }
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(2))) {
            assertThat(engine.contextLimit()).isEqualTo(1024); // the model's max_position_embeddings
            assertThat(engine.stats().stateBytesCapacity()).isEqualTo(2 * 1024 * perToken);
        }
    }

    /** The state memory budget counts each slot's cache at the engine's context limit, not at the model's. */
    @Test
    void theStateBudgetCountsTheCacheAtTheContextLimit() throws Exception {
        long perToken = model.info().stateBytesPerSequence() / model.info().maxContext();
        long budget = 3 * 1024 * perToken + 512 * perToken; // three and a half caches of 1024 tokens
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(8).withStateMemoryBytes(budget))) {
            assertThat(engine.stateSlots()).isEqualTo(3);
        }
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(8).withStateMemoryBytes(budget)
                .withMaxContext(256))) {
            assertThat(engine.stateSlots()).isEqualTo(8); // 14 caches of 256 tokens fit
            GenerationResult r = engine.generate(GenerationRequest.builder(chat("hi")).maxTokens(8).build());
            assertThat(r.tokens()).isNotEmpty();
        }
        assertThatThrownBy(() -> new Engine(model, TOKENIZER, EngineOptions.defaults().withStateMemoryBytes(100 * perToken)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds no sequence state")
                .hasMessageContaining("lower maxContext (now 1024 tokens)");
    }
}
