package io.llamba.engine.demo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of evaluating the demo model on a list of prompts.
 *
 * @param outcomes one per prompt, in order
 */
public record DemoEvaluation(List<Outcome> outcomes) {
    /**
     * @param item    the prompt
     * @param correct whether every turn was right
     * @param replies the model's replies (two for a tool item whose call was right)
     */
    public record Outcome(DemoItem item, boolean correct, List<String> replies) {
        public Outcome {
            replies = List.copyOf(replies);
        }
    }

    public DemoEvaluation {
        outcomes = List.copyOf(outcomes);
    }

    public int correct() {
        return (int) outcomes.stream().filter(Outcome::correct).count();
    }

    public int total() {
        return outcomes.size();
    }

    public double accuracy() {
        return outcomes.isEmpty() ? 0 : (double) correct() / total();
    }

    /** Correct and total per family, in the order of {@link DemoTasks#FAMILIES}. */
    public Map<String, int[]> perFamily() {
        Map<String, int[]> m = new LinkedHashMap<>();
        for (String f : DemoTasks.FAMILIES) {
            for (Outcome o : outcomes) {
                if (o.item().family().equals(f)) {
                    int[] c = m.computeIfAbsent(f, k -> new int[2]);
                    c[0] += o.correct() ? 1 : 0;
                    c[1]++;
                }
            }
        }
        return m;
    }

    /** One line per family, then {@code accuracy X (correct/total)}. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        perFamily().forEach((f, c) -> sb.append(String.format(Locale.ROOT, "%-11s %.3f (%d/%d)%n", f, (double) c[0] / c[1], c[0], c[1])));
        sb.append(String.format(Locale.ROOT, "accuracy %.3f (%d/%d)", accuracy(), correct(), total()));
        return sb.toString();
    }
}
