package io.llamba.engine.cli;

import io.llamba.engine.demo.DemoEvaluation;
import io.llamba.engine.demo.DemoEvaluator;
import io.llamba.engine.demo.DemoItem;
import io.llamba.engine.demo.DemoTasks;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.hub.ResolvedModel;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** {@code eval-demo}: greedy accuracy of a model on fresh held-out prompts of the demo task families. */
final class EvalDemoCommand implements Command {
    @Override
    public String name() {
        return "eval-demo";
    }

    @Override
    public String summary() {
        return "accuracy of the demo model on held-out prompts of its task families";
    }

    @Override
    public String help() {
        return """
                Usage: eval-demo [--n N] [--seed S] [--model M] [--batch N] [--verbose] [--threads N] [--backend auto|cpu|cuda]
                                 [--pull-strategy S]

                Generates N prompts of the demo model's task families (arithmetic, reverse, count,
                capital, weather tool calling) from items never used in training, answers them greedily
                and checks the answers. Prints the accuracy per family, then a last line
                "accuracy X (correct/total)".

                  --n N              prompts, the families in turn (default 500)
                  --seed S           which prompts (default 0)
                %s
                  --batch N          sequences decoded together (default 16)
                  --verbose          print every wrong reply to stderr
                  --threads N        CPU threads (default: all processors)
                  --backend B        auto (default), cpu or cuda""".formatted(CliSupport.MODEL_HELP);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        int n = o.integer("n", 500);
        if (n < 1) {
            throw new UsageException("--n must be positive, got " + n);
        }
        long seed = o.longValue("seed", 0);
        int batch = o.integer("batch", 16);
        if (batch < 1) {
            throw new UsageException("--batch must be positive, got " + batch);
        }
        boolean verbose = o.flag("verbose");
        CliSupport.ModelArgs modelArgs = CliSupport.modelArgs(o, err, false);
        LoadOptions load = CliSupport.loadOptions(o);
        o.checkAllUsed();

        List<DemoItem> items = DemoTasks.load().evalItems(n, seed);
        ResolvedModel resolved = modelArgs.resolve();
        Path dir = resolved.modelDirectory();
        Tokenizer tokenizer = resolved.loadTokenizer();
        long t0 = System.nanoTime();
        try (Model model = ModelLoader.load(dir, load);
             Engine engine = new Engine(model, tokenizer, EngineOptions.defaults().withMaxSequences(batch).withMaxQueued(n))) {
            DemoEvaluation eval = new DemoEvaluator(engine).evaluate(items);
            if (verbose) {
                for (DemoEvaluation.Outcome oc : eval.outcomes()) {
                    if (!oc.correct()) {
                        err.printf("wrong %s %s: %s (expected %s)%n", oc.item().family(), oc.item().key(), oc.replies(), oc.item().answer());
                    }
                }
            }
            err.printf("model: %s (%s); %d prompts, seed %d, %.1f s%n", dir, model.info().name(), n, seed, (System.nanoTime() - t0) / 1e9);
            out.println(eval.report());
        }
        return 0;
    }
}
