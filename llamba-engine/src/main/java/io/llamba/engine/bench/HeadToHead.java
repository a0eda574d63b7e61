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
     * @param reportContexts context lengths for the state-size and largest-batch table
     * @param memoryBudget   bytes available for sequence state, for the largest batch
     * @param seed           seed of the prompt token ids
     */
    public record Settings(int[] contexts, int[] batches, int steps, int[] reportContexts, long memoryBudget, long seed) {
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

    public static Result run(Model model, Settings s, PrintStream progress) {
        ModelInfo info = model.info();
        int maxContext = s.contexts()[s.contexts().length - 1];
        int maxBatch = s.batches()[s.batches().length - 1];
        int limit = maxContext + s.steps() + 2;
        if (limit > info.maxContext()) {
            throw new IllegalArgumentException(info.name() + ": context " + maxContext + " plus " + (s.steps() + 2)
                    + " decode steps exceeds the model's context limit of " + info.maxContext() + " tokens");
        }
        int vocab = model.vocabSize();
        int[] prompt = new SplittableRandom(s.seed()).ints(maxContext, 0, vocab).toArray();
        List<Prefill> prefill = new ArrayList<>();
        List<Decode> decode = new ArrayList<>();
        List<StateSnapshot> snapshots = new ArrayList<>();
        try (StatePool pool = model.createStatePool(maxBatch + 1, limit)) {
            warmUp(model, pool, prompt, maxBatch, s.steps());
            SequenceState base = pool.tryAcquire().orElseThrow();
            float[] logits = new float[vocab];
            long start = System.nanoTime();
            for (int target : s.contexts()) {
                while (base.position() < target) {
                    int pos = base.position();
                    int chunk = Math.min(PREFILL_CHUNK, target - pos);
                    boolean last = pos + chunk == target;
                    model.forward(new ForwardBatch().add(new ForwardBatch.Entry(base, prompt, pos, chunk, last ? logits : null, false)));
                }
                double t = (System.nanoTime() - start) / 1e9;
                prefill.add(new Prefill(target, t));
                progress.printf(Locale.ROOT, "  %s: prefilled %d tokens in %.1f s%n", info.name(), target, t);
                long snapStart = System.nanoTime();
                snapshots.add(base.snapshot());
                start += System.nanoTime() - snapStart; // the snapshot is not part of the prefill
            }
            pool.release(base);
            for (int c = 0; c < s.contexts().length; c++) {
                for (int batch : s.batches()) {
                    decode.add(decodeAt(model, pool, snapshots.get(c), s.contexts()[c], batch, s.steps()));
                    Decode d = decode.getLast();
                    progress.printf(Locale.ROOT, "  %s: context %d, batch %d: %.1f ms/step, %.2f tok/s%n",
                            info.name(), d.context(), d.batch(), d.secondsPerStep() * 1e3, d.tokensPerSecond());
                }
            }
        }
        snapshots.clear();
        List<Capacity> capacity = new ArrayList<>();
        for (int c : s.reportContexts()) {
            if (c > info.maxContext()) {
                capacity.add(new Capacity(c, -1, 0));
                continue;
            }
            try (StatePool p = model.createStatePool(1, c)) {
                long bytes = p.bytesPerState();
                capacity.add(new Capacity(c, bytes, s.memoryBudget() / bytes));
            }
        }
        return new Result(info, prefill, decode, capacity);
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

    private static Decode decodeAt(Model model, StatePool pool, StateSnapshot snapshot, int context, int batch, int steps) {
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
            return new Decode(context, batch, (System.nanoTime() - start) / 1e9 / steps);
        } finally {
            for (SequenceState st : states) {
                if (st != null) {
                    pool.release(st);
                }
            }
        }
    }
}
