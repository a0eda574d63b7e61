package io.llamba.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SamplerTest {
    /** log-probabilities 0.4, 0.3, 0.2, 0.1 for ids 0..3, the rest impossible. */
    static float[] logits(int vocab) {
        float[] l = new float[vocab];
        java.util.Arrays.fill(l, -1e9f);
        l[0] = (float) Math.log(0.4);
        l[1] = (float) Math.log(0.3);
        l[2] = (float) Math.log(0.2);
        l[3] = (float) Math.log(0.1);
        return l;
    }

    static Map<Integer, Integer> histogram(SamplingParams p, int draws) {
        Sampler s = new Sampler(p, new int[0]);
        Map<Integer, Integer> h = new HashMap<>();
        for (int i = 0; i < draws; i++) {
            h.merge(s.sample(logits(10), 10), 1, Integer::sum);
        }
        return h;
    }

    @Test
    void greedyPicksTheArgmax() {
        float[] l = logits(10);
        l[7] = 5;
        assertThat(new Sampler(SamplingParams.GREEDY, new int[0]).sample(l, 10)).isEqualTo(7);
        // Padded rows beyond the vocabulary are never looked at.
        float[] padded = logits(12);
        padded[11] = 100;
        assertThat(new Sampler(SamplingParams.GREEDY, new int[0]).sample(padded, 10)).isZero();
    }

    @Test
    void temperatureOneFollowsTheDistribution() {
        Map<Integer, Integer> h = histogram(SamplingParams.builder().temperature(1).seed(1L).build(), 20_000);
        assertThat(h.get(0) / 20_000.0).isCloseTo(0.4, within(0.02));
        assertThat(h.get(3) / 20_000.0).isCloseTo(0.1, within(0.02));
        assertThat(h.keySet()).containsOnly(0, 1, 2, 3);
    }

    @Test
    void topKKeepsTheKMostLikely() {
        assertThat(histogram(SamplingParams.builder().temperature(1).topK(2).seed(2L).build(), 5000).keySet()).containsOnly(0, 1);
    }

    @Test
    void topPKeepsTheNucleus() {
        // 0.4 + 0.3 = 0.7 reaches top_p 0.65; id 2 and 3 are out.
        assertThat(histogram(SamplingParams.builder().temperature(1).topP(0.65).seed(3L).build(), 5000).keySet()).containsOnly(0, 1);
        assertThat(histogram(SamplingParams.builder().temperature(1).topP(0.75).seed(3L).build(), 5000).keySet()).containsOnly(0, 1, 2);
    }

    @Test
    void minPDropsUnlikelyTokens() {
        // min_p 0.6 · 0.4 = 0.24: ids 0 (0.4) and 1 (0.3) stay.
        assertThat(histogram(SamplingParams.builder().temperature(1).minP(0.6).seed(4L).build(), 5000).keySet()).containsOnly(0, 1);
    }

    @Test
    void lowTemperatureSharpens() {
        Map<Integer, Integer> h = histogram(SamplingParams.builder().temperature(0.1).seed(5L).build(), 2000);
        assertThat(h.get(0) / 2000.0).isCloseTo(0.946, within(0.02)); // 0.4^10 / Σ p^10
    }

    @Test
    void sameSeedSameSequenceDifferentSeedDiffers() {
        SamplingParams p = SamplingParams.builder().temperature(1).seed(99L).build();
        Sampler a = new Sampler(p, new int[0]);
        Sampler b = new Sampler(p, new int[0]);
        Sampler c = new Sampler(p.toBuilder().seed(100L).build(), new int[0]);
        StringBuilder sa = new StringBuilder();
        StringBuilder sb = new StringBuilder();
        StringBuilder sc = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            sa.append(a.sample(logits(10), 10));
            sb.append(b.sample(logits(10), 10));
            sc.append(c.sample(logits(10), 10));
        }
        assertThat(sa.toString()).isEqualTo(sb.toString()).isNotEqualTo(sc.toString());
    }

    @Test
    void presenceAndFrequencyPenaltiesDiscourageRepeats() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).presencePenalty(0.5).frequencyPenalty(0.5).build(), new int[0]);
        float[] l = new float[]{2.0f, 1.5f, 0f};
        s.accept(0);
        // 2.0 - 0.5 - 0.5·1 = 1.0 < 1.5
        assertThat(s.sample(l.clone(), 3)).isEqualTo(1);
    }

    @Test
    void repetitionPenaltyCoversThePrompt() {
        Sampler s = new Sampler(SamplingParams.builder().temperature(0).repetitionPenalty(2).build(), new int[]{0});
        assertThat(s.sample(new float[]{2.0f, 1.5f}, 2)).isEqualTo(1); // 2.0 / 2 = 1.0
        Sampler neg = new Sampler(SamplingParams.builder().temperature(0).repetitionPenalty(2).build(), new int[]{0});
        assertThat(neg.sample(new float[]{-1.0f, -1.5f}, 2)).isEqualTo(1); // -1.0 · 2 = -2.0
    }

    @Test
    void invalidParametersNameTheField() {
        assertThatThrownBy(() -> SamplingParams.builder().temperature(-1).build()).hasMessageContaining("temperature");
        assertThatThrownBy(() -> SamplingParams.builder().topP(0).build()).hasMessageContaining("top_p");
        assertThatThrownBy(() -> SamplingParams.builder().topK(-2).build()).hasMessageContaining("top_k");
        assertThatThrownBy(() -> SamplingParams.builder().minP(2).build()).hasMessageContaining("min_p");
        assertThatThrownBy(() -> SamplingParams.builder().presencePenalty(3).build()).hasMessageContaining("presence_penalty");
        assertThatThrownBy(() -> SamplingParams.builder().frequencyPenalty(Double.NaN).build()).hasMessageContaining("frequency_penalty");
    }

    @Test
    void largeVocabularyTopPIsExact() {
        int v = 128_256;
        float[] l = new float[v];
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int i = 0; i < v; i++) {
            l[i] = (float) (r.nextGaussian() * 3);
        }
        // The nucleus for top_p 0.5 computed the slow way.
        Integer[] order = new Integer[v];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            order[i] = i;
            max = Math.max(max, l[i]);
        }
        double sum = 0;
        for (float x : l) {
            sum += Math.exp(x - max);
        }
        final double m = max;
        java.util.Arrays.sort(order, (a, b) -> Float.compare(l[b], l[a]));
        Set<Integer> nucleus = new HashSet<>();
        double acc = 0;
        for (Integer id : order) {
            nucleus.add(id);
            acc += Math.exp(l[id] - m) / sum;
            if (acc >= 0.5) {
                break;
            }
        }
        Sampler s = new Sampler(SamplingParams.builder().temperature(1).topP(0.5).seed(1L).build(), new int[0]);
        for (int i = 0; i < 300; i++) {
            assertThat(nucleus).contains(s.sample(l.clone(), v));
        }
    }
}
