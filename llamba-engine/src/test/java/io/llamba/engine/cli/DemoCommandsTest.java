package io.llamba.engine.cli;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The commands that take --model use the embedded demo model without it; eval-demo's output. */
class DemoCommandsTest {
    private record Result(int status, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void evalDemoPrintsPerFamilyAccuracyThenTheTotal() {
        Result r = run("eval-demo", "--n", "10", "--seed", "3", "--threads", "2");
        assertThat(r.status()).as(r.err()).isZero();
        List<String> lines = r.out().strip().lines().toList();
        assertThat(lines).hasSize(6);
        assertThat(lines.getFirst()).startsWith("arithmetic ");
        assertThat(lines.getLast()).matches("accuracy [01]\\.\\d{3} \\(\\d+/10\\)");
        assertThat(r.err()).contains("10 prompts, seed 3");
    }

    @Test
    void logitsAndGenerateUseTheDemoModelByDefault() {
        Result logits = run("logits", "--ids", "1024,1030,1033");
        assertThat(logits.status()).as(logits.err()).isZero();
        JsonObject json = Json.parseObject(logits.out(), "logits output");
        assertThat((List<?>) json.getArray("logits").getFirst()).hasSize(1280);

        Result gen = run("generate", "--prompt", "What is the capital of France?", "--temperature", "0", "--max-tokens", "20");
        assertThat(gen.status()).as(gen.err()).isZero();
        assertThat(gen.out().strip()).isEqualTo("The capital of France is Paris.");
    }

    @Test
    void badOptionsAreNamed() {
        Result r = run("eval-demo", "--n", "0");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("--n must be positive");
        r = run("eval-demo", "--model", "/nonexistent/model");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("/nonexistent/model");
    }
}
