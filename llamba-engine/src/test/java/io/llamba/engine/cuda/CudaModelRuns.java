package io.llamba.engine.cuda;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.sampling.Sampler;
import io.llamba.engine.sampling.SamplingParams;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs both CUDA architectures' tests share, on the emulator and on a GPU alike: the model is any
 * {@link CudaModel}, so Llamba and Llama are checked by the same code.
 */
final class CudaModelRuns {
    private CudaModelRuns() {
    }

    /** Logits after every token of {@code ids}, fed one pass per token to a fresh sequence: {@code ids.length × vocab} floats. */
    static float[] logitsAtEveryPosition(CudaModel m, int[] ids) {
        try (StatePool pool = m.createStatePool(1)) {
            SequenceState s = pool.tryAcquire().orElseThrow();
            int v = m.vocabSize();
            float[] out = new float[ids.length * v];
            float[] row = new float[v];
            for (int p = 0; p < ids.length; p++) {
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, ids, p, 1, row, false)));
                System.arraycopy(row, 0, out, p * v, v);
            }
            return out;
        }
    }

    /**
     * Greedy picks made on the device are the argmax of the logits it returns, for {@code positions}
     * tokens of {@code ids}: sequence a takes a 5-token prompt chunk and then single tokens beside b
     * (mixed passes), b takes single tokens throughout (decode passes, graphs where the model uses them).
     */
    static void greedyPicksAreTheArgmax(CudaModel m, int[] ids, int positions) {
        try (StatePool pool = m.createStatePool(2)) {
            int v = m.vocabSize();
            SequenceState a = pool.tryAcquire().orElseThrow();
            SequenceState b = pool.tryAcquire().orElseThrow();
            float[] la = new float[v];
            float[] lb = new float[v];
            for (int p = 0; p < positions; p++) {
                TokenPick pa = new TokenPick(SamplingParams.GREEDY, 1, p);
                TokenPick pb = new TokenPick(SamplingParams.GREEDY, 1, p);
                ForwardBatch fb = new ForwardBatch();
                if (p == 0) {
                    fb.add(new ForwardBatch.Entry(a, ids, 0, 5, la, false));
                } else if (p >= 5) {
                    fb.add(new ForwardBatch.Entry(a, ids, p, 1, la, false));
                }
                fb.add(new ForwardBatch.Entry(b, ids, p, 1, lb, false));
                TokenPick[] picks = fb.size() == 2 ? new TokenPick[]{pa, pb} : new TokenPick[]{pb};
                m.forward(fb, picks);
                if (fb.size() == 2) {
                    assertThat(pa.token()).as("position %d, mixed pass", p).isEqualTo(Sampler.argmax(la, v));
                }
                assertThat(pb.token()).as("position %d, decode pass", p).isEqualTo(Sampler.argmax(lb, v));
            }
        }
    }

    /**
     * Token {@code prompt.length - 1}'s logits two ways, after the same prefix of all but the last 41
     * tokens (prefilled in 256-token chunks): sequence a takes the last 41 as one prompt chunk (the
     * prompt-tile kernel), its copy b takes 40 as a chunk and then the last alone (the decode
     * kernel). Both end at the prompt's end. Returns {from the chunk, from the decode step}.
     */
    static float[][] lastLogitsChunkedAndDecoded(CudaModel m, StatePool pool, int[] prompt) {
        int n = prompt.length;
        int v = m.vocabSize();
        SequenceState a = pool.tryAcquire().orElseThrow();
        for (int p = 0; p < n - 41; p += 256) {
            m.forward(new ForwardBatch().add(new ForwardBatch.Entry(a, prompt, p, Math.min(256, n - 41 - p), null, false)));
        }
        SequenceState b = pool.tryAcquire().orElseThrow();
        b.copyFrom(a);
        float[] chunked = new float[v];
        m.forward(new ForwardBatch().add(new ForwardBatch.Entry(a, prompt, n - 41, 41, chunked, false)));
        m.forward(new ForwardBatch().add(new ForwardBatch.Entry(b, prompt, n - 41, 40, null, false)));
        float[] decoded = new float[v];
        m.forward(new ForwardBatch().add(new ForwardBatch.Entry(b, prompt, n - 1, 1, decoded, false)));
        assertThat(a.position()).isEqualTo(n);
        assertThat(b.position()).isEqualTo(n);
        return new float[][]{chunked, decoded};
    }
}
