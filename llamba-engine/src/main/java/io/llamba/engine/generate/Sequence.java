package io.llamba.engine.generate;

import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.sampling.Sampler;
import io.llamba.engine.tokenizer.StreamingDecoder;
import io.llamba.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * One request inside the engine: its prompt progress, sampler, detokenizer and stop matching. The
 * engine thread alone touches it, apart from {@link #cancel()}.
 */
final class Sequence implements GenerationHandle {
    final long id;
    final GenerationRequest request;
    private final GenerationListener listener;
    private final EngineObserver observer;
    private final Tokenizer tokenizer;
    private final int[] stopTokens;
    final int maxTokens;
    final long deadlineNanos;
    final long submittedNanos;
    private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();

    private volatile boolean cancelRequested;

    SequenceState state;
    /** Prompt tokens already fed (restored from the state cache included). */
    int prefilled;
    /** Prompt tokens restored from the state cache. */
    int cachedTokens;
    /** Prompt positions (ascending) after which the state is snapshotted into the cache. */
    private int[] snapshotAt = new int[0];
    private int nextSnapshot;
    /** While closing (see Engine): the tokens the state holds once the final end-of-turn token is fed. */
    int[] closingTurn;
    /** Admitted, waiting one step for a closing turn's state to be cached before looking the cache up. */
    boolean awaitingCache;
    /** Input of the next decode step: the last sampled token. */
    final int[] next = new int[1];
    float[] logits;
    /** The device's choice of the next token, when the model samples this sequence (else null). */
    TokenPick pick;

    private Sampler sampler;
    private StreamingDecoder decoder;
    private StopMatcher stops;
    private int[] generated = new int[16];
    private int generatedCount;
    private int completionTokens;
    private final StringBuilder text = new StringBuilder();
    private long admittedNanos;
    private long firstTokenNanos;
    private long lastTokenNanos;
    private boolean finished;
    /** Set by finish/fail; delivered by publish() once the engine has freed the slot. */
    private GenerationResult outcome;

    Sequence(long id, GenerationRequest request, GenerationListener listener, EngineObserver observer, Tokenizer tokenizer,
             int[] stopTokens, int maxTokens) {
        this.id = id;
        this.request = request;
        this.listener = listener == null ? GenerationListener.NONE : listener;
        this.observer = observer;
        this.tokenizer = tokenizer;
        this.stopTokens = stopTokens;
        this.maxTokens = maxTokens;
        this.submittedNanos = System.nanoTime();
        this.deadlineNanos = request.timeout() == null ? Long.MAX_VALUE : submittedNanos + request.timeout().toNanos();
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public void cancel() {
        cancelRequested = true;
    }

    boolean cancelRequested() {
        return cancelRequested;
    }

    @Override
    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    /** Called when the sequence gets its state slot. */
    void admit(SequenceState state, int vocab) {
        this.state = state;
        this.admittedNanos = System.nanoTime();
        this.logits = new float[vocab];
        this.sampler = new Sampler(request.sampling(), request.prompt());
        this.decoder = tokenizer.newStreamingDecoder();
        this.stops = new StopMatcher(request.stopStrings());
        observer.admitted(admittedNanos - submittedNanos);
    }

    /** A request to sample the next token on the device, with this sequence's seed and step. */
    TokenPick newPick() {
        return new TokenPick(request.sampling(), sampler.seed(), completionTokens);
    }

    boolean inPrefill() {
        return prefilled < request.prompt().length;
    }

    int promptRemaining() {
        return request.prompt().length - prefilled;
    }

    void planSnapshots(int[] positions) {
        snapshotAt = positions;
        nextSnapshot = 0;
    }

    /** Where the next prefill chunk must end: the next snapshot position, else the prompt's end. */
    int prefillLimit() {
        return nextSnapshot < snapshotAt.length ? snapshotAt[nextSnapshot] : request.prompt().length;
    }

    /** Whether the state has just reached a planned snapshot position. */
    boolean atSnapshot() {
        return nextSnapshot < snapshotAt.length && prefilled == snapshotAt[nextSnapshot];
    }

    void snapshotTaken() {
        nextSnapshot++;
    }

    /**
     * When the model ended its turn with one of {@code turnEnds}: the prompt, the generated tokens
     * and that token, i.e. the tokens the state holds once the stop token is fed too, which is how
     * the conversation's next request begins. Else null.
     */
    int[] endedTurn(int[] turnEnds) {
        GenerationResult r = outcome;
        if (r == null || r.finishReason() != FinishReason.STOP_TOKEN) {
            return null;
        }
        for (int t : turnEnds) {
            if (t == r.stopToken()) {
                int[] p = request.prompt();
                int[] key = Arrays.copyOf(p, p.length + generatedCount + 1);
                System.arraycopy(generated, 0, key, p.length, generatedCount);
                key[key.length - 1] = t;
                return key;
            }
        }
        return null;
    }

    boolean isFinished() {
        return finished;
    }

    /**
     * Takes the logits of the last fed position: samples a token, streams its text, and decides
     * whether the sequence has ended. Returns true when it has.
     */
    boolean onLogits(int vocab, int contextLimit) {
        int token = pick != null ? pick.token() : sampler.sample(logits, vocab);
        pick = null;
        sampler.accept(token);
        long now = System.nanoTime();
        if (firstTokenNanos == 0) {
            firstTokenNanos = now;
            observer.firstToken(now - submittedNanos);
        } else {
            observer.interToken(now - lastTokenNanos);
        }
        lastTokenNanos = now;
        completionTokens++;
        for (int stop : stopTokens) {
            if (token == stop) {
                finish(FinishReason.STOP_TOKEN, token, null);
                return true;
            }
        }
        if (generatedCount == generated.length) {
            generated = Arrays.copyOf(generated, generated.length * 2);
        }
        generated[generatedCount++] = token;
        // Special tokens (headers, python_tag) are control, not text.
        if (!tokenizer.isSpecial(token)) {
            String safe = stops.push(decoder.push(token));
            emit(safe);
            if (stops.matched() != null) {
                finish(FinishReason.STOP_STRING, -1, stops.matched());
                return true;
            }
        }
        if (generatedCount >= maxTokens || state.position() + 1 >= contextLimit) {
            finish(FinishReason.LENGTH, -1, null);
            return true;
        }
        next[0] = token;
        return false;
    }

    private void emit(String delta) {
        if (delta.isEmpty()) {
            return;
        }
        text.append(delta);
        try {
            listener.onDelta(delta);
        } catch (RuntimeException e) {
            // A broken listener must not take the engine down; the request goes on, as its result does.
            System.getLogger(Sequence.class.getName()).log(System.Logger.Level.WARNING, "generation listener failed", e);
        }
    }

    /** Ends the sequence (any reason but an engine failure) and tells the listener. */
    void finish(FinishReason reason, int stopToken, String stopString) {
        if (finished) {
            return;
        }
        finished = true;
        if (decoder != null && reason != FinishReason.STOP_STRING) {
            String tail = stops.push(decoder.flush());
            if (stops.matched() != null) {
                reason = FinishReason.STOP_STRING;
                stopString = stops.matched();
            } else {
                tail += stops.flush();
            }
            emit(tail);
        }
        long now = System.nanoTime();
        outcome = new GenerationResult(text.toString(), Arrays.copyOf(generated, generatedCount), reason, stopString,
                request.prompt().length, completionTokens, (admittedNanos == 0 ? now : admittedNanos) - submittedNanos,
                firstTokenNanos == 0 ? 0 : firstTokenNanos - submittedNanos, now - submittedNanos, null, stopToken, cachedTokens);
    }

    /** Ends the sequence because the engine failed. */
    void fail(Throwable error) {
        if (finished) {
            return;
        }
        finished = true;
        long now = System.nanoTime();
        outcome = new GenerationResult(text.toString(), Arrays.copyOf(generated, generatedCount), FinishReason.ERROR, null,
                request.prompt().length, completionTokens, (admittedNanos == 0 ? now : admittedNanos) - submittedNanos,
                firstTokenNanos == 0 ? 0 : firstTokenNanos - submittedNanos, now - submittedNanos, error, -1, cachedTokens);
    }

    /**
     * Tells the observer, the listener and the future how the sequence ended. The engine calls it
     * after freeing the slot, so a caller woken by the result sees the engine without this request.
     */
    void publish() {
        GenerationResult r = outcome;
        if (r == null || result.isDone()) {
            return;
        }
        observer.finished(r);
        try {
            if (r.error() != null) {
                listener.onError(r.error());
            } else {
                listener.onComplete(r);
            }
        } catch (RuntimeException e) {
            System.getLogger(Sequence.class.getName()).log(System.Logger.Level.WARNING, "generation listener failed", e);
        }
        if (r.error() != null) {
            result.completeExceptionally(r.error());
        } else {
            result.complete(r);
        }
    }
}
