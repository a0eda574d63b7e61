package io.llamba.engine.bench;

import io.llamba.engine.model.DeviceSampling;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.sampling.Sampler;
import io.llamba.engine.sampling.SamplingParams;

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
 * needs (and so the largest batch a memory budget holds) at each reported context length,
 * optionally with a decode measured at that largest batch.
 *
 * <p>Each sequence of a decode batch starts from a real prefilled state: one sequence is prefilled
 * once, in 256-token chunks as the engine does, snapshotted at each context length; the snapshot is
 * restored into the first sequence of a batch and the others copy it ({@link SequenceState#copyFrom},
 * on the device where the backend keeps states there). Decode pools are sized for each context (a
 * KV cache slot is sized at its pool's limit), and a point whose states do not fit the budget is
 * reported as such rather than measured. A model that samples on its device ({@link DeviceSampling})
 * picks its tokens there, as the engine has it do; otherwise the logits come to the host. Timings
 * are wall-clock over whole forward passes.
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
     * @param memoryBudget   bytes available for sequence state; 0: per model, the memory its pools
     *                       report available ({@link StatePool#availableBytes()}: a GPU's free
     *                       memory), else the JVM's maximum heap
     * @param seed           seed of the prompt token ids
     * @param maxBatchSteps  timed decode steps at the largest batch of each report context that is
     *                       also a decode context (0: not measured, only computed)
     */
    public record Settings(int[] contexts, int[] batches, int steps, int rounds, int[] reportContexts, long memoryBudget, long seed,
                           int maxBatchSteps) {
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
            if (memoryBudget < 0) {
                throw new IllegalArgumentException("memory budget must be positive (or 0 for automatic)");
            }
            if (maxBatchSteps < 0) {
                throw new IllegalArgumentException("largest-batch steps must not be negative, got " + maxBatchSteps);
            }
        }

        public Settings(int[] contexts, int[] batches, int steps, int rounds, int[] reportContexts, long memoryBudget, long seed) {
            this(contexts, batches, steps, rounds, reportContexts, memoryBudget, seed, 0);
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

    /**
     * State of one sequence at {@code context} tokens, how many fit in {@code budget} bytes, and the
     * decode measured at that batch ({@code null} when not measured).
     */
    public record Capacity(int context, long bytesPerSequence, long largestBatch, long budget, Decode atLargestBatch) {
    }

    /** @param notFitting decode points whose states do not fit the model's budget, as {context, batch} */
    public record Result(ModelInfo info, List<Prefill> prefill, List<Decode> decode, List<Capacity> capacity, List<int[]> notFitting) {
    }

    private HeadToHead() {
    }

    /** One model's prompt, prefill progress and figures while the models are measured side by side. */
    private static final class Subject {
        final Model model;
        final ModelInfo info;
        final int[] prompt;
        final StatePool basePool;
        final SequenceState base;
        final List<Prefill> prefill = new ArrayList<>();
        final List<StateSnapshot> snapshots = new ArrayList<>();
        final List<Decode> decode = new ArrayList<>();
        final List<int[]> notFitting = new ArrayList<>();
        long budget;
        long prefillNanos;

        Subject(Model model, Settings s) {
            this.model = model;
            this.info = model.info();
            int maxContext = s.contexts()[s.contexts().length - 1];
            int limit = maxContext + Math.max(s.steps(), s.maxBatchSteps()) + 2;
            if (limit > info.maxContext()) {
                throw new IllegalArgumentException(info.name() + ": context " + maxContext + " plus " + (limit - maxContext)
                        + " decode steps exceeds the model's context limit of " + info.maxContext() + " tokens");
            }
            this.prompt = new SplittableRandom(s.seed()).ints(maxContext, 0, model.vocabSize()).toArray();
            warmUp(model, prompt, s);
            this.basePool = model.createStatePool(1, maxContext);
            this.base = basePool.tryAcquire().orElseThrow();
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
            ForwardBatch fb = new ForwardBatch().add(new ForwardBatch.Entry(base, prompt, pos, chunk, null, false));
            if (last) {
                firstToken(model, fb); // time to first token: the token is chosen too
            } else {
                model.forward(fb);
            }
            prefillNanos += System.nanoTime() - t0;
            return last;
        }

        /** Bytes of one state at {@code context} tokens (a pool for that limit reports it). */
        long bytesAt(int context) {
            try (StatePool p = model.createStatePool(1, context)) {
                return p.bytesPerState();
            }
        }

        boolean fits(int context, int batch) {
            return (double) batch * bytesAt(context) <= budget;
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
                    progress.printf(Locale.ROOT, "  %s: prefilled %d tokens in %.2f s%n", sub.info.name(), target, sub.prefillNanos / 1e9);
                }
            }
            for (Subject sub : subjects) {
                sub.basePool.close(); // decode pools take the memory from here on
            }
            for (Subject sub : subjects) {
                sub.budget = budget(sub.model, s);
                progress.printf(Locale.ROOT, "  %s: %.1f GB for sequence state%n", sub.info.name(), sub.budget / 1e9);
            }
            for (int c = 0; c < s.contexts().length; c++) {
                int context = s.contexts()[c];
                for (int batch : s.batches()) {
                    double[][] times = new double[subjects.size()][s.rounds()];
                    boolean[] fit = new boolean[subjects.size()];
                    for (int i = 0; i < subjects.size(); i++) {
                        fit[i] = subjects.get(i).fits(context + s.steps() + 2, batch);
                    }
                    for (int round = 0; round < s.rounds(); round++) {
                        for (int i = 0; i < subjects.size(); i++) {
                            Subject sub = subjects.get(i);
                            if (fit[i]) {
                                times[i][round] = decodeAt(sub.model, sub.snapshots.get(c), context, batch, s.steps());
                            }
                        }
                    }
                    for (int i = 0; i < subjects.size(); i++) {
                        Subject sub = subjects.get(i);
                        if (!fit[i]) {
                            sub.notFitting.add(new int[]{context, batch});
                            progress.printf(Locale.ROOT, "  %s: context %d, batch %d: does not fit in %.1f GB%n", sub.info.name(), context,
                                    batch, sub.budget / 1e9);
                            continue;
                        }
                        double[] t = times[i].clone();
                        Arrays.sort(t);
                        Decode d = new Decode(context, batch, t[t.length / 2]);
                        sub.decode.add(d);
                        progress.printf(Locale.ROOT, "  %s: context %d, batch %d: %.2f ms/step (median of %d: %s), %.2f tok/s%n",
                                sub.info.name(), d.context(), d.batch(), d.secondsPerStep() * 1e3, t.length,
                                Arrays.stream(times[i]).mapToObj(x -> String.format(Locale.ROOT, "%.2f", x * 1e3)).toList(),
                                d.tokensPerSecond());
                    }
                }
            }
            List<Result> results = new ArrayList<>();
            for (Subject sub : subjects) {
                results.add(new Result(sub.info, sub.prefill, sub.decode, capacity(sub, s, progress), sub.notFitting));
                sub.snapshots.clear();
            }
            return results;
        } finally {
            for (Subject sub : subjects) {
                sub.basePool.close();
            }
        }
    }

    /** The settings' budget, or the memory the model's pools report available, or the JVM's maximum heap. */
    private static long budget(Model model, Settings s) {
        if (s.memoryBudget() > 0) {
            return s.memoryBudget();
        }
        try (StatePool p = model.createStatePool(1, 1)) {
            long available = p.availableBytes();
            return available >= 0 ? available + p.bytesPerState() : Runtime.getRuntime().maxMemory();
        }
    }

    private static List<Capacity> capacity(Subject sub, Settings s, PrintStream progress) {
        List<Capacity> capacity = new ArrayList<>();
        for (int c : s.reportContexts()) {
            if (c > sub.info.maxContext()) {
                capacity.add(new Capacity(c, -1, 0, sub.budget, null));
                continue;
            }
            long bytes = sub.bytesAt(c);
            long largest = sub.budget / bytes;
            Decode measured = null;
            int ci = Arrays.binarySearch(s.contexts(), c);
            if (s.maxBatchSteps() > 0 && ci >= 0 && largest > 0) {
                // Room for the decode steps too: the batch whose states at c + steps + 2 tokens fit.
                int batch = (int) Math.min(Integer.MAX_VALUE - 1, sub.budget / sub.bytesAt(c + s.maxBatchSteps() + 2));
                if (batch > 0) {
                    try {
                        double sec = decodeAt(sub.model, sub.snapshots.get(ci), c, batch, s.maxBatchSteps());
                        measured = new Decode(c, batch, sec);
                        progress.printf(Locale.ROOT, "  %s: largest batch at context %d: %d sequences, %.1f ms/step, %.0f tok/s%n",
                                sub.info.name(), c, batch, sec * 1e3, measured.tokensPerSecond());
                    } catch (RuntimeException e) {
                        // Memory filled to the budget may still be short of what a library wants: say so, keep the other figures.
                        progress.printf(Locale.ROOT, "  %s: largest batch at context %d (%d sequences) failed: %s%n", sub.info.name(), c,
                                batch, e);
                    }
                }
            }
            capacity.add(new Capacity(c, bytes, largest, sub.budget, measured));
        }
        return capacity;
    }

    /** Greedy picks of the batch's last tokens: on the device where the model can, else the argmax of host logits. */
    private static void firstToken(Model model, ForwardBatch fb) {
        if (model instanceof DeviceSampling ds) {
            TokenPick[] picks = new TokenPick[fb.size()];
            for (int i = 0; i < picks.length; i++) {
                picks[i] = new TokenPick(SamplingParams.GREEDY, i, 0);
            }
            ds.forward(fb, picks);
        } else {
            ForwardBatch withLogits = new ForwardBatch();
            float[] logits = new float[model.vocabSize()];
            for (ForwardBatch.Entry e : fb.entries()) {
                withLogits.add(new ForwardBatch.Entry(e.state(), e.tokens(), e.offset(), e.length(), logits, false));
            }
            model.forward(withLogits);
            Sampler.argmax(logits, model.vocabSize());
        }
    }

    /**
     * Runs the code paths once before timing (prefill chunks and a decode batch on a pool of its
     * own), so that the first measurement does not pay for the JIT compiling them.
     */
    private static void warmUp(Model model, int[] prompt, Settings s) {
        int n = Math.min(prompt.length, PREFILL_CHUNK + 8);
        int batch = Math.min(s.batches()[s.batches().length - 1], 64);
        try (StatePool pool = model.createStatePool(1, n)) {
            SequenceState w = pool.tryAcquire().orElseThrow();
            for (int pos = 0; pos < n; pos += Math.min(PREFILL_CHUNK, n - pos)) {
                model.forward(new ForwardBatch().add(new ForwardBatch.Entry(w, prompt, pos, Math.min(PREFILL_CHUNK, n - pos), null, false)));
            }
            StateSnapshot snap = w.snapshot();
            pool.release(w);
            decodeAt(model, snap, n, batch, Math.min(s.steps(), 3));
        }
    }

    /**
     * Seconds per decode step of {@code batch} sequences restored from {@code snapshot}, on a pool of
     * their own sized for the context and the steps (closed afterwards).
     */
    private static double decodeAt(Model model, StateSnapshot snapshot, int context, int batch, int steps) {
        int vocab = model.vocabSize();
        DeviceSampling device = model instanceof DeviceSampling ds ? ds : null;
        try (StatePool pool = model.createStatePool(batch, context + steps + 2)) {
            SequenceState[] states = new SequenceState[batch];
            int[][] next = new int[batch][1];
            float[][] logits = device != null ? null : new float[batch][vocab];
            TokenPick[] picks = device != null ? new TokenPick[batch] : null;
            for (int b = 0; b < batch; b++) {
                states[b] = pool.tryAcquire().orElseThrow(() -> new IllegalStateException("state pool of " + batch + " slots ran out"));
                if (b == 0) {
                    states[b].restore(snapshot);
                } else {
                    states[b].copyFrom(states[0]);
                }
                next[b][0] = (b * 7919 + 13) % vocab; // different sequences continue differently
            }
            long start = 0;
            ForwardBatch fb = new ForwardBatch();
            for (int step = 0; step <= steps; step++) {
                if (step == 1) {
                    start = System.nanoTime(); // step 0 warms up (and captures a decode graph where the backend has them)
                }
                fb.clear();
                for (int b = 0; b < batch; b++) {
                    fb.add(new ForwardBatch.Entry(states[b], next[b], 0, 1, logits == null ? null : logits[b], false));
                    if (picks != null) {
                        picks[b] = new TokenPick(SamplingParams.GREEDY, b, step);
                    }
                }
                if (device != null) {
                    device.forward(fb, picks);
                    for (int b = 0; b < batch; b++) {
                        next[b][0] = picks[b].token();
                    }
                } else {
                    model.forward(fb);
                    for (int b = 0; b < batch; b++) {
                        next[b][0] = Sampler.argmax(logits[b], vocab);
                    }
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9 / steps;
            if (states[0].position() != context + steps + 1) {
                throw new IllegalStateException("a decoded sequence is at position " + states[0].position() + ", expected "
                        + (context + steps + 1));
            }
            return seconds;
        }
    }
}
