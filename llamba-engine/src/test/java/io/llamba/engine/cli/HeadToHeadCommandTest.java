package io.llamba.engine.cli;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.RandomCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.llamba.engine.cli.ModelCommandsTest.run;
import static org.assertj.core.api.Assertions.assertThat;

/** head-to-head on two tiny models, one per architecture: tables, JSON, plot and replot. */
class HeadToHeadCommandTest {
    @TempDir
    Path tmp;

    Path tinyModels() throws Exception {
        RandomCheckpoint.write(Json.parseObject("""
                {"model_type": "llamba", "vocab_size": 97, "d_model": 32, "n_layer": 2, "tie_embeddings": true,
                 "mlp_cfg": {"intermediate_size": 64}, "ssm_cfg": {"d_state": 8, "n_v_heads": 4, "n_qk_heads": 2}}""", "llamba"),
                DType.BF16, tmp.resolve("tiny-llamba"), 1, Long.MAX_VALUE);
        RandomCheckpoint.write(Json.parseObject("""
                {"model_type": "llama", "vocab_size": 97, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 600, "tie_word_embeddings": true}""", "llama"),
                DType.BF16, tmp.resolve("tiny-llama"), 1, Long.MAX_VALUE);
        return tmp;
    }

    @Test
    void measuresBothArchitecturesTheSameWay() throws Exception {
        tinyModels();
        Path json = tmp.resolve("out/results.json");
        Path png = tmp.resolve("out/plot.png");
        ModelCommandsTest.Run r = run("head-to-head", "--models", tmp.resolve("tiny-llamba") + "," + tmp.resolve("tiny-llama"),
                "--contexts", "300,16", "--batches", "1,3", "--steps", "2", "--report-contexts", "64,512,1024", "--memory-gb", "0.001",
                "--threads", "1", "--json", json.toString(), "--plot", png.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("| tiny-llamba | 16 |", "| tiny-llamba | 300 |", "| tiny-llama | 300 |", "batch 3");
        JsonObject root = Json.parseObject(Files.readString(json), "results");
        List<JsonObject> models = root.getObjectList("models");
        assertThat(models).extracting(m -> m.getString("architecture")).containsExactly("llamba", "llama");
        for (JsonObject m : models) {
            assertThat(m.getObjectList("decode")).hasSize(4);
            assertThat(m.getObjectList("prefill")).extracting(p -> p.getInt("context")).containsExactly(16, 300);
            for (JsonObject d : m.getObjectList("decode")) {
                assertThat(d.getDouble("tokens_per_second")).isPositive();
            }
        }
        // Llamba's state is the same at every context; Llama's KV cache grows with it (2 layers · k,v · 2 heads · 8 · 4 bytes per token).
        List<JsonObject> llambaCap = models.get(0).getObjectList("capacity");
        assertThat(llambaCap.get(0).getLong("bytes_per_sequence")).isEqualTo(llambaCap.get(1).getLong("bytes_per_sequence"));
        List<JsonObject> llamaCap = models.get(1).getObjectList("capacity");
        assertThat(llamaCap.get(0).getLong("bytes_per_sequence")).isEqualTo(64L * 2 * 2 * 2 * 8 * 4);
        assertThat(llamaCap.get(0).getLong("largest_batch")).isEqualTo(1_000_000L / (64L * 2 * 2 * 2 * 8 * 4));
        assertThat(llamaCap.get(2).getLong("bytes_per_sequence")).isEqualTo(-1); // beyond max_position_embeddings 600
        assertThat(r.out()).contains("beyond its context");

        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(1000);
        ModelCommandsTest.Run again = run("head-to-head", "--replot", json.toString(), "--plot", tmp.resolve("again.png").toString());
        assertThat(again.status()).as(again.err()).isZero();
        assertThat(again.out()).isEqualTo(r.out());
        assertThat(tmp.resolve("again.png")).exists();
    }

    /**
     * A budget of 30 kB: the tiny Llamba's state (3.5 kB) fits 8 sequences at any context, the tiny Llama's
     * KV cache (256 bytes a token) one sequence at 20 or 67 tokens; batch 8 of Llama is reported as not
     * fitting, not measured. The largest batch is decoded at the report context that is also a decode context.
     */
    @Test
    void pointsThatDoNotFitAreReportedAndTheLargestBatchIsMeasured() throws Exception {
        tinyModels();
        Path json = tmp.resolve("fit.json");
        ModelCommandsTest.Run r = run("head-to-head", "--models", tmp.resolve("tiny-llamba") + "," + tmp.resolve("tiny-llama"),
                "--contexts", "16,64", "--batches", "1,8", "--steps", "2", "--rounds", "1", "--report-contexts", "64,512",
                "--memory-gb", "0.00003", "--max-batch-steps", "1", "--threads", "1", "--json", json.toString());
        assertThat(r.status()).as(r.err()).isZero();
        JsonObject root = Json.parseObject(Files.readString(json), "results");
        List<JsonObject> models = root.getObjectList("models");
        JsonObject llamba = models.get(0);
        JsonObject llama = models.get(1);
        assertThat(llamba.getObjectList("decode")).hasSize(4);
        assertThat(llamba.getArray("not_fitting")).isEmpty();
        assertThat(llama.getObjectList("decode")).extracting(d -> d.getInt("batch")).containsExactly(1, 1);
        assertThat(llama.getArray("not_fitting")).hasSize(2);
        assertThat(r.out()).containsPattern("\\| tiny-llama \\| 64 \\| [0-9.]+ \\| does not fit \\|");
        JsonObject llambaCap = llamba.getObjectList("capacity").getFirst();
        long llambaState = llambaCap.getLong("bytes_per_sequence");
        assertThat(llambaCap.getLong("budget_bytes")).isEqualTo(30_000L);
        assertThat(llambaCap.getObject("largest_batch_decode").getInt("batch")).isEqualTo((int) (30_000L / llambaState));
        JsonObject llamaCap = llama.getObjectList("capacity").getFirst();
        assertThat(llamaCap.getLong("largest_batch")).isEqualTo(30_000L / (64L * 256));
        assertThat(llamaCap.getObject("largest_batch_decode").getInt("batch")).isEqualTo(1);
        assertThat(llamaCap.getObject("largest_batch_decode").getDouble("tokens_per_second")).isPositive();
        assertThat(llama.getObjectList("capacity").get(1).has("largest_batch_decode")).as("512 is not a decode context").isFalse();
        assertThat(r.out()).contains("does not fit", "Decode at the largest batch that fits", "| tiny-llama | 64 | 1 |");
    }

    @Test
    void contextBeyondTheModelIsAClearError() throws Exception {
        tinyModels();
        ModelCommandsTest.Run r = run("head-to-head", "--models", tmp.resolve("tiny-llama").toString(), "--contexts", "599",
                "--batches", "1", "--threads", "1");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("exceeds the model's context limit of 600 tokens");
        ModelCommandsTest.Run bad = run("head-to-head", "--models", "no-such-preset");
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("not a preset");
    }
}
