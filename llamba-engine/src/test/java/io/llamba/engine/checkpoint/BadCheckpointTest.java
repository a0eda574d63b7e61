package io.llamba.engine.checkpoint;

import io.llamba.engine.checkpoint.SafetensorsWriter.Entry;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.RandomCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every kind of bad model directory gives an exception whose message names the problem. */
class BadCheckpointTest {
    static final String CONFIG = """
            {"model_type": "llamba", "vocab_size": 30, "d_model": 16, "n_layer": 1,
             "mlp_cfg": {"intermediate_size": 32}, "ssm_cfg": {"d_state": 4, "n_v_heads": 2, "n_qk_heads": 1}}""";

    @TempDir
    Path tmp;

    private Path validModel() throws IOException {
        Path dir = tmp.resolve("model");
        RandomCheckpoint.write(Json.parseObject(CONFIG, "test config"), DType.F32, dir, 1, Long.MAX_VALUE);
        return dir;
    }

    private static Model load(Path dir) {
        return ModelLoader.load(dir, new LoadOptions(null, 1));
    }

    @Test
    void validModelLoads() throws IOException {
        try (Model m = load(validModel())) {
            assertThat(m.info().architecture()).isEqualTo("llamba");
            assertThat(m.vocabSize()).isEqualTo(30);
        }
    }

    @Test
    void missingDirectory() {
        assertThatThrownBy(() -> load(tmp.resolve("nope"))).isInstanceOf(ModelException.class)
                .hasMessageContaining("nope").hasMessageContaining("not found");
    }

    @Test
    void missingConfig() throws IOException {
        Path dir = validModel();
        Files.delete(dir.resolve("config.json"));
        assertThatThrownBy(() -> load(dir)).hasMessageContaining("no config.json");
    }

    @Test
    void invalidJsonInConfig() throws IOException {
        Path dir = validModel();
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llamba\", \"d_model\": 16,,}");
        assertThatThrownBy(() -> load(dir)).isInstanceOf(ModelException.class)
                .hasMessageContaining("config.json").hasMessageContaining("invalid JSON at line 1, column");
    }

    @Test
    void unknownModelTypeListsSupported() throws IOException {
        Path dir = validModel();
        Files.writeString(dir.resolve("config.json"), CONFIG.replace("\"llamba\"", "\"gpt9\""));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(ModelException.class)
                .hasMessageContaining("unknown model_type 'gpt9'").hasMessageContaining("supported: ").hasMessageContaining("llamba");
    }

    @Test
    void invalidConfigFieldIsNamed() throws IOException {
        Path dir = validModel();
        Files.writeString(dir.resolve("config.json"), CONFIG.replace("\"n_qk_heads\": 1", "\"n_qk_heads\": 3"));
        assertThatThrownBy(() -> load(dir)).hasMessageContaining("ssm_cfg.n_v_heads").hasMessageContaining("n_qk_heads 3");
        Files.writeString(dir.resolve("config.json"), CONFIG.replace("\"d_model\": 16", "\"d_model\": \"16\""));
        assertThatThrownBy(() -> load(dir)).hasMessageContaining("field d_model").hasMessageContaining("expected an integer");
    }

    @Test
    void missingWeights() throws IOException {
        Path dir = validModel();
        Files.delete(dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("neither model.safetensors nor model.safetensors.index.json");
    }

    /** Rewrites the checkpoint with one tensor dropped, renamed or reshaped. */
    private Path rewritten(java.util.function.UnaryOperator<List<Entry>> edit) throws IOException {
        Path dir = validModel();
        List<Entry> entries;
        try (Checkpoint ck = Checkpoint.open(dir)) {
            entries = new java.util.ArrayList<>(ck.tensors().values().stream().map(t -> new Entry(t.name(), t.dtype(), t.shape(),
                    (seg, dt, n) -> {
                        for (long i = 0; i < n; i++) {
                            Floats.write(seg, dt, i, 0.01f);
                        }
                    })).toList());
        }
        SafetensorsWriter.writeFile(dir.resolve("model.safetensors"), edit.apply(entries));
        return dir;
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path dir = rewritten(es -> es.stream().filter(e -> !e.name().equals("backbone.layers.0.mixer.D")).toList());
        assertThatThrownBy(() -> load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("missing tensor backbone.layers.0.mixer.D");
    }

    @Test
    void unexpectedTensorIsNamed() throws IOException {
        Path dir = rewritten(es -> {
            List<Entry> out = new java.util.ArrayList<>(es);
            out.add(new Entry("backbone.layers.7.mixer.surprise", DType.F32, new long[]{2}, (s, d, n) -> {
            }));
            return out;
        });
        assertThatThrownBy(() -> load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("unexpected tensor backbone.layers.7.mixer.surprise");
    }

    @Test
    void wrongShapeNamesExpectedAndActual() throws IOException {
        Path dir = rewritten(es -> es.stream().map(e -> e.name().equals("backbone.layers.0.mlp.up_proj.weight")
                ? new Entry(e.name(), e.dtype(), new long[]{16, 32}, e.filler()) : e).toList());
        assertThatThrownBy(() -> load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("backbone.layers.0.mlp.up_proj.weight").hasMessageContaining("[16, 32]")
                .hasMessageContaining("expected [32, 16]");
    }

    @Test
    void paddedVocabularyRowsAreAccepted() throws IOException {
        // vocab 30 pads to 32 rows; 40 rows (a larger padding multiple) is fine too.
        Path dir = rewritten(es -> es.stream().map(e -> e.name().equals("backbone.embedding.weight")
                ? new Entry(e.name(), e.dtype(), new long[]{40, 16}, e.filler()) : e).toList());
        try (Model m = load(dir)) {
            assertThat(m.vocabSize()).isEqualTo(30);
        }
        Path small = rewritten(es -> es.stream().map(e -> e.name().equals("backbone.embedding.weight")
                ? new Entry(e.name(), e.dtype(), new long[]{29, 16}, e.filler()) : e).toList());
        assertThatThrownBy(() -> load(small)).hasMessageContaining("expected [>=30, 16]");
    }

    @Test
    void integerDtypeWeightsAreRejected() throws IOException {
        Path dir = rewritten(es -> es.stream().map(e -> e.name().equals("backbone.layers.0.mixer.D")
                ? new Entry(e.name(), DType.I32, e.shape(), (s, d, n) -> {
        }) : e).toList());
        assertThatThrownBy(() -> load(dir)).hasMessageContaining("backbone.layers.0.mixer.D").hasMessageContaining("dtype I32");
    }

    // ---- corrupt safetensors files, written byte by byte

    private Path rawFile(String header, int dataBytes, long declaredHeaderLength) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(declaredHeaderLength < 0 ? h.length : declaredHeaderLength).put(h);
        Path p = tmp.resolve("raw.safetensors");
        Files.write(p, buf.array());
        return p;
    }

    private CheckpointException openRaw(Path p) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            SafetensorsFile.open(p, arena);
        } catch (CheckpointException e) {
            return e;
        }
        throw new AssertionError("expected a CheckpointException for " + p);
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        Path p = rawFile("{}", 0, 1_000_000);
        assertThat(openRaw(p)).hasMessageContaining("raw.safetensors").hasMessageContaining("header length 1000000")
                .hasMessageContaining("past the end of the file");
    }

    @Test
    void fileShorterThanHeaderLength() throws IOException {
        Path p = tmp.resolve("tiny.safetensors");
        Files.write(p, new byte[]{1, 2, 3});
        assertThat(openRaw(p)).hasMessageContaining("tiny.safetensors").hasMessageContaining("3 bytes");
    }

    @Test
    void invalidHeaderJson() throws IOException {
        Path p = rawFile("{\"a\": {\"dtype\": \"F32\",", 0, -1);
        assertThat(openRaw(p)).hasMessageContaining("corrupt safetensors").hasMessageContaining("invalid JSON");
    }

    @Test
    void offsetsOutsideTheData() throws IOException {
        Path p = rawFile("{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8, -1);
        assertThat(openRaw(p)).hasMessageContaining("tensor w").hasMessageContaining("outside the data section of 8 bytes");
    }

    @Test
    void overlappingOffsets() throws IOException {
        Path p = rawFile("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12, -1);
        assertThat(openRaw(p)).hasMessageContaining("tensors a").hasMessageContaining("and b").hasMessageContaining("overlap");
    }

    @Test
    void unknownDtype() throws IOException {
        Path p = rawFile("{\"w\": {\"dtype\": \"F8_E9M9\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 2, -1);
        assertThat(openRaw(p)).hasMessageContaining("tensor w").hasMessageContaining("unknown dtype 'F8_E9M9'");
    }

    @Test
    void byteCountNotMatchingShape() throws IOException {
        Path p = rawFile("{\"w\": {\"dtype\": \"BF16\", \"shape\": [3, 2], \"data_offsets\": [0, 10]}}", 10, -1);
        assertThat(openRaw(p)).hasMessageContaining("tensor w").hasMessageContaining("byte count 10")
                .hasMessageContaining("[3, 2]").hasMessageContaining("12 bytes");
    }

    @Test
    void truncatedCheckpointInModelDirectory() throws IOException {
        Path dir = validModel();
        Path f = dir.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 100));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("outside the data section");
    }

    // ---- sharded checkpoints

    private Path sharded() throws IOException {
        Path dir = tmp.resolve("sharded");
        RandomCheckpoint.write(Json.parseObject(CONFIG, "test config"), DType.BF16, dir, 1, 4000);
        assertThat(dir.resolve(Checkpoint.INDEX_FILE)).exists();
        return dir;
    }

    @Test
    void shardedCheckpointLoads() throws IOException {
        Path dir = sharded();
        try (Model m = load(dir)) {
            assertThat(m.info().parameters()).isGreaterThan(0);
        }
    }

    @Test
    void indexNamingMissingShard() throws IOException {
        Path dir = sharded();
        Files.delete(dir.resolve("model-00002-of-" + shardCount(dir) + ".safetensors"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("names shard model-00002-of-").hasMessageContaining("missing");
    }

    @Test
    void invalidIndexJson() throws IOException {
        Path dir = sharded();
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\": [");
        assertThatThrownBy(() -> load(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(Checkpoint.INDEX_FILE).hasMessageContaining("invalid JSON");
    }

    @Test
    void indexPointingOutsideTheDirectory() throws IOException {
        Path dir = sharded();
        String index = Files.readString(dir.resolve(Checkpoint.INDEX_FILE));
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), index.replaceFirst("\"model-00001", "\"../model-00001"));
        assertThatThrownBy(() -> load(dir)).hasMessageContaining("outside the model directory");
    }

    private static String shardCount(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            String any = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("model-00001-of-")).findFirst().orElseThrow();
            return any.substring("model-00001-of-".length(), any.length() - ".safetensors".length());
        }
    }
}
