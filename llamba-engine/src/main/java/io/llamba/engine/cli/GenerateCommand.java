package io.llamba.engine.cli;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationListener;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.hub.ResolvedModel;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.tokenizer.ChatMessage;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.engine.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** {@code generate}: streams a chat reply to stdout, speeds to stderr. */
final class GenerateCommand implements Command {
    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "generate a reply to a prompt, streamed to stdout";
    }

    @Override
    public String help() {
        return """
                Usage: generate [--model M] --prompt TEXT [--system TEXT] [--max-tokens N] [--temperature T] [--seed S]
                                [--top-k K] [--top-p P] [--min-p P] [--stop TEXT] [--tokenizer FILE] [--raw]
                                [--threads N] [--quantize Q] [--backend auto|cpu|cuda] [--pull-strategy S]
                                [--gpu-weights f32|bf16] [--gpu-state f32|bf16]

                Renders the prompt with the Llama 3 chat template, streams the reply to stdout and prints
                prefill and decode speed (tok/s) to stderr.

                %s
                  --prompt TEXT      the user message
                  --system TEXT      a system message
                  --max-tokens N     most tokens to generate (default 256)
                  --temperature T    0 for greedy; default 0.6
                  --seed S           random seed, for reproducible sampling
                  --top-k K          keep the K most likely tokens (default off)
                  --top-p P          nucleus sampling (default 0.9)
                  --min-p P          drop tokens below P times the most likely (default off)
                  --stop TEXT        stop at this string (not printed)
                  --tokenizer T      tokenizer.json or tokenizer.model, a directory holding one, a Hub
                                     repository id, or "bundled"; default: the model directory's
                                     tokenizer.json, else for cartesia-ai/Llamba-{1B,3B,8B} the tokenizer of
                                     its teacher (meta-llama/Llama-3.x-...-Instruct, gated: HF_TOKEN), else
                                     the bundled Llama 3 tokenizer (same vocabulary)
                  --raw              feed the prompt as plain text, without the chat template
                %s
                  --backend B        auto (default), cpu or cuda
                  --gpu-weights F    weights on the GPU: f32 or bf16 (default: the checkpoint's,
                                     F16 as f32)
                  --gpu-state F      SSM state on the GPU: f32 (default) or bf16""".formatted(CliSupport.MODEL_HELP, CliSupport.LOAD_HELP);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        CliSupport.ModelArgs modelArgs = CliSupport.modelArgs(o, err, true);
        String prompt = o.required("prompt");
        String system = o.string("system", null);
        int maxTokens = o.integer("max-tokens", 256);
        if (maxTokens < 1) {
            throw new UsageException("--max-tokens must be positive, got " + maxTokens);
        }
        SamplingParams sampling;
        try {
            sampling = SamplingParams.builder()
                    .temperature(o.number("temperature", 0.6))
                    .topK(o.integer("top-k", 0))
                    .topP(o.number("top-p", 0.9))
                    .minP(o.number("min-p", 0))
                    .seed(o.has("seed") ? o.longValue("seed", 0) : null)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String stop = o.string("stop", null);
        boolean raw = o.flag("raw");
        LoadOptions load = CliSupport.loadOptions(o);
        o.checkAllUsed();

        ResolvedModel resolved = modelArgs.resolve();
        Tokenizer tokenizer = resolved.loadTokenizer();
        int[] ids;
        if (raw) {
            int[] text = tokenizer.encode(prompt);
            ids = new int[text.length + 1];
            ids[0] = tokenizer.beginOfText();
            System.arraycopy(text, 0, ids, 1, text.length);
        } else {
            List<ChatMessage> messages = new ArrayList<>();
            if (system != null) {
                messages.add(ChatMessage.system(system));
            }
            messages.add(ChatMessage.user(prompt));
            ids = new ChatTemplate(tokenizer).encode(messages, true);
        }
        // One request: the context it needs is known, so a state that grows with the context (a
        // KV cache) is sized for it rather than for the model's longest context.
        int context = (int) Math.min(Integer.MAX_VALUE, (long) ids.length + maxTokens);
        EngineOptions options = EngineOptions.defaults().withMaxSequences(1).withMaxContext(context);
        try (Model model = ModelLoader.load(resolved.modelDirectory(), load);
             Engine engine = new Engine(model, tokenizer, options)) {
            GenerationRequest request = GenerationRequest.builder(ids).sampling(sampling).maxTokens(maxTokens)
                    .stopStrings(stop == null ? List.of() : List.of(stop)).build();
            GenerationResult r = engine.generate(request, new GenerationListener() {
                @Override
                public void onDelta(String text) {
                    out.print(text);
                    out.flush();
                }
            });
            out.println();
            double ttft = r.timeToFirstTokenNanos() / 1e9;
            err.printf("model: %s (%s, %s)%n", model.info().name(), model.info().architecture(), model.info().device());
            err.printf("tokenizer: %s%n", resolved.tokenizerOrigin());
            err.printf("prefill: %d tokens in %.3f s (%.1f tok/s)%n", r.promptTokens(), ttft, ttft > 0 ? r.promptTokens() / ttft : 0);
            err.printf("decode: %d tokens in %.3f s (%.2f tok/s)%n", r.completionTokens(), (r.totalNanos() - r.timeToFirstTokenNanos()) / 1e9,
                    r.decodeTokensPerSecond());
            err.printf("finish: %s%n", r.finishReason().name().toLowerCase(java.util.Locale.ROOT));
        }
        return 0;
    }
}
