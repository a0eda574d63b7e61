package io.llamba.engine.llamba;

import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every logit of every fixture against the independent numpy reference (tools/reference), in
 * prefill, token-by-token decoding and prefill-then-decode, within
 * max|Δ| ≤ 1e-4·max|logit| + 1e-5 per position.
 */
class ReferenceFixtureTest {

    static List<String> fixtures() {
        List<String> names = Fixtures.names();
        assertTrue(names.size() >= 7, "expected the reference fixtures, found " + names);
        return names;
    }

    private record Case(int[] ids, float[][] logits) {
    }

    private static List<Case> cases(JsonObject expected) {
        return expected.getArray("sequences").stream().map(o -> {
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) o;
            @SuppressWarnings("unchecked") List<Object> ids = (List<Object>) m.get("ids");
            @SuppressWarnings("unchecked") List<List<?>> rows = (List<List<?>>) m.get("logits");
            return new Case(Fixtures.ints(ids), rows.stream().map(Fixtures::floats).toArray(float[][]::new));
        }).toList();
    }

    private static void assertClose(String fixture, String mode, int seq, int pos, float[] expected, float[] actual, int off) {
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

    @ParameterizedTest
    @MethodSource("fixtures")
    void prefillMatchesReferenceAtEveryPosition(String name) {
        JsonObject expected = Fixtures.expected(name);
        try (Model model = ModelLoader.load(Fixtures.dir(name), new LoadOptions(null, 2)); StatePool pool = model.createStatePool(4)) {
            int v = model.vocabSize();
            assertEquals(expected.getInt("vocab_size"), v);
            List<Case> cases = cases(expected);
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] out = new float[c.ids.length * v];
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, 0, c.ids.length, out, true)));
                for (int p = 0; p < c.ids.length; p++) {
                    assertClose(name, "prefill", s, p, c.logits[p], out, p * v);
                }
                assertEquals(c.ids.length, state.position());
                pool.release(state);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void stepByStepMatchesReference(String name) {
        JsonObject expected = Fixtures.expected(name);
        try (Model model = ModelLoader.load(Fixtures.dir(name), new LoadOptions(null, 2)); StatePool pool = model.createStatePool(1)) {
            int v = model.vocabSize();
            List<Case> cases = cases(expected);
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] out = new float[v];
                for (int p = 0; p < c.ids.length; p++) {
                    model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, p, 1, out, false)));
                    assertClose(name, "step", s, p, c.logits[p], out, 0);
                }
                pool.release(state);
            }
        }
    }

    /** Prefill of the first k tokens, then decoding the rest, in one batch with other sequences. */
    @ParameterizedTest
    @MethodSource("fixtures")
    void prefillThenStepInMixedBatchesMatchesReference(String name) {
        JsonObject expected = Fixtures.expected(name);
        try (Model model = ModelLoader.load(Fixtures.dir(name), new LoadOptions(null, 2)); StatePool pool = model.createStatePool(8)) {
            int v = model.vocabSize();
            List<Case> cases = cases(expected);
            int n = cases.size();
            SequenceState[] states = new SequenceState[n];
            int[] pos = new int[n];
            float[][] out = new float[n][];
            for (int s = 0; s < n; s++) {
                states[s] = pool.tryAcquire().orElseThrow();
                out[s] = new float[cases.get(s).ids.length * v];
            }
            // Each round, every unfinished sequence advances by a different run length.
            int[] runs = {3, 1, 7, 1, 1, 12, 2, 1};
            record Pending(int seq, int start, float[] rows) {
            }
            for (int round = 0; ; round++) {
                ForwardBatch batch = new ForwardBatch();
                List<Pending> pending = new java.util.ArrayList<>();
                for (int s = 0; s < n; s++) {
                    Case c = cases.get(s);
                    if (pos[s] >= c.ids.length) {
                        continue;
                    }
                    int len = Math.min(runs[(round + s) % runs.length], c.ids.length - pos[s]);
                    float[] rows = new float[len * v];
                    batch.add(new ForwardBatch.Entry(states[s], c.ids, pos[s], len, rows, true));
                    pending.add(new Pending(s, pos[s], rows));
                    pos[s] += len;
                }
                if (batch.isEmpty()) {
                    break;
                }
                model.forward(batch);
                for (Pending pd : pending) {
                    System.arraycopy(pd.rows, 0, out[pd.seq], pd.start * v, pd.rows.length);
                }
            }
            for (int s = 0; s < n; s++) {
                Case c = cases.get(s);
                for (int p = 0; p < c.ids.length; p++) {
                    assertClose(name, "mixed", s, p, c.logits[p], out[s], p * v);
                }
            }
        }
    }
}
