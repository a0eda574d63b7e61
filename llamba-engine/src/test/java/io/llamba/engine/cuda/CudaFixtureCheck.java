package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.testing.Fixtures;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The reference fixtures through a CUDA model (on a real device or the emulator): every logit of
 * every position in prefill, token-by-token decoding and mixed ragged batches, against the numpy
 * reference. Shared by the emulator tests and the GPU tests.
 */
final class CudaFixtureCheck {
    record Case(int[] ids, float[][] logits) {
    }

    /** The worst error of a comparison, relative to the largest |logit| of its row. */
    record Worst(double relative, String where) {
        Worst max(Worst o) {
            return o.relative > relative || Double.isNaN(o.relative) ? o : this;
        }
    }

    private CudaFixtureCheck() {
    }

    static List<Case> cases(JsonObject expected) {
        return expected.getArray("sequences").stream().map(o -> {
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) o;
            @SuppressWarnings("unchecked") List<Object> ids = (List<Object>) m.get("ids");
            @SuppressWarnings("unchecked") List<List<?>> rows = (List<List<?>>) m.get("logits");
            return new Case(Fixtures.ints(ids), rows.stream().map(Fixtures::floats).toArray(float[][]::new));
        }).toList();
    }

    /** The weight format a checkpoint loads as by default: BF16 stays BF16, F32 and F16 become F32. */
    static DType defaultWeights(Checkpoint ck) {
        return ck.get("backbone.embedding.weight").dtype() == DType.BF16 ? DType.BF16 : DType.F32;
    }

    static LlambaCudaModel load(String fixture, Device dev, DType weights, DType state, boolean graphs) {
        Path dir = Fixtures.dir(fixture);
        JsonObject json = ModelLoader.readConfig(dir);
        Checkpoint ck = Checkpoint.open(dir);
        DType w = weights != null ? weights : defaultWeights(ck);
        return new LlambaCudaModel(fixture, json, dev, false, w, state, ck, 0, graphs);
    }

    static Worst compare(String where, float[] expected, float[] actual, int off) {
        float maxAbs = 0;
        for (float v : expected) {
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        double worst = 0;
        int at = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[off + i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        return new Worst(worst / Math.max(maxAbs, 1e-6), where + " id " + at + " (expected " + expected[at] + ", got " + actual[off + at] + ")");
    }

    /** Prefill of each whole sequence, logits at every position. */
    static Worst prefill(String fixture, Model model) {
        Worst worst = new Worst(0, "");
        List<Case> cases = cases(Fixtures.expected(fixture));
        int v = model.vocabSize();
        try (StatePool pool = model.createStatePool(2)) {
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] out = new float[c.ids.length * v];
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, 0, c.ids.length, out, true)));
                for (int p = 0; p < c.ids.length; p++) {
                    worst = worst.max(compare(fixture + " prefill seq " + s + " pos " + p, c.logits[p], out, p * v));
                }
                pool.release(state);
            }
        }
        return worst;
    }

    /** One token at a time (decode passes). */
    static Worst steps(String fixture, Model model) {
        Worst worst = new Worst(0, "");
        List<Case> cases = cases(Fixtures.expected(fixture));
        int v = model.vocabSize();
        try (StatePool pool = model.createStatePool(1)) {
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] out = new float[v];
                for (int p = 0; p < c.ids.length; p++) {
                    model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, p, 1, out, false)));
                    worst = worst.max(compare(fixture + " step seq " + s + " pos " + p, c.logits[p], out, 0));
                }
                pool.release(state);
            }
        }
        return worst;
    }

    /**
     * All sequences together, each advancing by a different run length per round, so that passes
     * mix prompt chunks with single tokens, and pure decode rounds happen too.
     */
    static Worst mixed(String fixture, Model model) {
        Worst worst = new Worst(0, "");
        List<Case> cases = cases(Fixtures.expected(fixture));
        int v = model.vocabSize();
        int n = cases.size();
        try (StatePool pool = model.createStatePool(n)) {
            SequenceState[] states = new SequenceState[n];
            int[] pos = new int[n];
            float[][] out = new float[n][];
            for (int s = 0; s < n; s++) {
                states[s] = pool.tryAcquire().orElseThrow();
                out[s] = new float[cases.get(s).ids.length * v];
            }
            int[] runs = {3, 1, 7, 1, 1, 12, 2, 1};
            record Pending(int seq, int start, float[] rows) {
            }
            for (int round = 0; ; round++) {
                ForwardBatch batch = new ForwardBatch();
                List<Pending> pending = new ArrayList<>();
                for (int s = 0; s < n; s++) {
                    Case c = cases.get(s);
                    if (pos[s] >= c.ids.length) {
                        continue;
                    }
                    int len = round >= 3 && round % 2 == 1 ? 1 : Math.min(runs[(round + s) % runs.length], c.ids.length - pos[s]);
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
                    worst = worst.max(compare(fixture + " mixed seq " + s + " pos " + p, c.logits[p], out[s], p * v));
                }
            }
        }
        return worst;
    }
}
