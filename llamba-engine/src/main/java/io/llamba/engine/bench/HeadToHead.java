package io.llamba.engine.bench;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;
import io.llamba.engine.sampling.Sampler;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Serving figures of one model through the architecture SPI alone, so that any two architectures
 * are measured the same way: time to first token (prefill of a prompt of each context length),
 * greedy decode throughput against batch size at each context length, and the state a sequence
 * needs (and so the largest batch a memory budget holds) at each reported context length.
 *
 * <p>Each sequence of a decode batch starts from a real prefilled state: one sequence is prefilled
 * once, in 256-token chunks as the engine does, snapshotted at each context length, and the snapshot
 * is restored into every sequence of the batch. Timings are wall-clock over whole forward passes.
 */
public final class HeadToHead {
    /** Prompt chunk per forward pass during prefill: the engine's default token budget per step. */
    public static final int PREFILL_CHUNK = 256;

    /**
     * @param contexts       context lengths (tokens already in each sequence) to decode at
     * @param batches        decode batch sizes
     * @param steps          timed decode steps per (context, batch), after one warm-up step
     * @param rounds         times each decode point is measured per model (the median is kept)
     * @param reportContexts context lengths for the state-size and largest-batch table
     * @param memoryBudget   bytes available for sequence state, for the largest batch
     * @param seed           seed of the prompt token ids
     */
    public record Settings(int[] contexts, int[] batches, int steps, int rounds, int[] reportContexts, long memoryBudget, long seed) {
        public Settings {
            contexts = Arrays.stream(contexts).sorted().distinct().toArray();
            batches = Arrays.stream(batches).sorted().distinct().toArray();
            if (contexts.length == 0 || contexts[0] < 1) {
                throw new IllegalArgumentException("contexts must be positive token counts");
            }
            if (batches.length == 0 || batches[0] < 1) {
                throw new IllegalArgumentException("batch sizes must be positive");
            }
            if (steps < 1) {
                throw new IllegalArgumentException("steps must be positive, got " + steps);
            }
            if (rounds < 1) {
                throw new IllegalArgumentException("rounds must be positive, got " + rounds);
            }
            if (memoryBudget <= 0) {
                throw new IllegalArgumentException("memory budget must be positive");
            }
        }
    }

    /** Time to first token for a prompt of {@code context} tokens. */
    public record Prefill(int context, double seconds) {
        public double tokensPerSecond() {
            return context / seconds;
        }
    }

    /** Greedy decoding of {@code batch} sequences that hold {@code context} tokens. */
    public record Decode(int context, int batch, double secondsPerStep) {
        public double tokensPerSecond() {
            return batch / secondsPerStep;
        }
    }

    /** State of one sequence at {@code context} tokens and how many fit in the budget. */
    public record Capacity(int context, long bytesPerSequence, long largestBatch) {
    }

    public record Result(ModelInfo info, List<Prefill> prefill, List<Decode> decode, List<Capacity> capacity) {
    }

    private HeadToHead() {
    }

    /** One model's pool, prompt and prefill progress while the models are measured side by side. */
    private static final class Subject {
        final Model model;
        final ModelInfo info;
        final StatePool pool;
        final int[] prompt;
        final SequenceState base;
        final float[] logits;
        final List<Prefill> prefill = new ArrayList<>();
        final List<StateSnapshot> snapshots = new ArrayList<>();
        final List<Decode> decode = new ArrayList<>();
        long prefillNanos;

        Subject(Model model, Settings s) {
            this.model = model;
            this.info = model.info();
            int maxContext = s.contexts()[s.contexts().length - 1];
            int maxBatch = s.batches()[s.batches().length - 1];
            int limit = maxContext + s.steps() + 2;
            if (limit > info.maxContext()) {
                throw new IllegalArgumentException(info.name() + ": context " + maxContext + " plus " + (s.steps() + 2)
                        + " decode steps exceeds the model's context limit of " + info.maxContext() + " tokens");
            }
            this.prompt = new SplittableRandom(s.seed()).ints(maxContext, 0, model.vocabSize()).toArray();
            this.pool = model.createStatePool(maxBatch + 1, limit);
            warmUp(model, pool, prompt, maxBatch, s.steps());
            this.base = pool.tryAcquire().orElseThrow();
            this.logits = new float[model.vocabSize()];
        }

        /** Feeds the next prefill chunk towards {@code target}; true when the base sequence has reached it. */
        boolean prefillChunk(int target) {
            int pos = base.position();
            if (pos >= target) {
                return true;
            }
            int chunk = Math.min(PREFILL_CHUNK, target - pos);
            boolean last = pos + chunk == target;
            long t0 = System.nanoTime();
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(base, prompt, pos, chunk, last ? logits : null, false)));
            prefillNanos += System.nanoTime() - t0;
            return last;
        }
    }

    /** Measures one model. */
    public static Result run(Model model, Settings s, PrintStream progress) {
        return run(List.of(model), s, progress).getFirst();
    }

    /**
     * Measures the models side by side, so that on a shared machine they meet the same load: prefill
     * alternates chunk by chunk between them (each one's time to first token is the sum of its own
     * chunks), and each decode point is timed for every model in turn, {@code rounds} times, keeping
     * the median.
     */
    public static List<Result> run(List<Model> models, Settings s, PrintStream progress) {
        List<Subject> subjects = new ArrayList<>();
        try {
            for (Model m : models) {
                subjects.add(new Subject(m, s));
            }
            for (int target : s.contexts()) {
                boolean done = false;
                while (!done) {
                    done = true;
                    for (Subject sub : subjects) {
                        done &= sub.prefillChunk(target);
                    }
                }
                for (Subject sub : subjects) {
                    sub.prefill.add(new Prefill(target, sub.prefillNanos / 1e9));
                    sub.snapshots.add(sub.base.snapshot());
                    progress.printf(Locale.ROOT, "  %s: prefilled %d tokens in %.1f s%n", sub.info.name(), target, sub.prefillNanos / 1e9);
                }
            }
            for (Subject sub : subjects) {
                sub.pool.release(sub.base);
            }
            for (int c = 0; c < s.contexts().length; c++) {
                for (int batch : s.batches()) {
                    double[][] times = new double[subjects.size()][s.rounds()];
                    for (int round = 0; round < s.rounds(); round++) {
                        for (int i = 0; i < subjects.size(); i++) {
                            Subject sub = subjects.get(i);
                            times[i][round] = decodeAt(sub.model, sub.pool, sub.snapshots.get(c), s.contexts()[c], batch, s.steps());
                        }
                    }
                    for (int i = 0; i < subjects.size(); i++) {
                        Subject sub = subjects.get(i);
                        double[] t = times[i].clone();
                        Arrays.sort(t);
                        Decode d = new Decode(s.contexts()[c], batch, t[t.length / 2]);
                        sub.decode.add(d);
                        progress.printf(Locale.ROOT, "  %s: context %d, batch %d: %.1f ms/step (median of %d: %s), %.2f tok/s%n",
                                sub.info.name(), d.context(), d.batch(), d.secondsPerStep() * 1e3, t.length,
                                Arrays.stream(times[i]).mapToObj(x -> String.format(Locale.ROOT, "%.0f", x * 1e3)).toList(),
                                d.tokensPerSecond());
                    }
                }
            }
            List<Result> results = new ArrayList<>();
            for (Subject sub : subjects) {
                sub.snapshots.clear();
                results.add(new Result(sub.info, sub.prefill, sub.decode, capacity(sub.model, s)));
            }
            return results;
        } finally {
            for (Subject sub : subjects) {
                sub.pool.close();
            }
        }
    }

    private static List<Capacity> capacity(Model model, Settings s) {
        List<Capacity> capacity = new ArrayList<>();
        for (int c : s.reportContexts()) {
            if (c > model.info().maxContext()) {
                capacity.add(new Capacity(c, -1, 0));
                continue;
            }
            try (StatePool p = model.createStatePool(1, c)) {
                long bytes = p.bytesPerState();
                capacity.add(new Capacity(c, bytes, s.memoryBudget() / bytes));
            }
        }
        return capacity;
    }

    /**
     * Runs the code paths once before timing (prefill chunks and a decode batch), so that the first
     * measurement does not pay for the JIT compiling them.
     */
    private static void warmUp(Model model, StatePool pool, int[] prompt, int maxBatch, int steps) {
        SequenceState w = pool.tryAcquire().orElseThrow();
        try {
            int n = Math.min(prompt.length, PREFILL_CHUNK + 8);
            float[] logits = new float[model.vocabSize()];
            for (int pos = 0; pos < n; pos += Math.min(PREFILL_CHUNK, n - pos)) {
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(w, prompt, pos, Math.min(PREFILL_CHUNK, n - pos), logits, false)));
            }
            decodeAt(model, pool, w.snapshot(), n, Math.min(maxBatch, pool.capacity() - 1), Math.min(steps, 3));
        } finally {
            pool.release(w);
        }
    }

    /** Seconds per decode step of {@code batch} sequences restored from {@code snapshot}. */
    private static double decodeAt(Model model, StatePool pool, StateSnapshot snapshot, int context, int batch, int steps) {
        int vocab = model.vocabSize();
        SequenceState[] states = new SequenceState[batch];
        int[][] next = new int[batch][1];
        float[][] logits = new float[batch][vocab];
        try {
            for (int b = 0; b < batch; b++) {
                states[b] = pool.tryAcquire().orElseThrow();
                states[b].restore(snapshot);
                next[b][0] = (b * 7919 + 13) % vocab; // different sequences continue differently
            }
            long start = 0;
            for (int step = 0; step <= steps; step++) {
                if (step == 1) {
                    start = System.nanoTime(); // step 0 warms up
                }
                ForwardBatch fb = new ForwardBatch();
                for (int b = 0; b < batch; b++) {
                    fb.add(new ForwardBatch.Entry(states[b], next[b], 0, 1, logits[b], false));
                }
                model.forward(fb);
                for (int b = 0; b < batch; b++) {
                    next[b][0] = Sampler.argmax(logits[b], vocab);
                }
            }
            if (states[0].position() != context + steps + 1) {
                throw new IllegalStateException("a decoded sequence is at position " + states[0].position() + ", expected "
                        + (context + steps + 1));
            }
            return (System.nanoTime() - start) / 1e9 / steps;
        } finally {
            for (SequenceState st : states) {
                if (st != null) {
                    pool.release(st);
                }
            }
        }
    }
}
