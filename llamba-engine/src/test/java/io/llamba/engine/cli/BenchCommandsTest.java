package io.llamba.engine.cli;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.RandomCheckpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** bench, quant-quality and --quantize end to end on a small random model. */
class BenchCommandsTest {
    static Path dir;

    @BeforeAll
    static void write(@TempDir Path tmp) throws Exception {
        String config = """
                {"model_type": "llamba", "vocab_size": 128256, "d_model": 64, "n_layer": 1, "tie_embeddings": true,
                 "mlp_cfg": {"intermediate_size": 128}, "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 2}}""";
        dir = tmp.resolve("m");
        RandomCheckpoint.write(Json.parseObject(config, "config"), DType.BF16, dir, 2, Long.MAX_VALUE);
    }

    private record Result(int status, String out, String err) {
        JsonObject lastJson() {
            String[] lines = out.strip().split("\n");
            return Json.parseObject(lines[lines.length - 1], "last line");
        }
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void benchPrintsEveryFigureAndEndsWithJson() {
        Result r = run("bench", "--model", dir.toString(), "--quantize", "q4_0", "--batch", "1,4,64", "--prompt-tokens", "20",
                "--decode-tokens", "3", "--steps", "2", "--reps", "1", "--threads", "2", "--read-mb", "64");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("machine: 2 threads").contains("prefill 20 tokens").contains("decode batch 64");
        JsonObject j = r.lastJson();
        for (String key : new String[]{"read_gbps", "peak_gflops", "decode_tok_s", "decode_bw_fraction", "prefill_tok_s",
                "prefill_flop_fraction", "batch64_tok_s", "batch64_flop_fraction"}) {
            assertThat(j.getDouble(key)).as(key).isPositive();
        }
        assertThat(j.getString("weight_format")).isEqualTo("q4_0");
        assertThat(j.getArray("batches")).hasSize(3);
    }

    @Test
    void quantQualityComparesBothFormatsWithTheCheckpoint() {
        Result r = run("quant-quality", "--model", dir.toString(), "--tokens", "8", "--threads", "2");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("reference: bf16 weights").contains("q8_0: max |Δlogit|").contains("q4_0: max |Δlogit|");
        JsonObject j = r.lastJson();
        assertThat(j.getString("reference")).isEqualTo("bf16");
        assertThat(j.getObject("q4_0").getDouble("max_abs_delta")).isPositive();
        assertThat(j.getObject("q8_0").getDouble("greedy_agreement")).isBetween(0.0, 1.0);
    }

    @Test
    void badQuantizationIsAUsageErrorNamingTheOption() {
        Result r = run("logits", "--model", dir.toString(), "--ids", "1,2", "--quantize", "q3_k");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("--quantize: unknown quantization 'q3_k' (supported: none, q8_0, q4_0)");
        Result none = run("quant-quality", "--model", dir.toString(), "--quantize", "none");
        assertThat(none.status()).isEqualTo(2);
        assertThat(none.err()).contains("'none' is the reference");
        Result batch = run("bench", "--model", dir.toString(), "--batch", "0");
        assertThat(batch.status()).isEqualTo(2);
        assertThat(batch.err()).contains("--batch");
    }

    @Test
    void logitsWithQuantizedWeightsDifferALittle() {
        Result plain = run("logits", "--model", dir.toString(), "--ids", "1,2,3");
        Result q8 = run("logits", "--model", dir.toString(), "--ids", "1,2,3", "--quantize", "q8_0");
        assertThat(plain.status()).as(plain.err()).isZero();
        assertThat(q8.status()).as(q8.err()).isZero();
        assertThat(q8.out()).isNotEqualTo(plain.out());
    }
}
