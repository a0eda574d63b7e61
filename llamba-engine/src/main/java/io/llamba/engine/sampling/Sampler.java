package io.llamba.engine.sampling;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Picks tokens for one sequence: penalties, then temperature, top-k, min-p and top-p, then a draw.
 * Holds the sequence's random generator and token counts, so the same seed and input always give
 * the same output. Not thread-safe (one per sequence).
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private final long seed;
    /** Occurrences of each token in the output (presence / frequency penalties). */
    private final Map<Integer, int[]> generated = new HashMap<>();
    /** Tokens of the prompt (repetition penalty). */
    private final java.util.Set<Integer> prompt = new java.util.HashSet<>();

    // Reused candidate buffers.
    private int[] ids = new int[0];
    private float[] probs = new float[0];

    public Sampler(SamplingParams params, int[] promptTokens) {
        this.params = params;
        this.seed = params.seed() != null ? params.seed() : new SplittableRandom().nextLong();
        this.random = new SplittableRandom(seed);
        if (params.repetitionPenalty() != 1) {
            for (int t : promptTokens) {
                prompt.add(t);
            }
        }
    }

    public SamplingParams params() {
        return params;
    }

    /** The seed in use (the request's, or the one drawn for it): a device sampler draws from it too. */
    public long seed() {
        return seed;
    }

    /** Records a token the sequence produced (for penalties). */
    public void accept(int token) {
        if (params.hasPenalties()) {
            generated.computeIfAbsent(token, k -> new int[1])[0]++;
        }
    }

    /** Chooses the next token from {@code logits[0 .. vocab)}; may modify {@code logits}. */
    public int sample(float[] logits, int vocab) {
        applyPenalties(logits, vocab);
        if (params.isGreedy()) {
            return argmax(logits, vocab);
        }
        float invTemp = (float) (1.0 / params.temperature());
        int n = candidates(logits, vocab);
        // Softmax over the candidates.
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[ids[i]]);
        }
        if (max == Float.NEGATIVE_INFINITY || Float.isNaN(max)) {
            return argmax(logits, vocab);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits[ids[i]] - max) * invTemp);
            probs[i] = p;
            sum += p;
        }
        // min-p relative to the most likely token (whose unnormalised weight is 1).
        if (params.minP() > 0) {
            float threshold = (float) params.minP();
            int k = 0;
            sum = 0;
            for (int i = 0; i < n; i++) {
                if (probs[i] >= threshold) {
                    ids[k] = ids[i];
                    probs[k] = probs[i];
                    sum += probs[k];
                    k++;
                }
            }
            n = k;
        }
        if (params.topP() < 1) {
            n = nucleus(n, sum);
            sum = 0;
            for (int i = 0; i < n; i++) {
                sum += probs[i];
            }
        }
        double r = random.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += probs[i];
            if (r < acc) {
                return ids[i];
            }
        }
        return ids[n - 1];
    }

    private void applyPenalties(float[] logits, int vocab) {
        if (!params.hasPenalties()) {
            return;
        }
        float rp = (float) params.repetitionPenalty();
        if (rp != 1) {
            java.util.Set<Integer> seen = new java.util.HashSet<>(prompt);
            seen.addAll(generated.keySet());
            for (int t : seen) {
                if (t >= 0 && t < vocab) {
                    logits[t] = logits[t] > 0 ? logits[t] / rp : logits[t] * rp;
                }
            }
        }
        float presence = (float) params.presencePenalty();
        float frequency = (float) params.frequencyPenalty();
        if (presence != 0 || frequency != 0) {
            for (Map.Entry<Integer, int[]> e : generated.entrySet()) {
                int t = e.getKey();
                if (t >= 0 && t < vocab) {
                    logits[t] -= presence + frequency * e.getValue()[0];
                }
            }
        }
    }

    public static int argmax(float[] logits, int vocab) {
        int best = 0;
        float bestV = logits[0];
        for (int i = 1; i < vocab; i++) {
            if (logits[i] > bestV) {
                bestV = logits[i];
                best = i;
            }
        }
        return best;
    }

    /** Fills ids with the candidate tokens (the top k, or all); returns their count. */
    private int candidates(float[] logits, int vocab) {
        int k = params.topK() > 0 ? Math.min(params.topK(), vocab) : vocab;
        if (ids.length < k) {
            ids = new int[k];
            probs = new float[k];
        }
        if (k == vocab) {
            for (int i = 0; i < vocab; i++) {
                ids[i] = i;
            }
            return vocab;
        }
        // A min-heap of the k best so far: O(V log k).
        int size = 0;
        for (int i = 0; i < vocab; i++) {
            float v = logits[i];
            if (size < k) {
                ids[size] = i;
                siftUp(logits, size++);
            } else if (v > logits[ids[0]]) {
                ids[0] = i;
                siftDown(logits, 0, size);
            }
        }
        return size;
    }

    private void siftUp(float[] l, int i) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (l[ids[i]] >= l[ids[parent]]) {
                return;
            }
            swap(i, parent);
            i = parent;
        }
    }

    private void siftDown(float[] l, int i, int size) {
        while (true) {
            int left = 2 * i + 1;
            if (left >= size) {
                return;
            }
            int smallest = left + 1 < size && l[ids[left + 1]] < l[ids[left]] ? left + 1 : left;
            if (l[ids[i]] <= l[ids[smallest]]) {
                return;
            }
            swap(i, smallest);
            i = smallest;
        }
    }

    private void swap(int a, int b) {
        int t = ids[a];
        ids[a] = ids[b];
        ids[b] = t;
    }

    /**
     * Keeps the smallest most-likely set whose probability reaches top_p; returns its size, with the
     * kept candidates first in ids/probs, most likely first. Tokens that cannot be in the set (below
     * (1 - top_p) / (n - 1) of the total) are dropped before sorting, so the sort stays small.
     */
    private int nucleus(int n, double sum) {
        double topP = params.topP();
        float cutoff = n > 1 ? (float) ((1 - topP) / (n - 1) * sum) : 0f;
        int m = 0;
        long[] keyed = new long[n];
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) {
                // Sort descending by probability, ties by id: pack (prob bits, id) into a long.
                keyed[m++] = ((long) Float.floatToIntBits(probs[i]) << 32) | (ids[i] & 0xffffffffL);
            }
        }
        Arrays.sort(keyed, 0, m);
        double acc = 0;
        int kept = 0;
        for (int i = m - 1; i >= 0; i--) {
            ids[kept] = (int) keyed[i];
            probs[kept] = Float.intBitsToFloat((int) (keyed[i] >>> 32));
            acc += probs[kept];
            kept++;
            if (acc >= topP * sum) {
                break;
            }
        }
        return Math.max(kept, 1);
    }
}
