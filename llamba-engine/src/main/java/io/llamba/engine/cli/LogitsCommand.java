package io.llamba.engine.cli;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;

import java.io.PrintStream;
import java.nio.file.Path;

/** {@code logits}: runs token ids through a model and prints the logits as JSON; needs no tokenizer. */
final class LogitsCommand implements Command {
    @Override
    public String name() {
        return "logits";
    }

    @Override
    public String summary() {
        return "print the logits for token ids, as JSON (no tokenizer needed)";
    }

    @Override
    public String help() {
        return """
                Usage: logits [--model M] --ids 1,2,3 [--all-positions] [--threads N] [--quantize Q] [--backend auto|cpu|cuda]
                              [--pull-strategy S] [--gpu-weights f32|bf16] [--gpu-state f32|bf16]

                Feeds the token ids to the model in one prefill and prints {"logits": [[...], ...]}:
                one row of vocab_size floats for the last position, or one per position with
                --all-positions. For comparing the engine with any reference implementation. A model
                from the Hub is fetched without a tokenizer.

                %s
                  --ids LIST         comma-separated token ids
                  --all-positions    print a row for every position, not only the last
                %s
                  --backend B        auto (default), cpu or cuda
                  --gpu-weights F    weights on the GPU: f32 or bf16 (default: the checkpoint's,
                                     F16 as f32)
                  --gpu-state F      SSM state on the GPU: f32 (default) or bf16""".formatted(CliSupport.MODEL_HELP, CliSupport.LOAD_HELP);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        CliSupport.ModelArgs modelArgs = CliSupport.modelArgs(o, err, false);
        int[] ids = o.intList("ids");
        boolean all = o.flag("all-positions");
        LoadOptions load = CliSupport.loadOptions(o);
        o.checkAllUsed();
        if (ids.length == 0) {
            throw new UsageException("--ids is empty");
        }
        Path dir = modelArgs.modelDir();
        try (Model model = ModelLoader.load(dir, load); StatePool pool = model.createStatePool(1)) {
            int v = model.vocabSize();
            for (int id : ids) {
                if (id < 0 || id >= v) {
                    throw new UsageException("--ids: token id " + id + " outside the vocabulary [0, " + v + ")");
                }
            }
            SequenceState state = pool.tryAcquire().orElseThrow();
            float[] logits = new float[(all ? ids.length : 1) * v];
            model.forward(new ForwardBatch().add(new ForwardBatch.Entry(state, ids, 0, ids.length, logits, all)));
            StringBuilder sb = new StringBuilder(logits.length * 12);
            sb.append("{\"logits\": [");
            int rows = all ? ids.length : 1;
            for (int r = 0; r < rows; r++) {
                sb.append(r == 0 ? "[" : ", [");
                for (int i = 0; i < v; i++) {
                    if (i > 0) {
                        sb.append(", ");
                    }
                    sb.append(logits[r * v + i]);
                }
                sb.append(']');
            }
            sb.append("]}");
            out.println(sb);
        }
        return 0;
    }
}
