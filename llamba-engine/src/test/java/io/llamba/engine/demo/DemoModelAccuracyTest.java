package io.llamba.engine.demo;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.tokenizer.Tokenizers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A small sample of the held-out evaluation (eval-demo) through the Java engine, greedy: 40 prompts of
 * another seed than the documented 500.
 */
class DemoModelAccuracyTest {
    static final int N = 40;
    static final long SEED = 20250;
    static DemoEvaluation evaluation;
    static Model model;
    static Engine engine;

    @BeforeAll
    static void evaluate() throws Exception {
        Path dir = DemoModel.directory();
        model = ModelLoader.load(dir, LoadOptions.defaults());
        engine = new Engine(model, Tokenizers.load(dir), EngineOptions.defaults().withMaxSequences(16).withMaxQueued(N));
        evaluation = new DemoEvaluator(engine).evaluate(DemoTasks.load().evalItems(N, SEED));
        System.out.println("demo model, " + N + " held-out prompts (seed " + SEED + "):\n" + evaluation.report());
    }

    @AfterAll
    static void close() {
        engine.close();
        model.close();
    }

    @Test
    void answersEveryFamilyCorrectly() {
        Map<String, int[]> per = evaluation.perFamily();
        assertThat(per.keySet()).containsExactlyInAnyOrder("arithmetic", "reverse", "count", "capital", "weather");
        for (String family : per.keySet()) {
            int[] c = per.get(family);
            assertThat((double) c[0] / c[1]).as("%s: %d/%d", family, c[0], c[1]).isGreaterThanOrEqualTo(0.9);
        }
    }

    @Test
    void callsTheToolInTheLlama31Format() {
        // The call is well formed and names the tool; whether the city is right is the accuracy's business.
        List<DemoEvaluation.Outcome> weather = evaluation.outcomes().stream().filter(o -> o.item().isToolCall()).toList();
        long wellFormed = weather.stream().filter(o -> io.llamba.engine.chat.Llama3Tools.parse(o.replies().getFirst())
                .filter(calls -> calls.size() == 1 && calls.getFirst().name().equals("get_weather")).isPresent()).count();
        assertThat(weather).hasSize(N / 5);
        assertThat((double) wellFormed / weather.size()).as("well-formed calls").isGreaterThanOrEqualTo(0.9);
    }

    @Test
    void answersAtLeast90PercentOfAllHeldOutPrompts() {
        assertThat(evaluation.accuracy()).as(evaluation.report()).isGreaterThanOrEqualTo(0.9);
    }
}
