package io.llamba.engine.cli;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The model commands end to end through Main, as a user runs them. */
class ModelCommandsTest {
    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : List.of("generate", "logits", "tokenize", "random-model", "bench-tokenizer")) {
            Run r = run(cmd, "--help");
            assertThat(r.status()).as(cmd).isZero();
            assertThat(r.out()).as(cmd).startsWith("Usage: " + cmd);
        }
        assertThat(run("--help").out()).contains("generate", "logits", "random-model");
        assertThat(run("nonsense").status()).isEqualTo(2);
    }

    @Test
    void logitsPrintsTheReferenceLogits() {
        Path dir = Fixtures.dir("base-f32");
        JsonObject expected = Fixtures.expected("base-f32");
        @SuppressWarnings("unchecked")
        var seq = (java.util.Map<String, Object>) expected.getArray("sequences").get(1);
        @SuppressWarnings("unchecked")
        List<Object> ids = (List<Object>) seq.get("ids");
        String idList = String.join(",", ids.stream().map(String::valueOf).toList());
        Run r = run("logits", "--model", dir.toString(), "--ids", idList, "--all-positions", "--threads", "1");
        assertThat(r.status()).as(r.err()).isZero();
        List<Object> rows = Json.parseObject(r.out(), "stdout").getArray("logits");
        @SuppressWarnings("unchecked")
        List<List<Object>> want = (List<List<Object>>) seq.get("logits");
        assertThat(rows).hasSize(want.size());
        for (int p = 0; p < rows.size(); p++) {
            float[] got = Fixtures.floats((List<?>) rows.get(p));
            float[] exp = Fixtures.floats(want.get(p));
            assertThat(got).hasSize(expected.getInt("vocab_size"));
            for (int i = 0; i < got.length; i++) {
                assertThat(Math.abs(got[i] - exp[i])).isLessThan(1e-3f);
            }
        }
        Run last = run("logits", "--model", dir.toString(), "--ids", idList);
        assertThat(Json.parseObject(last.out(), "stdout").getArray("logits")).hasSize(1);
    }

    @Test
    void badInputGivesAClearMessageAndNoTrace() {
        Run r = run("logits", "--model", tmp.resolve("missing").toString(), "--ids", "1");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("model directory not found").doesNotContain("Exception");
        Run ids = run("logits", "--model", Fixtures.dir("base-f32").toString(), "--ids", "1,x");
        assertThat(ids.status()).isEqualTo(2);
        assertThat(ids.err()).contains("'x' is not an integer");
        Run range = run("logits", "--model", Fixtures.dir("base-f32").toString(), "--ids", "1,999999");
        assertThat(range.err()).contains("token id 999999 outside the vocabulary [0, 203)");
        Run unknown = run("logits", "--model", Fixtures.dir("base-f32").toString(), "--ids", "1", "--bogus", "3");
        assertThat(unknown.err()).contains("unknown option --bogus");
    }

    @Test
    void randomModelThenGenerateStreamsAndReportsSpeed() throws Exception {
        Path config = tmp.resolve("config.json");
        Files.writeString(config, """
                {"model_type": "llamba", "vocab_size": %d, "d_model": 32, "n_layer": 1,
                 "mlp_cfg": {"intermediate_size": 64}, "ssm_cfg": {"d_state": 8, "n_v_heads": 2, "n_qk_heads": 1}}"""
                .formatted(ByteTokenizer.VOCAB));
        Path model = tmp.resolve("model");
        Run written = run("random-model", "--config", config.toString(), "--out", model.toString(), "--dtype", "f16", "--seed", "5");
        assertThat(written.status()).as(written.err()).isZero();
        assertThat(model.resolve("model.safetensors")).exists();
        Files.writeString(model.resolve("tokenizer.json"), ByteTokenizer.json());
        Run gen = run("generate", "--model", model.toString(), "--prompt", "hello", "--max-tokens", "5", "--temperature", "0");
        assertThat(gen.status()).as(gen.err()).isZero();
        assertThat(gen.err()).contains("prefill: ").contains("tok/s").contains("decode: ").contains("finish: ");
        // Greedy is reproducible.
        Run again = run("generate", "--model", model.toString(), "--prompt", "hello", "--max-tokens", "5", "--temperature", "0");
        assertThat(again.out()).isEqualTo(gen.out());
    }

    @Test
    void randomModelPresetsAndErrors() {
        Run bad = run("random-model", "--config", "llamba-99b", "--out", tmp.resolve("x").toString());
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("not a preset (llamba-1b, llamba-3b, llamba-8b, llama-3.2-1b");
        Run dtype = run("random-model", "--config", "llamba-1b", "--out", tmp.resolve("x").toString(), "--dtype", "q5");
        assertThat(dtype.status()).isEqualTo(2);
        assertThat(dtype.err()).contains("unknown dtype 'q5'");
    }
}
