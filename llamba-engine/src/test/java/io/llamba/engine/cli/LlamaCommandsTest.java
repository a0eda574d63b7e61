package io.llamba.engine.cli;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.llama.LlamaConfig;
import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.LlamaFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.llamba.engine.cli.ModelCommandsTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** The model commands on Llama checkpoints: nothing in them is specific to an architecture. */
class LlamaCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void llamaPresetsResolveThroughTheirPlugin() throws Exception {
        for (String name : List.of("llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b")) {
            JsonObject c = RandomModelCommand.readConfig(name);
            assertThat(c.getString("model_type")).isEqualTo("llama");
            assertThat(LlamaConfig.from(c).vocabSize()).isEqualTo(128256);
        }
        assertThat(RandomModelCommand.readConfig("llamba-1b").getString("model_type")).isEqualTo("llamba");
        ModelCommandsTest.Run bad = run("random-model", "--config", "../presets/llama-3.2-1b", "--out", tmp.resolve("x").toString());
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("not a preset");
    }

    @Test
    void randomLlamaThenGenerateAndLogits() throws Exception {
        Path config = tmp.resolve("config.json");
        Files.writeString(config, """
                {"model_type": "llama", "vocab_size": %d, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256, "tie_word_embeddings": true}"""
                .formatted(ByteTokenizer.VOCAB));
        Path model = tmp.resolve("model");
        ModelCommandsTest.Run written = run("random-model", "--config", config.toString(), "--out", model.toString(), "--dtype", "bf16");
        assertThat(written.status()).as(written.err()).isZero();
        Files.writeString(model.resolve("tokenizer.json"), ByteTokenizer.json());
        ModelCommandsTest.Run gen = run("generate", "--model", model.toString(), "--prompt", "hello", "--max-tokens", "5", "--temperature", "0");
        assertThat(gen.status()).as(gen.err()).isZero();
        assertThat(gen.err()).contains("decode: ");
        ModelCommandsTest.Run again = run("generate", "--model", model.toString(), "--prompt", "hello", "--max-tokens", "5", "--temperature", "0");
        assertThat(again.out()).isEqualTo(gen.out());
    }

    /** logits on a transformers-made fixture prints what transformers printed. */
    @Test
    void logitsCommandOnATransformersFixture() {
        Path dir = LlamaFixtures.dir("mqa-untied-bf16");
        JsonObject expected = LlamaFixtures.expected("mqa-untied-bf16");
        @SuppressWarnings("unchecked") Map<String, Object> seq = (Map<String, Object>) expected.getArray("sequences").get(1);
        @SuppressWarnings("unchecked") List<Object> ids = (List<Object>) seq.get("ids");
        @SuppressWarnings("unchecked") List<List<Object>> want = (List<List<Object>>) seq.get("logits");
        ModelCommandsTest.Run r = run("logits", "--model", dir.toString(), "--ids",
                String.join(",", ids.stream().map(String::valueOf).toList()), "--all-positions", "--threads", "1");
        assertThat(r.status()).as(r.err()).isZero();
        List<Object> rows = Json.parseObject(r.out(), "stdout").getArray("logits");
        assertThat(rows).hasSize(want.size());
        for (int p = 0; p < rows.size(); p++) {
            float[] got = io.llamba.engine.testing.Fixtures.floats((List<?>) rows.get(p));
            float[] exp = io.llamba.engine.testing.Fixtures.floats(want.get(p));
            for (int i = 0; i < got.length; i++) {
                assertThat(Math.abs(got[i] - exp[i])).isLessThan(1e-3f);
            }
        }
    }
}
