package io.llamba.engine.cli;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.RandomCheckpoint;
import io.llamba.engine.testing.ByteTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** bench-serving end to end on a tiny random model with a byte-level tokenizer. */
@Timeout(120)
class BenchServingCommandTest {
    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Path tinyModel(Path dir) throws Exception {
        String config = """
                {"model_type": "llamba", "vocab_size": %d, "d_model": 64, "n_layer": 2, "tie_embeddings": true,
                 "mlp_cfg": {"intermediate_size": 128}, "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 2}}"""
                .formatted(ByteTokenizer.VOCAB);
        RandomCheckpoint.write(Json.parseObject(config, "config"), DType.BF16, dir, 5, Long.MAX_VALUE);
        Files.writeString(dir.resolve("tokenizer.json"), ByteTokenizer.json());
        return dir;
    }

    @Test
    void printsARowPerConcurrencyAndATurnTableWithTheCacheRestoringHistory(@TempDir Path dir) throws Exception {
        Run r = run("bench-serving", "--model", tinyModel(dir).toString(), "--concurrency", "1,3", "--duration", "0.5",
                "--prompt-tokens", "24", "--max-tokens", "8", "--turns", "3", "--user-tokens", "12", "--reply-tokens", "4", "--threads", "2");
        assertThat(r.status()).as(r.err()).isZero();
        // One row per concurrency with a positive rate: clients, tok/s, ...
        for (String clients : List.of("1", "3")) {
            Matcher m = Pattern.compile("(?m)^\\s+" + clients + "\\s+(\\d+\\.\\d+)\\s").matcher(r.out());
            assertThat(m.find()).as(r.out()).isTrue();
            assertThat(Double.parseDouble(m.group(1))).isPositive();
        }
        // Turn rows: turn, prompt, cached, prefilled, TTFT off, TTFT on, reply.
        Matcher turn = Pattern.compile("(?m)^\\s+(\\d)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+\\d+\\.\\d\\s+\\d+\\.\\d\\s+\\d+$").matcher(r.out());
        int turns = 0;
        while (turn.find()) {
            turns++;
            int prompt = Integer.parseInt(turn.group(2));
            int cached = Integer.parseInt(turn.group(3));
            assertThat(cached + Integer.parseInt(turn.group(4))).isEqualTo(prompt);
            if (turns > 1) {
                assertThat(cached).as("turn " + turns).isPositive();
            } else {
                assertThat(cached).isZero();
            }
        }
        assertThat(turns).as(r.out()).isEqualTo(3);
        assertThat(r.out()).contains("replies identical with and without the cache: 3 of 3 turns");
        assertThat(r.out()).as("the model line names the checkpoint's dtype").containsPattern("(?m)^model: \\S+ \\((F32|BF16|F16)\\)");
    }

    @Test
    void badSettingsAreUsageErrors(@TempDir Path dir) {
        Run r = run("bench-serving", "--model", dir.toString(), "--concurrency", "1,0");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("--concurrency: each level must be within 1..4096, got 0");
        r = run("bench-serving", "--model", dir.toString(), "--duration", "-1");
        assertThat(r.err()).contains("--duration must be within (0, 3600] seconds, got -1");
        r = run("bench-serving", "--model", dir.toString(), "--turns", "0");
        assertThat(r.err()).contains("--turns must be positive, got 0");
    }
}
