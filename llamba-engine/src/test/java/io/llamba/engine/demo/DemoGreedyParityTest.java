package io.llamba.engine.demo;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationHandle;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Java engine's greedy tokens equal PyTorch's (tools/demo-model/train.py, float64, the BF16 weights
 * as stored) on the committed sample: the trained weights mean the same thing to both.
 */
class DemoGreedyParityTest {
    @Test
    void greedyTokensEqualPyTorchs() throws Exception {
        JsonObject sample = DemoSamples.read("greedy-sample.json");
        int maxTokens = sample.getInt("max_new_tokens");
        List<JsonObject> items = sample.getObjectList("items");
        assertThat(items).hasSizeGreaterThanOrEqualTo(20);
        Path dir = DemoModel.directory();
        try (Model model = ModelLoader.load(dir, LoadOptions.defaults());
             Engine engine = new Engine(model, Tokenizers.load(dir), EngineOptions.defaults().withMaxSequences(items.size()))) {
            List<GenerationHandle> handles = new ArrayList<>();
            for (JsonObject item : items) {
                int[] prompt = DemoSamples.ints(item.getArray("prompt"));
                handles.add(engine.submit(GenerationRequest.builder(prompt).sampling(SamplingParams.GREEDY).maxTokens(maxTokens).build(), null));
            }
            int matched = 0;
            for (int i = 0; i < items.size(); i++) {
                GenerationResult r = handles.get(i).result().get();
                int[] got = r.stopToken() >= 0 ? IntStream.concat(Arrays.stream(r.tokens()), IntStream.of(r.stopToken())).toArray() : r.tokens();
                assertThat(got).as("item %d (%s): %s", i, items.get(i).getString("family"), items.get(i).getString("text"))
                        .containsExactly(DemoSamples.ints(items.get(i).getArray("greedy")));
                matched++;
            }
            assertThat(matched).isEqualTo(items.size());
        }
    }
}
