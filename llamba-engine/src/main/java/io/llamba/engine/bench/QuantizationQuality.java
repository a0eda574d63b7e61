package io.llamba.engine.bench;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.sampling.Sampler;

/**
 * How far a quantized model's outputs are from the reference model's on the same text. The reference
 * generates {@code n} tokens greedily after a prompt, keeping its logits at every step; the other model
 * is then run over the same prompt and tokens (teacher forcing) and compared position by position:
 * max and mean |Δlogit|, and how often its greedy choice equals the reference's token. It also
 * generates on its own from the prompt, to report how many tokens it produces before the first that
 * differs from the reference's.
 */
public final class QuantizationQuality {
    /** The reference run: its greedy tokens and the logits each was chosen from. */
    public record Reference(int[] prompt, int[] tokens, float[][] logits) {
    }

    /**
     * @param maxAbsDelta    largest |Δlogit| over all positions and ids
     * @param meanAbsDelta   mean |Δlogit| over all positions and ids
     * @param maxAbsLogit    largest |logit| of the reference, for scale
     * @param agreement      fraction of positions where the model's argmax is the reference's token
     * @param freeRunPrefix  tokens generated on its own before the first that differs from the reference
     * @param positions      positions compared
     */
    public record Comparison(double maxAbsDelta, double meanAbsDelta, double maxAbsLogit, double agreement, int freeRunPrefix,
                             int positions) {
    }

    private QuantizationQuality() {
    }

    /** Greedy generation of {@code n} tokens after {@code prompt}, one decoding pass per token. */
    public static Reference reference(Model model, int[] prompt, int n) {
        int v = model.vocabSize();
        int[] tokens = new int[n];
        float[][] logits = new float[n][];
        try (StatePool pool = model.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            float[] out = new float[v];
            model.forward(new ForwardBatch().add(s, prompt, out));
            for (int k = 0; k < n; k++) {
                logits[k] = out.clone();
                tokens[k] = Sampler.argmax(out, v);
                if (k + 1 < n) {
                    model.forward(new ForwardBatch().add(s, new int[]{tokens[k]}, out));
                }
            }
        }
        return new Reference(prompt, tokens, logits);
    }

    public static Comparison compare(Model model, Reference ref) {
        int v = model.vocabSize();
        int n = ref.tokens().length;
        int p = ref.prompt().length;
        // Teacher forcing in one prefill over prompt and reference tokens, logits at every position:
        // the engine's prefill and decode paths give the same logits, so this is what decoding would see.
        int[] all = new int[p + n - 1];
        System.arraycopy(ref.prompt(), 0, all, 0, p);
        System.arraycopy(ref.tokens(), 0, all, p, n - 1);
        float[] logits = new float[all.length * v];
        try (StatePool pool = model.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, all, 0, all.length, logits, true)));
        }
        double max = 0;
        double sum = 0;
        double maxLogit = 0;
        int agree = 0;
        float[] row = new float[v];
        for (int k = 0; k < n; k++) {
            System.arraycopy(logits, (p - 1 + k) * v, row, 0, v);
            float[] r = ref.logits()[k];
            for (int i = 0; i < v; i++) {
                double d = Math.abs(row[i] - r[i]);
                max = Math.max(max, d);
                sum += d;
                maxLogit = Math.max(maxLogit, Math.abs(r[i]));
            }
            if (Sampler.argmax(row, v) == ref.tokens()[k]) {
                agree++;
            }
        }
        Reference own = reference(model, ref.prompt(), n);
        int prefix = 0;
        while (prefix < n && own.tokens()[prefix] == ref.tokens()[prefix]) {
            prefix++;
        }
        return new Comparison(max, sum / ((double) n * v), maxLogit, (double) agree / n, prefix, n);
    }
}
