package io.llamba.engine.demo;

import io.llamba.engine.chat.ToolCall;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.FinishReason;
import io.llamba.engine.generate.GenerationHandle;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.tokenizer.ChatMessage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;

/**
 * Runs demo prompts through an engine, greedily, and checks the replies. All first turns are
 * submitted together (the engine batches them), then the second turns of the tool items whose call
 * was right.
 */
public final class DemoEvaluator {
    /** Most tokens per reply: the longest expected reply is about 20 tokens. */
    public static final int MAX_TOKENS = 48;

    private final Engine engine;

    public DemoEvaluator(Engine engine) {
        this.engine = engine;
    }

    public DemoEvaluation evaluate(List<DemoItem> items) throws InterruptedException {
        List<List<ChatMessage>> first = new ArrayList<>(items.size());
        for (DemoItem item : items) {
            first.add(item.firstTurn());
        }
        List<String> replies1 = generateAll(first);
        List<Integer> second = new ArrayList<>();
        List<List<ChatMessage>> secondPrompts = new ArrayList<>();
        List<Optional<List<ToolCall>>> calls = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            DemoItem item = items.get(i);
            Optional<List<ToolCall>> call = item.isToolCall() ? item.checkCall(replies1.get(i)) : Optional.empty();
            calls.add(call);
            if (call.isPresent()) {
                second.add(i);
                secondPrompts.add(item.secondTurn(call.get()));
            }
        }
        List<String> replies2 = generateAll(secondPrompts);
        List<DemoEvaluation.Outcome> outcomes = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            DemoItem item = items.get(i);
            String r1 = replies1.get(i);
            if (!item.isToolCall()) {
                outcomes.add(new DemoEvaluation.Outcome(item, item.checkAnswer(r1), List.of(r1)));
            } else if (calls.get(i).isEmpty()) {
                outcomes.add(new DemoEvaluation.Outcome(item, false, List.of(r1)));
            } else {
                String r2 = replies2.get(second.indexOf(i));
                outcomes.add(new DemoEvaluation.Outcome(item, item.checkAnswer(r2), List.of(r1, r2)));
            }
        }
        return new DemoEvaluation(outcomes);
    }

    /** Greedy replies to many prompts, keeping no more requests in flight than the engine admits. */
    private List<String> generateAll(List<List<ChatMessage>> prompts) throws InterruptedException {
        int window = Math.max(1, engine.options().maxSequences() + engine.options().maxQueued());
        Deque<GenerationHandle> inFlight = new ArrayDeque<>();
        List<String> replies = new ArrayList<>(prompts.size());
        for (List<ChatMessage> p : prompts) {
            if (inFlight.size() >= window) {
                replies.add(await(inFlight.removeFirst()));
            }
            int[] ids = engine.chatTemplate().encode(p, true);
            inFlight.addLast(engine.submit(GenerationRequest.builder(ids).sampling(SamplingParams.GREEDY)
                    .maxTokens(MAX_TOKENS).build(), null));
        }
        while (!inFlight.isEmpty()) {
            replies.add(await(inFlight.removeFirst()));
        }
        return replies;
    }

    private static String await(GenerationHandle h) throws InterruptedException {
        GenerationResult r;
        try {
            r = h.result().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("demo evaluation: generation failed: " + e.getCause().getMessage(), e.getCause());
        }
        if (r.finishReason() == FinishReason.ERROR) {
            throw new IllegalStateException("demo evaluation: generation failed: " + r.error().getMessage(), r.error());
        }
        return r.text();
    }
}
