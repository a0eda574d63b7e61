package io.llamba.engine.llama;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** config.json parsing: transformers' defaults, both RoPE layouts, and errors that name the field. */
class LlamaConfigTest {
    static final String MINIMAL = """
            {"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4%s}""";

    static LlamaConfig parse(String extra) {
        return LlamaConfig.from(Json.parseObject(MINIMAL.formatted(extra), "config.json"));
    }

    @Test
    void absentKeysTakeTransformersDefaults() {
        LlamaConfig c = parse("");
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6f);
        assertThat(c.rope()).isEqualTo(LlamaConfig.Rope.plain(10000.0));
        assertThat(c.maxPositionEmbeddings()).isEqualTo(2048);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.kvBytes(1)).isEqualTo(2L * 2 * 4 * 16 * 4);
    }

    @Test
    void explicitHeadDimAndGroupedKv() {
        LlamaConfig c = parse(", \"num_key_value_heads\": 2, \"head_dim\": 24, \"rope_scaling\": null, \"head_dim_unused\": 1");
        assertThat(c.headDim()).isEqualTo(24);
        assertThat(c.qSize()).isEqualTo(96);
        assertThat(c.kvSize()).isEqualTo(48);
        assertThat(c.groupSize()).isEqualTo(2);
        assertThat(c.rope().llama3()).isFalse();
    }

    @Test
    void readsRopeScalingAndTheTransformers5RopeParameters() {
        String scaling = "\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192";
        LlamaConfig hub = parse(", \"rope_theta\": 500000.0, \"rope_scaling\": {\"rope_type\": \"llama3\", " + scaling + "}");
        LlamaConfig legacy = parse(", \"rope_theta\": 500000.0, \"rope_scaling\": {\"type\": \"llama3\", " + scaling + "}");
        LlamaConfig v5 = parse(", \"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0, " + scaling + "}");
        LlamaConfig.Rope want = new LlamaConfig.Rope(500000.0, true, 8, 1, 4, 8192);
        assertThat(hub.rope()).isEqualTo(want);
        assertThat(legacy.rope()).isEqualTo(want);
        assertThat(v5.rope()).isEqualTo(want);
        assertThat(parse(", \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 20000}").rope())
                .isEqualTo(LlamaConfig.Rope.plain(20000));
    }

    /** Llama-3.2-1B's frequencies in each llama3 regime, as tools/llama-reference/llama_ref.py computes them. */
    @Test
    void llama3FrequencyScalingOfTheLlama32Preset() throws IOException {
        LlamaConfig c = LlamaConfig.from(preset("llama-3.2-1b"));
        double[] f = c.inverseFrequencies();
        assertThat(f).hasSize(32);
        assertThat(f[0]).isEqualTo(1.0);                                        // wavelength 6.3: kept
        assertThat(f[5]).isCloseTo(0.12868737343265052, within(1e-15));         // 49: kept
        assertThat(f[15]).isCloseTo(0.001290547928209264, within(1e-17));       // 4869: between 2048 and 8192, smoothed
        assertThat(f[20]).isCloseTo(8.570255489881478e-06, within(1e-20));     // 733139: divided by 32
        assertThat(f[31]).isCloseTo(9.418306725434911e-08, within(1e-22));
    }

    static JsonObject preset(String name) throws IOException {
        try (InputStream in = LlamaConfigTest.class.getResourceAsStream("/io/llamba/engine/llama/presets/" + name + ".json")) {
            return Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8), name);
        }
    }

    @Test
    void presetsHaveTheReleasedShapes() throws IOException {
        LlamaConfig one = LlamaConfig.from(preset("llama-3.2-1b"));
        assertThat(one.kvBytes(8192)).isEqualTo(16L * 2 * 8 * 64 * 8192 * 4); // float32 cache
        assertThat(one.tieWordEmbeddings()).isTrue();
        LlamaConfig three = LlamaConfig.from(preset("llama-3.2-3b"));
        assertThat(three.qSize()).isEqualTo(3072);
        assertThat(three.headDim()).isEqualTo(128);
        LlamaConfig eight = LlamaConfig.from(preset("llama-3.1-8b"));
        assertThat(eight.headDim()).isEqualTo(128);
        assertThat(eight.tieWordEmbeddings()).isFalse();
        assertThat(eight.rope().factor()).isEqualTo(8.0);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            ", \"attention_bias\": true                                   | field attention_bias: true is not supported",
            ", \"mlp_bias\": true                                         | field mlp_bias: true is not supported",
            ", \"hidden_act\": \"gelu\"                                   | field hidden_act: unsupported activation 'gelu'",
            ", \"num_key_value_heads\": 3                                 | field num_key_value_heads: 3 does not divide num_attention_heads 4",
            ", \"head_dim\": 15                                           | field head_dim: head_dim 15 must be even",
            ", \"rms_norm_eps\": 0                                        | field rms_norm_eps: must be positive",
            ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0} | field rope_scaling.rope_type: unsupported RoPE type 'yarn'",
            ", \"rope_scaling\": {\"rope_type\": \"llama3\"}               | missing field rope_scaling.factor",
            ", \"rope_parameters\": {\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 10} | field rope_parameters.high_freq_factor: must be greater than low_freq_factor",
            ", \"rope_theta\": -1                                         | field rope_theta: must be greater than 1",
            ", \"max_position_embeddings\": 0                             | field max_position_embeddings: must be positive",
    })
    void badFieldsAreNamed(String extra, String message) {
        assertThatThrownBy(() -> parse(extra.strip())).isInstanceOf(JsonException.class)
                .hasMessageContaining("config.json").hasMessageContaining(message.strip());
    }

    @Test
    void hiddenSizeNotAMultipleOfHeadsNeedsHeadDim() {
        String json = MINIMAL.formatted("").replace("\"hidden_size\": 64", "\"hidden_size\": 66");
        assertThatThrownBy(() -> LlamaConfig.from(Json.parseObject(json, "config.json")))
                .hasMessageContaining("hidden_size 66 is not a multiple of 4 and head_dim is absent");
        assertThat(LlamaConfig.from(Json.parseObject(json.replace("}", ", \"head_dim\": 16}"), "config.json")).qSize()).isEqualTo(64);
    }

    @Test
    void missingSizeIsNamed() {
        String json = MINIMAL.formatted("").replace("\"intermediate_size\": 128,", "");
        assertThatThrownBy(() -> LlamaConfig.from(Json.parseObject(json, "config.json")))
                .hasMessageContaining("missing field intermediate_size");
    }
}
