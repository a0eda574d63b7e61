package io.llamba.engine.cuda;

import io.llamba.engine.demo.DemoItem;
import io.llamba.engine.demo.DemoModel;
import io.llamba.engine.demo.DemoTasks;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationHandle;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.model.Model;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Greedy replies of the bundled demo model to its held-out prompts, through the engine (all in flight together). */
final class DemoModelCheck {
    private DemoModelCheck() {
    }

    static Path dir() {
        return DemoModel.directory();
    }

    static Tokenizer tokenizer() throws IOException {
        return Tokenizers.load(dir().resolve("tokenizer.json"));
    }

    static List<int[]> prompts(Tokenizer tok, int n) {
        ChatTemplate t = new ChatTemplate(tok);
        List<int[]> out = new ArrayList<>();
        for (DemoItem item : DemoTasks.load().evalItems(n, 12345)) {
            out.add(t.encode(item.firstTurn(), true));
        }
        return out;
    }

    /** Greedy tokens for each prompt; the state cache is off so that every backend computes the same passes. */
    static int[][] greedy(Model m, Tokenizer tok, List<int[]> prompts, int maxTokens) throws Exception {
        try (Engine e = new Engine(m, tok, EngineOptions.defaults().withStateCacheBytes(0))) {
            List<GenerationHandle> hs = new ArrayList<>();
            for (int[] p : prompts) {
                hs.add(e.submit(GenerationRequest.builder(p).sampling(SamplingParams.GREEDY).maxTokens(maxTokens).build(), null));
            }
            int[][] out = new int[prompts.size()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = hs.get(i).result().get().tokens();
            }
            return out;
        }
    }

    static int identical(int[][] a, int[][] b) {
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            same += java.util.Arrays.equals(a[i], b[i]) ? 1 : 0;
        }
        return same;
    }
}
