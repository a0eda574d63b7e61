package io.llamba.engine.llama;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.RandomCheckpoint;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The paged KV cache as a state pool: sizes, limits, recycling, snapshots, misuse. */
class LlamaKvCacheTest {
    static final String CONFIG = """
            {"model_type": "llama", "vocab_size": 50, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 300, "tie_word_embeddings": true}""";
    static Model model;
    static Model other;

    @BeforeAll
    static void load(@TempDir Path dir) throws Exception {
        RandomCheckpoint.write(Json.parseObject(CONFIG, "config"), DType.F32, dir.resolve("a"), 1, Long.MAX_VALUE);
        RandomCheckpoint.write(Json.parseObject(CONFIG.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1"), "config"),
                DType.F32, dir.resolve("b"), 1, Long.MAX_VALUE);
        model = ModelLoader.load(dir.resolve("a"), new LoadOptions(null, 2));
        other = ModelLoader.load(dir.resolve("b"), new LoadOptions(null, 1));
    }

    @AfterAll
    static void close() {
        model.close();
        other.close();
    }

    static int[] ids(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = (i * 7 + 3) % 50;
        }
        return a;
    }

    static void feed(SequenceState s, int n) {
        model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, ids(n), 0, n, null, false)));
    }

    @Test
    void reportsTheCacheAtTheContextLimitAndGrowsByBlocks() {
        long perToken = 2L * 2 * 2 * 8 * Float.BYTES; // layers · (k, v) · kv heads · head_dim
        assertThat(model.info().stateBytesPerSequence()).isEqualTo(300 * perToken);
        assertThat(model.info().details()).containsEntry("kv_cache_bytes_per_token", perToken);
        try (StatePool pool = model.createStatePool(2, 100); StatePool capped = model.createStatePool(1, 100_000)) {
            assertThat(pool.bytesPerState()).isEqualTo(100 * perToken);
            assertThat(capped.bytesPerState()).isEqualTo(300 * perToken); // never beyond max_position_embeddings
            SequenceState s = pool.tryAcquire().orElseThrow();
            assertThat(s.bytes()).isZero();
            feed(s, 1);
            long block = 64 * perToken;
            assertThat(s.bytes()).isEqualTo(block);
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, ids(70), 1, 69, null, false)));
            assertThat(s.position()).isEqualTo(70);
            assertThat(s.bytes()).isEqualTo(2 * block);
            pool.release(s);
            SequenceState again = pool.tryAcquire().orElseThrow();
            assertThat(again.position()).isZero();
            assertThat(again.bytes()).isZero();
            feed(again, 100);
            assertThat(((LlamaCpuStatePool) pool).blocksAllocated()).isEqualTo(2 * 2 * 2); // recycled, not new
        }
    }

    @Test
    void refusesTokensBeyondTheContextLimitAndLeavesTheStateAsItWas() {
        try (StatePool pool = model.createStatePool(1, 40)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            feed(s, 30);
            float[] logits = new float[50];
            assertThatThrownBy(() -> model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, ids(11), 0, 11, logits, false))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("position 30 cannot take 11 more tokens")
                    .hasMessageContaining("at most 40 tokens");
            assertThat(s.position()).isEqualTo(30);
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, ids(10), 0, 10, logits, false)));
            assertThat(s.position()).isEqualTo(40);
        }
    }

    @Test
    void poolLimitsAndMisuse() {
        try (StatePool pool = model.createStatePool(2); StatePool second = model.createStatePool(1)) {
            SequenceState a = pool.tryAcquire().orElseThrow();
            SequenceState b = pool.tryAcquire().orElseThrow();
            assertThat(pool.tryAcquire()).isEmpty();
            assertThat(pool.inUse()).isEqualTo(2);
            assertThatThrownBy(() -> second.release(a)).isInstanceOf(IllegalArgumentException.class);
            pool.release(a);
            assertThatThrownBy(() -> pool.release(a)).isInstanceOf(IllegalStateException.class).hasMessageContaining("twice");
            assertThatThrownBy(() -> model.forward(new ForwardBatch().add(b, ids(2), null).add(b, ids(2), null)))
                    .hasMessageContaining("twice");
            try (StatePool foreign = other.createStatePool(1)) {
                SequenceState f = foreign.tryAcquire().orElseThrow();
                assertThatThrownBy(() -> model.forward(new ForwardBatch().add(f, ids(2), null)))
                        .hasMessageContaining("not a Llama CPU state of this model");
                other.forward(new ForwardBatch().add(f, ids(3), null));
                StateSnapshot snap = f.snapshot();
                assertThatThrownBy(() -> b.restore(snap)).hasMessageContaining("not from a Llama state of this model");
            }
            assertThatThrownBy(() -> model.createStatePool(0)).hasMessageContaining("at least 1");
        }
    }

    @Test
    void snapshotIsIndependentOfLaterStepsAndRespectsTheTargetLimit() {
        try (StatePool pool = model.createStatePool(2); StatePool small = model.createStatePool(1, 20)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            feed(s, 30);
            StateSnapshot snap = s.snapshot();
            assertThat(snap.position()).isEqualTo(30);
            assertThat(snap.bytes()).isEqualTo(s.bytes());
            float[] before = new float[50];
            SequenceState t = pool.tryAcquire().orElseThrow();
            t.restore(snap);
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(t, new int[]{5}, 0, 1, before, false)));
            feed(s, 40); // s moves on and overwrites its blocks; the snapshot must not change
            pool.release(t);
            SequenceState t2 = pool.tryAcquire().orElseThrow();
            t2.restore(snap);
            float[] after = new float[50];
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(t2, new int[]{5}, 0, 1, after, false)));
            assertThat(after).containsExactly(before, org.assertj.core.data.Offset.offset(1e-5f * max(before)));
            SequenceState tiny = small.tryAcquire().orElseThrow();
            assertThatThrownBy(() -> tiny.restore(snap)).hasMessageContaining("beyond this pool's context limit of 20");
        }
    }

    static float max(float[] a) {
        float m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
