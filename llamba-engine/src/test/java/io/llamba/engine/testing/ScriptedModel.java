package io.llamba.engine.testing;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.StateSnapshot;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToIntFunction;

/**
 * A model whose next token is a function of the tokens fed so far, so engine behaviour (stops,
 * streaming, cancellation, batching) can be tested exactly. The chosen token gets logit 10, the
 * others 0, so greedy decoding follows the script.
 */
public final class ScriptedModel implements Model {
    private final int vocab;
    private final ToIntFunction<int[]> next;
    private final long stepDelayMillis;
    public final AtomicInteger forwards = new AtomicInteger();
    /** Tokens fed through forward, all entries together: what prefill the state cache saved shows here. */
    public final AtomicLong tokensFed = new AtomicLong();
    public volatile boolean failNext;
    /** When set, states refuse to be restored, as a backend without snapshot support would. */
    public volatile boolean restoreUnsupported;
    public volatile int maxBatchSeen;

    public ScriptedModel(int vocab, ToIntFunction<int[]> next, long stepDelayMillis) {
        this.vocab = vocab;
        this.next = next;
        this.stepDelayMillis = stepDelayMillis;
    }

    /** After a prompt of {@code promptLength} tokens, emits {@code script} then {@code after} forever. */
    public static ScriptedModel script(int vocab, int promptLength, int[] script, int after, long delayMillis) {
        return new ScriptedModel(vocab, h -> {
            int i = h.length - promptLength;
            return i >= 0 && i < script.length ? script[i] : after;
        }, delayMillis);
    }

    @Override
    public ModelInfo info() {
        return new ModelInfo("scripted", "scripted", vocab, 8, 1, 0, 0, 64, 1 << 20, "cpu", "test", Map.of());
    }

    @Override
    public StatePool createStatePool(int capacity) {
        return new StatePool() {
            int used;

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
                return Optional.of(new History(ScriptedModel.this));
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
        maxBatchSeen = Math.max(maxBatchSeen, batch.size());
        if (failNext) {
            failNext = false;
            throw new IllegalStateException("injected failure");
        }
        if (stepDelayMillis > 0) {
            try {
                Thread.sleep(stepDelayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (ForwardBatch.Entry e : batch.entries()) {
            tokensFed.addAndGet(e.length());
            History h = (History) e.state();
            for (int i = 0; i < e.length(); i++) {
                h.tokens = Arrays.copyOf(h.tokens, h.tokens.length + 1);
                h.tokens[h.tokens.length - 1] = e.token(i);
                if (e.logits() != null && (e.allPositions() || i == e.length() - 1)) {
                    int row = e.allPositions() ? i : 0;
                    Arrays.fill(e.logits(), row * vocab, (row + 1) * vocab, 0f);
                    e.logits()[row * vocab + next.applyAsInt(h.tokens)] = 10f;
                }
            }
        }
    }

    @Override
    public void close() {
    }

    static final class History implements SequenceState {
        private final ScriptedModel model;
        int[] tokens = new int[0];

        History(ScriptedModel model) {
            this.model = model;
        }

        @Override
        public int position() {
            return tokens.length;
        }

        @Override
        public void reset() {
            tokens = new int[0];
        }

        @Override
        public StateSnapshot snapshot() {
            return new Snapshot(tokens.clone());
        }

        @Override
        public void restore(StateSnapshot snapshot) {
            if (model.restoreUnsupported) {
                throw new UnsupportedOperationException("this state cannot be restored");
            }
            tokens = ((Snapshot) snapshot).tokens.clone();
        }

        @Override
        public long bytes() {
            return 64;
        }
    }

    /** The history a state had consumed; it alone decides what the model emits next. */
    record Snapshot(int[] tokens) implements StateSnapshot {
        @Override
        public int position() {
            return tokens.length;
        }

        @Override
        public long bytes() {
            return 64;
        }
    }
}
