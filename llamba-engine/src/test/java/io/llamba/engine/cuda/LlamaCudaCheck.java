package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.sampling.Sampler;
import io.llamba.engine.testing.Fixtures;
import io.llamba.engine.testing.LlamaFixtures;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The Llama fixtures (made by Hugging Face transformers, tools/llama-reference) through a CUDA
 * Llama model on a real device or the emulator: every stored logit in prefill, token-by-token
 * decoding and mixed ragged batches; and a model against another (the CPU backend) on any prompt.
 * Errors are max |Δlogit| / max |logit| per position, the worst kept.
 */
final class LlamaCudaCheck {
    /** A sequence and its expected logits at {@code positions}. */
    record Case(int[] ids, int[] positions, float[][] logits) {
    }

    private LlamaCudaCheck() {
    }

    static List<Case> cases(String fixture) {
        JsonObject expected = LlamaFixtures.expected(fixture);
        return expected.getArray("sequences").stream().map(o -> {
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) o;
            @SuppressWarnings("unchecked") List<Object> ids = (List<Object>) m.get("ids");
            @SuppressWarnings("unchecked") List<Object> pos = (List<Object>) m.get("positions");
            @SuppressWarnings("unchecked") List<List<?>> rows = (List<List<?>>) m.get("logits");
            int[] idArray = Fixtures.ints(ids);
            int[] positions = pos == null ? IntStream.range(0, idArray.length).toArray() : Fixtures.ints(pos);
            return new Case(idArray, positions, rows.stream().map(Fixtures::floats).toArray(float[][]::new));
        }).toList();
    }

    /** The weight format a checkpoint loads as by default: BF16 stays BF16, F32 and F16 become F32. */
    static DType defaultWeights(Checkpoint ck) {
        return ck.get("model.embed_tokens.weight").dtype() == DType.BF16 ? DType.BF16 : DType.F32;
    }

    /** A fixture on {@code dev}; null weights or kv: the defaults (the checkpoint's precision, the cache as the weights). */
    static LlamaCudaModel load(String fixture, Device dev, DType weights, DType kv, boolean graphs) {
        return load(LlamaFixtures.dir(fixture), fixture, dev, weights, kv, graphs);
    }

    static LlamaCudaModel load(Path dir, String name, Device dev, DType weights, DType kv, boolean graphs) {
        JsonObject json = ModelLoader.readConfig(dir);
        Checkpoint ck = Checkpoint.open(dir);
        DType w = weights != null ? weights : defaultWeights(ck);
        return new LlamaCudaModel(name, json, dev, false, w, kv != null ? kv : w, ck, 0, graphs);
    }

    static CudaFixtureCheck.Worst compareCase(String where, Case c, float[] all, int v) {
        CudaFixtureCheck.Worst worst = new CudaFixtureCheck.Worst(0, "");
        for (int k = 0; k < c.positions.length; k++) {
            worst = worst.max(CudaFixtureCheck.compare(where + " pos " + c.positions[k], c.logits[k], all, c.positions[k] * v));
        }
        return worst;
    }

    /** Each whole sequence in one entry, logits at every position. */
    static CudaFixtureCheck.Worst prefill(String fixture, Model model) {
        CudaFixtureCheck.Worst worst = new CudaFixtureCheck.Worst(0, "");
        int v = model.vocabSize();
        List<Case> cases = cases(fixture);
        try (StatePool pool = model.createStatePool(1)) {
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] out = new float[c.ids.length * v];
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, 0, c.ids.length, out, true)));
                worst = worst.max(compareCase(fixture + " prefill seq " + s, c, out, v));
                pool.release(state);
            }
        }
        return worst;
    }

    /** One token at a time (decode passes, graphs when the model uses them). */
    static CudaFixtureCheck.Worst steps(String fixture, Model model) {
        return steps(fixture, model, Integer.MAX_VALUE);
    }

    /** As {@link #steps(String, Model)}, for the sequences of at most {@code maxLength} tokens. */
    static CudaFixtureCheck.Worst steps(String fixture, Model model, int maxLength) {
        CudaFixtureCheck.Worst worst = new CudaFixtureCheck.Worst(0, "");
        int v = model.vocabSize();
        List<Case> cases = cases(fixture);
        try (StatePool pool = model.createStatePool(1)) {
            for (int s = 0; s < cases.size(); s++) {
                Case c = cases.get(s);
                if (c.ids.length > maxLength) {
                    continue;
                }
                SequenceState state = pool.tryAcquire().orElseThrow();
                float[] all = new float[c.ids.length * v];
                float[] out = new float[v];
                for (int p = 0; p < c.ids.length; p++) {
                    model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, c.ids, p, 1, out, false)));
                    System.arraycopy(out, 0, all, p * v, v);
                }
                worst = worst.max(compareCase(fixture + " step seq " + s, c, all, v));
                pool.release(state);
            }
        }
        return worst;
    }

    /** All sequences together, each advancing by a different run length per round (prompt chunks beside decode tokens). */
    static CudaFixtureCheck.Worst mixed(String fixture, Model model) {
        int v = model.vocabSize();
        List<Case> cases = cases(fixture);
        int n = cases.size();
        try (StatePool pool = model.createStatePool(n)) {
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
                    int len = round >= 3 && round % 2 == 1 ? 1 : Math.min(runs[(round + s) % runs.length], c.ids.length - pos[s]);
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
            CudaFixtureCheck.Worst worst = new CudaFixtureCheck.Worst(0, "");
            for (int s = 0; s < n; s++) {
                worst = worst.max(compareCase(fixture + " mixed seq " + s, cases.get(s), out[s], v));
            }
            return worst;
        }
    }

    /** Logits of a prompt at every position and of greedy steps after it, through one model. */
    record Run(float[][] logits, int[] tokens) {
    }

    /** Prefill of {@code prompt} in chunks of {@code chunk} tokens (logits at every position), then greedy steps. */
    static Run run(Model m, int[] prompt, int chunk, int steps) {
        int v = m.vocabSize();
        float[][] rows = new float[prompt.length + steps][];
        int[] tokens = new int[steps];
        try (StatePool pool = m.createStatePool(1, prompt.length + steps + 1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            for (int p = 0; p < prompt.length; p += chunk) {
                int len = Math.min(chunk, prompt.length - p);
                float[] out = new float[len * v];
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, prompt, p, len, out, true)));
                for (int i = 0; i < len; i++) {
                    rows[p + i] = Arrays.copyOfRange(out, i * v, (i + 1) * v);
                }
            }
            float[] last = rows[prompt.length - 1];
            for (int k = 0; k < steps; k++) {
                tokens[k] = Sampler.argmax(last, v);
                float[] next = new float[v];
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, new int[]{tokens[k]}, 0, 1, next, false)));
                rows[prompt.length + k] = next;
                last = next;
            }
        }
        return new Run(rows, tokens);
    }

    /** The worst row of two runs of the same prompt. */
    static CudaFixtureCheck.Worst compare(String what, Run expected, Run actual) {
        CudaFixtureCheck.Worst worst = new CudaFixtureCheck.Worst(0, "");
        for (int r = 0; r < expected.logits.length; r++) {
            worst = worst.max(CudaFixtureCheck.compare(what + " row " + r, expected.logits[r], actual.logits[r], 0));
        }
        return worst;
    }
}
