package io.llamba.spring.testing;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;
import io.llamba.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A model that answers a script: when a prompt has been fed, {@code replies} maps its text (special
 * tokens written out) to the reply, which the model then produces token by token (the chosen token
 * gets logit 10, the others 0, so any reasonable sampling follows it) and ends with {@code <|eot_id|>}.
 * Exact and instant, for testing everything around the model: streaming, stops, tool calls,
 * cancellation, failures.
 */
public final class ScriptedModel implements Model {
    private final Tokenizer tokenizer;
    private final Function<String, String> replies;
    private final long stepDelayMillis;
    private final int endOfTurn;
    /** Every prompt the model was asked to answer, as text. */
    public final List<String> prompts = new CopyOnWriteArrayList<>();
    public final AtomicInteger forwards = new AtomicInteger();
    /** While set, every forward pass fails. */
    public volatile boolean failing;

    public ScriptedModel(Tokenizer tokenizer, Function<String, String> replies, long stepDelayMillis) {
        this.tokenizer = tokenizer;
        this.replies = replies;
        this.stepDelayMillis = stepDelayMillis;
        this.endOfTurn = tokenizer.endOfTurn();
    }

    @Override
    public ModelInfo info() {
        return new ModelInfo("scripted", "scripted", tokenizer.vocabSize(), 8, 1, 1000, 4000, 64, 4096, "cpu", "test script",
                Map.of());
    }

    @Override
    public StatePool createStatePool(int capacity) {
        return new StatePool() {
            private int used;

            @Override
            public int capacity() {
                return capacity;
            }

            @Override
            public synchronized int inUse() {
                return used;
            }

            @Override
            public long bytesPerState() {
                return 64;
            }

            @Override
            public synchronized Optional<SequenceState> tryAcquire() {
                if (used >= capacity) {
                    return Optional.empty();
                }
                used++;
                return Optional.of(new Script());
            }

            @Override
            public synchronized void release(SequenceState state) {
                used--;
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public void forward(ForwardBatch batch) {
        forwards.incrementAndGet();
        if (failing) {
            throw new IllegalStateException("scripted backend failure");
        }
        if (stepDelayMillis > 0) {
            try {
                Thread.sleep(stepDelayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int vocab = tokenizer.vocabSize();
        for (ForwardBatch.Entry e : batch.entries()) {
            Script s = (Script) e.state();
            for (int i = 0; i < e.length(); i++) {
                s.tokens = Arrays.copyOf(s.tokens, s.tokens.length + 1);
                s.tokens[s.tokens.length - 1] = e.token(i);
            }
            if (e.logits() == null) {
                continue;
            }
            if (s.reply == null) {
                String prompt = tokenizer.decode(s.tokens);
                prompts.add(prompt);
                s.reply = tokenizer.encode(replies.apply(prompt));
                s.promptLength = s.tokens.length;
            }
            int at = s.tokens.length - s.promptLength;
            int next = at < s.reply.length ? s.reply[at] : endOfTurn;
            Arrays.fill(e.logits(), 0, vocab, 0f);
            e.logits()[next] = 10f;
        }
    }

    @Override
    public void close() {
    }

    private static final class Script implements SequenceState {
        int[] tokens = new int[0];
        int[] reply;
        int promptLength;

        @Override
        public int position() {
            return tokens.length;
        }

        @Override
        public void reset() {
            tokens = new int[0];
            reply = null;
            promptLength = 0;
        }

        @Override
        public StateSnapshot snapshot() {
            int[] copy = tokens.clone();
            return new Snapshot(copy);
        }

        @Override
        public void restore(StateSnapshot snapshot) {
            tokens = ((Snapshot) snapshot).tokens.clone();
            reply = null;
            promptLength = 0;
        }

        @Override
        public long bytes() {
            return 64;
        }
    }

    private record Snapshot(int[] tokens) implements StateSnapshot {
        @Override
        public int position() {
            return tokens.length;
        }

        @Override
        public long bytes() {
            return tokens.length * 4L;
        }
    }
}
