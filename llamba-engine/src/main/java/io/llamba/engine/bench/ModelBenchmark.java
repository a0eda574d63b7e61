package io.llamba.engine.bench;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Times a model's forward passes the way the engine drives them: a prompt in one prefill pass,
 * decoding one token per pass for one sequence, and batched decoding (one token for each of B
 * sequences per pass). Token ids are random (speed does not depend on them); each measurement is the
 * best of {@code reps} timed runs after one untimed warm-up run.
 */
public final class ModelBenchmark {
    /** Prompt tokens fed to each sequence before decoding is timed. */
    static final int CONTEXT_TOKENS = 8;

    private final Model model;
    private final int reps;
    private final SplittableRandom random = new SplittableRandom(7);

    public ModelBenchmark(Model model, int reps) {
        if (reps < 1) {
            throw new IllegalArgumentException("reps must be at least 1, got " + reps);
        }
        this.model = model;
        this.reps = reps;
    }

    /** A timed result: tokens per second (best run) and the seconds of that run. */
    public record Rate(double tokensPerSecond, double seconds) {
    }

    /** Prefill of one prompt of {@code tokens} tokens, logits of the last position only. */
    public Rate prefill(int tokens) {
        try (StatePool pool = model.createStatePool(1)) {
            float[] logits = new float[model.vocabSize()];
            int[] prompt = randomTokens(tokens);
            double best = Double.MAX_VALUE;
            for (int r = 0; r <= reps; r++) {
                SequenceState s = pool.tryAcquire().orElseThrow();
                long t0 = System.nanoTime();
                model.forward(new ForwardBatch().add(s, prompt, logits));
                double sec = (System.nanoTime() - t0) / 1e9;
                pool.release(s);
                if (r > 0) {
                    best = Math.min(best, sec);
                }
            }
            return new Rate(tokens / best, best);
        }
    }

    /**
     * {@code steps} decoding passes of {@code batch} sequences (each after a short prompt), every
     * sequence advancing one token with logits per pass: aggregate tokens per second.
     */
    public Rate decode(int batch, int steps) {
        try (StatePool pool = model.createStatePool(batch)) {
            int v = model.vocabSize();
            List<SequenceState> states = new ArrayList<>();
            float[][] logits = new float[batch][v];
            ForwardBatch context = new ForwardBatch();
            for (int b = 0; b < batch; b++) {
                SequenceState s = pool.tryAcquire().orElseThrow();
                states.add(s);
                context.add(s, randomTokens(CONTEXT_TOKENS), logits[b]);
            }
            model.forward(context);
            int[][] next = new int[batch][1];
            ForwardBatch step = new ForwardBatch();
            for (int b = 0; b < batch; b++) {
                step.add(new ForwardBatch.Entry(states.get(b), next[b], 0, 1, logits[b], false));
            }
            double best = Double.MAX_VALUE;
            for (int r = 0; r <= reps; r++) {
                long t0 = System.nanoTime();
                for (int k = 0; k < steps; k++) {
                    for (int b = 0; b < batch; b++) {
                        next[b][0] = random.nextInt(v);
                    }
                    model.forward(step);
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
                    best = Math.min(best, sec);
                }
            }
            return new Rate((double) batch * steps / best, best);
        }
    }

    private int[] randomTokens(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(model.vocabSize());
        }
        return ids;
    }

    /** A long-valued entry of the model's details, or an error naming it. */
    public static long detail(ModelInfo info, String key) {
        Object v = info.details().get(key);
        if (!(v instanceof Number n)) {
            throw new IllegalStateException("model " + info.name() + " does not report '" + key + "' (needed to compute rooflines)");
        }
        return n.longValue();
    }
}
