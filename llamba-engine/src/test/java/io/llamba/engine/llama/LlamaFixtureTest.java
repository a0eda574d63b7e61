package io.llamba.engine.llama;

import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;
import io.llamba.engine.testing.Fixtures;
import io.llamba.engine.testing.LlamaFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every stored logit of the fixtures made by Hugging Face transformers' LlamaForCausalLM
 * (tools/llama-reference; expected values in float64 from the stored weights), in prefill (one
 * entry, split by the model into 256-token passes), token-by-token decoding, mixed ragged batches,
 * and after a snapshot/restore, within max|Δ| ≤ 1e-4·max|logit| + 1e-5 per position.
 */
class LlamaFixtureTest {

    static List<String> fixtures() {
        List<String> names = LlamaFixtures.names();
        assertTrue(names.size() >= 4, "expected the Llama fixtures, found " + names);
        return names;
    }

    /** A sequence and its expected logits at {@code positions} (every position for short ones). */
    record Case(int[] ids, int[] positions, float[][] logits) {
    }

    static JsonObject expected(String name) {
        return LlamaFixtures.expected(name);
    }

    static List<Case> cases(JsonObject expected) {
        assertTrue(expected.getString("reference").startsWith("transformers"), "fixture not made by transformers");
        return expected.getArray("sequences").stream().map(o -> {
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) o;
            @SuppressWarnings("unchecked") List<Object> ids = (List<Object>) m.get("ids");
            @SuppressWarnings("unchecked") List<Object> pos = (List<Object>) m.get("positions");
            @SuppressWarnings("unchecked") List<List<?>> rows = (List<List<?>>) m.get("logits");
            int[] idArray = Fixtures.ints(ids);
            int[] positions = pos == null ? IntStream.range(0, idArray.length).toArray() : Fixtures.ints(pos);
            assertEquals(positions.length, rows.size());
            return new Case(idArray, positions, rows.stream().map(Fixtures::floats).toArray(float[][]::new));
        }).toList();
    }

    static Model load(String name) {
        return ModelLoader.load(LlamaFixtures.dir(name), new LoadOptions(null, 2));
    }

    static void assertClose(String fixture, String mode, int seq, int pos, float[] expected, float[] actual, int off) {
        float maxAbs = 0;
        for (float v : expected) {
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        double tol = 1e-4 * maxAbs + 1e-5;
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[off + i]);
            if (!(d <= worst)) {
                worst = d;
                worstAt = i;
            }
        }
        if (!(worst <= tol)) {
            fail(fixture + " " + mode + " sequence " + seq + " position " + pos + ": max |Δlogit| " + worst + " at id " + worstAt
                    + " exceeds " + tol + " (expected " + expected[worstAt] + ", got " + actual[off + worstAt] + ")");
        }
    }

    /** Checks the stored positions of one sequence's all-position logits. */
    static void assertCase(String fixture, String mode, int seq, Case c, float[] all, int v) {
        for (int k = 0; k < c.positions.length; k++) {
            assertClose(fixture, mode, seq, c.positions[k], c.logits[k], all, c.positions[k] * v);
        }
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void prefillMatchesTransformers(String name) {
        JsonObject expected = expected(name);
        try (Model model = load(name); StatePool pool = model.createStatePool(4)) {
            int v = model.vocabSize();
            assertEquals(expected.getInt("vocab_size"), v);
            List<Case> cases = cases(expected);
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] out = new float[c.ids.length * v];
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, 0, c.ids.length, out, true)));
                assertCase(name, "prefill", s, c, out, v);
                assertEquals(c.ids.length, state.position());
                pool.release(state);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void stepByStepMatchesTransformers(String name) {
        try (Model model = load(name); StatePool pool = model.createStatePool(1)) {
            int v = model.vocabSize();
            List<Case> cases = cases(expected(name));
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] all = new float[c.ids.length * v];
                float[] out = new float[v];
                for (int p = 0; p < c.ids.length; p++) {
                    model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, p, 1, out, false)));
                    System.arraycopy(out, 0, all, p * v, v);
                }
                assertCase(name, "step", s, c, all, v);
                pool.release(state);
            }
        }
    }

    /** Every sequence at once, each advancing by a different run length per round (prefill chunks beside decode tokens). */
    @ParameterizedTest
    @MethodSource("fixtures")
    void mixedRaggedBatchesMatchTransformers(String name) {
        try (Model model = load(name); StatePool pool = model.createStatePool(8)) {
            int v = model.vocabSize();
            List<Case> cases = cases(expected(name));
            int n = cases.size();
            SequenceState[] states = new SequenceState[n];
            int[] pos = new int[n];
            float[][] out = new float[n][];
            for (int s = 0; s < n; s++) {
                states[s] = pool.tryAcquire().orElseThrow();
                out[s] = new float[cases.get(s).ids.length * v];
            }
            int[] runs = {3, 1, 7, 1, 1, 12, 2, 1, 64, 5};
            for (int round = 0; ; round++) {
                ForwardBatch batch = new ForwardBatch();
                List<int[]> pending = new ArrayList<>();
                List<float[]> rows = new ArrayList<>();
                for (int s = 0; s < n; s++) {
                    Case c = cases.get(s);
                    if (pos[s] >= c.ids.length) {
                        continue;
                    }
                    int len = Math.min(runs[(round + s) % runs.length], c.ids.length - pos[s]);
                    float[] r = new float[len * v];
                    batch.add(new ForwardBatch.Entry(states[s], c.ids, pos[s], len, r, true));
                    pending.add(new int[]{s, pos[s]});
                    rows.add(r);
                    pos[s] += len;
                }
                if (batch.isEmpty()) {
                    break;
                }
                model.forward(batch);
                for (int i = 0; i < pending.size(); i++) {
                    System.arraycopy(rows.get(i), 0, out[pending.get(i)[0]], pending.get(i)[1] * v, rows.get(i).length);
                }
            }
            for (int s = 0; s < n; s++) {
                assertCase(name, "mixed", s, cases.get(s), out[s], v);
            }
        }
    }

    /**
     * Prefill half the long sequence, snapshot, finish it; restore the snapshot into a fresh state
     * of another pool and finish again: identical logits, and both match transformers.
     */
    @ParameterizedTest
    @MethodSource("fixtures")
    void snapshotRestoreContinuesExactly(String name) {
        try (Model model = load(name); StatePool pool = model.createStatePool(1); StatePool other = model.createStatePool(1)) {
            int v = model.vocabSize();
            Case c = cases(expected(name)).getLast();
            int half = 150;
            int rest = c.ids.length - half;
            SequenceState a = pool.tryAcquire().orElseThrow();
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(a, c.ids, 0, half, null, false)));
            StateSnapshot snap = a.snapshot();
            assertEquals(half, snap.position());
            float[] first = new float[rest * v];
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(a, c.ids, half, rest, first, true)));

            SequenceState b = other.tryAcquire().orElseThrow();
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(b, c.ids, 0, 7, null, false))); // something to overwrite
            b.restore(snap);
            assertEquals(half, b.position());
            float[] second = new float[rest * v];
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(b, c.ids, half, rest, second, true)));
            assertSameUpToRounding(first, second, "restored");

            float[] all = new float[c.ids.length * v];
            System.arraycopy(second, 0, all, half * v, rest * v);
            for (int k = 0; k < c.positions.length; k++) {
                if (c.positions[k] >= half) {
                    assertClose(name, "restored", 3, c.positions[k], c.logits[k], all, c.positions[k] * v);
                }
            }
        }
    }

    /**
     * The same computation twice agrees to rounding. Not bit for bit: the shared matrix kernels sum
     * vector lanes with reduceLanes(ADD), whose order differs between the interpreter and the JIT's
     * compiled code, so the last bit of a dot product may change while the JVM warms up (seen here:
     * a whole forward pass repeated 40 times from a cold JVM differed in 5). Real batch contamination
     * (rows mixed, a wrong position or cache) moves logits by orders of magnitude more than 1e-5.
     */
    static void assertSameUpToRounding(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length);
        float maxAbs = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= 1e-5 * maxAbs, what + ": logits differ by " + worst + " (max |logit| " + maxAbs + ")");
    }

    /** A row's logits do not depend on the other sequences in its batch. */
    @ParameterizedTest
    @MethodSource("fixtures")
    void logitsDoNotDependOnTheBatch(String name) {
        try (Model model = load(name); StatePool pool = model.createStatePool(4)) {
            int v = model.vocabSize();
            List<Case> cases = cases(expected(name));
            int[] ids = cases.get(2).ids; // the 40-token sequence
            SequenceState alone = pool.tryAcquire().orElseThrow();
            float[] solo = new float[ids.length * v];
            for (int p = 0; p < ids.length; p++) {
                float[] out = new float[v];
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(alone, ids, p, 1, out, false)));
                System.arraycopy(out, 0, solo, p * v, v);
            }
            SequenceState with = pool.tryAcquire().orElseThrow();
            SequenceState other1 = pool.tryAcquire().orElseThrow();
            SequenceState other2 = pool.tryAcquire().orElseThrow();
            int[] long1 = cases.get(3).ids;
            float[] batched = new float[ids.length * v];
            for (int p = 0; p < ids.length; p++) {
                float[] out = new float[v];
                model.forward(new ForwardBatch()
                        .add(new ForwardBatch.Entry(other1, long1, p * 5, 5, new float[5 * v], true))
                        .add(new ForwardBatch.Entry(with, ids, p, 1, out, false))
                        .add(new ForwardBatch.Entry(other2, long1, p, 1, new float[v], false)));
                System.arraycopy(out, 0, batched, p * v, v);
            }
            assertSameUpToRounding(solo, batched, "batched");
        }
    }
}
