package io.llamba.engine.generate;

import io.llamba.engine.cache.StateCache;
import io.llamba.engine.cache.SnapshotKind;
import io.llamba.engine.cache.StateCacheStats;
import io.llamba.engine.model.DeviceSampling;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.engine.tokenizer.Tokenizer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The serving core: a FIFO queue of requests and one thread that steps every running sequence
 * together. Each step is one forward pass over a ragged batch: one decode token for every running
 * sequence, plus chunks of waiting prompts up to {@code maxBatchTokens}, so prefill is interleaved
 * with decoding and neither starves the other. Sequences finish independently; cancellation and
 * deadlines take effect at the next step.
 *
 * <p>State slots come from a memory budget ({@link EngineOptions#stateMemoryBytes()}). With the
 * state cache on, the engine snapshots a sequence's state at turn boundaries: after the first and
 * the last end-of-turn token of its prompt (the first usually closes a system prompt many
 * conversations share; the last is where the next request of the same conversation still agrees),
 * and after the model's own end-of-turn token, which the engine feeds in one extra step once the
 * reply has been delivered. A new request restores the longest cached prefix of its prompt and
 * prefills only the rest; its tokens are the same as without the cache.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());

    private final Model model;
    /** The model's device sampler, if it has one: sequences it supports are sampled where the logits are. */
    private final DeviceSampling deviceSampling;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final EngineOptions options;
    private final EngineObserver observer;
    private final StatePool pool;
    /** State slots: maxSequences, or fewer when the state memory budget holds fewer. */
    private final int slots;
    private final int contextLimit;
    private final int[] stopTokens;
    /** Tokens that end a turn (end of turn, end of message): where conversation snapshots are taken. */
    private final int[] turnEnds;
    private final int vocab;
    /** Null when the cache is off. */
    private final StateCache cache;
    /** Turned off for good if the model's states cannot be snapshotted or restored. */
    private volatile boolean cacheUsable;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final Condition idle = lock.newCondition();
    /** Submitted, not yet holding a slot; guarded by lock. */
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    /** Holding a slot; engine thread only. */
    private final List<Sequence> running = new ArrayList<>();
    /**
     * Finished with an end-of-turn token and already published: each keeps its slot for one more
     * step, which feeds that token so the state at the turn boundary can be cached. Engine thread only.
     */
    private final List<Sequence> closing = new ArrayList<>();
    /**
     * Admitted while a closing sequence's turn is a prefix of their prompt (the conversation's next
     * request came at once): they look the cache up after this step, which stores that turn's state.
     */
    private final List<Sequence> deferred = new ArrayList<>();
    private volatile int runningCount;
    private volatile boolean accepting = true;
    private volatile boolean stopped;

    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong cachedPromptTokens = new AtomicLong();
    private final Thread thread;

    public Engine(Model model, Tokenizer tokenizer, EngineOptions options, EngineObserver observer) {
        this.model = model;
        this.deviceSampling = model instanceof DeviceSampling d ? d : null;
        this.tokenizer = tokenizer;
        this.chatTemplate = new ChatTemplate(tokenizer);
        this.options = options;
        this.observer = observer == null ? EngineObserver.NONE : observer;
        ModelInfo info = model.info();
        this.contextLimit = options.maxContext() > 0 ? Math.min(options.maxContext(), info.maxContext()) : info.maxContext();
        // A state that grows with the context (a KV cache) is sized for the engine's context limit:
        // the pool reports it, so the budget counts what a slot can really grow to.
        StatePool sized = model.createStatePool(options.maxSequences(), contextLimit);
        long perState = sized.bytesPerState();
        long stateBudget = options.stateMemoryBytes() == EngineOptions.AUTO ? MemoryBudget.defaultStateBytes(info) : options.stateMemoryBytes();
        try {
            this.slots = MemoryBudget.slots(options.maxSequences(), stateBudget, perState, info.name(), contextLimit);
        } catch (RuntimeException e) {
            sized.close();
            throw e;
        }
        long cacheBytes = options.stateCacheBytes() == EngineOptions.AUTO ? MemoryBudget.defaultCacheBytes() : options.stateCacheBytes();
        this.cache = cacheBytes > 0 ? new StateCache(cacheBytes) : null;
        this.cacheUsable = cache != null;
        this.vocab = info.vocabSize();
        if (tokenizer.vocabSize() > vocab + 1024 || tokenizer.vocabSize() < 1) {
            LOG.log(System.Logger.Level.WARNING, "tokenizer has " + tokenizer.vocabSize() + " tokens, the model " + vocab);
        }
        this.stopTokens = java.util.stream.IntStream.of(tokenizer.endOfTurn(), tokenizer.endOfText(), tokenizer.endOfMessage())
                .filter(t -> t >= 0).distinct().toArray();
        this.turnEnds = java.util.stream.IntStream.of(tokenizer.endOfTurn(), tokenizer.endOfMessage())
                .filter(t -> t >= 0).distinct().toArray();
        if (slots == sized.capacity()) {
            this.pool = sized;
        } else {
            sized.close(); // pools allocate as slots are used, so sizing one costs nothing
            this.pool = model.createStatePool(slots, contextLimit);
        }
        LOG.log(System.Logger.Level.DEBUG, () -> String.format("%s: %d state slots of %s (budget %s), state cache %s", info.name(), slots,
                MemoryBudget.format(perState), MemoryBudget.format(stateBudget),
                cache == null ? "off" : MemoryBudget.format(cacheBytes)));
        this.thread = Thread.ofPlatform().name("llamba-engine").daemon(true).start(this::loop);
    }

    public Engine(Model model, Tokenizer tokenizer, EngineOptions options) {
        this(model, tokenizer, options, null);
    }

    public Model model() {
        return model;
    }

    public ModelInfo modelInfo() {
        return model.info();
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    public EngineOptions options() {
        return options;
    }

    /** State slots: sequences computed at once. */
    public int stateSlots() {
        return slots;
    }

    /** Whether the conversation state cache is on (configured, and the model's states can be snapshotted). */
    public boolean stateCacheEnabled() {
        return cacheUsable;
    }

    /** Longest prompt plus output, in tokens. */
    public int contextLimit() {
        return contextLimit;
    }

    /**
     * Queues a request; returns at once. Invalid requests throw {@link InvalidRequestException}; a
     * full queue throws {@link EngineOverloadedException}; a closing engine {@link EngineClosedException}.
     */
    public GenerationHandle submit(GenerationRequest request, GenerationListener listener) {
        int promptLen = request.prompt().length;
        for (int t : request.prompt()) {
            if (t < 0 || t >= vocab) {
                throw new InvalidRequestException("prompt", "token id " + t + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (promptLen >= contextLimit) {
            throw new InvalidRequestException("prompt", "the prompt has " + promptLen + " tokens; the context limit is "
                    + contextLimit + " tokens, output included");
        }
        int maxTokens = request.maxTokens() == 0 ? contextLimit - promptLen : request.maxTokens();
        if ((long) promptLen + maxTokens > contextLimit) {
            throw new InvalidRequestException("max_tokens", "the prompt (" + promptLen + " tokens) plus max_tokens (" + maxTokens
                    + ") exceeds the context limit of " + contextLimit + " tokens");
        }
        Sequence seq = new Sequence(ids.incrementAndGet(), request, listener, observer, tokenizer, stopTokens, maxTokens);
        lock.lock();
        try {
            if (!accepting) {
                throw new EngineClosedException("the engine is shutting down and accepts no new requests");
            }
            // Requests that fit in a free slot never count against the queue limit.
            int beyondFreeSlots = waiting.size() - Math.max(0, slots - runningCount);
            if (beyondFreeSlots >= options.maxQueued()) {
                rejected.incrementAndGet();
                observer.rejected();
                throw new EngineOverloadedException(beyondFreeSlots, options.maxQueued());
            }
            waiting.addLast(seq);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
        return seq;
    }

    /** Submits and waits; returns the result (cancelled, timed-out and length-limited included). */
    public GenerationResult generate(GenerationRequest request, GenerationListener listener) throws InterruptedException {
        GenerationHandle h = submit(request, listener);
        try {
            return h.result().get();
        } catch (InterruptedException e) {
            h.cancel();
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("generation failed: " + cause.getMessage(), cause);
        }
    }

    public GenerationResult generate(GenerationRequest request) throws InterruptedException {
        return generate(request, null);
    }

    public EngineStats stats() {
        int run = runningCount;
        int wait;
        lock.lock();
        try {
            wait = waiting.size();
        } finally {
            lock.unlock();
        }
        long per = pool.bytesPerState();
        StateCacheStats cacheStats = cache == null ? StateCacheStats.DISABLED : cache.stats();
        return new EngineStats(run, wait, slots, options.maxQueued(), pool.inUse() * per, slots * per,
                promptTokens.get(), generatedTokens.get(), completed.get(), rejected.get(), failed.get(),
                cachedPromptTokens.get(), cacheStats);
    }

    // ------------------------------------------------------------------ engine thread

    private void loop() {
        ForwardBatch batch = new ForwardBatch();
        List<Sequence> sampled = new ArrayList<>();
        List<Sequence> snapshotDue = new ArrayList<>();
        List<TokenPick> picks = new ArrayList<>();
        while (!stopped) {
            try {
                if (!awaitWork()) {
                    continue;
                }
                expire();
                admit();
                batch.clear();
                sampled.clear();
                snapshotDue.clear();
                picks.clear();
                int prefillTokens = buildBatch(batch, sampled, snapshotDue, picks);
                if (batch.isEmpty()) {
                    continue;
                }
                long t0 = System.nanoTime();
                try {
                    if (deviceSampling != null) {
                        deviceSampling.forward(batch, picks.toArray(new TokenPick[0]));
                    } else {
                        model.forward(batch);
                    }
                } catch (RuntimeException | Error e) {
                    LOG.log(System.Logger.Level.ERROR, "forward pass failed; failing the " + batch.size() + " sequences in it", e);
                    for (ForwardBatch.Entry entry : batch.entries()) {
                        running.stream().filter(s -> s.state == entry.state()).findFirst().ifPresent(s -> {
                            s.fail(e);
                            failed.incrementAndGet();
                        });
                    }
                    releaseClosing(false);
                    resumeDeferred();
                    retireFinished();
                    continue;
                }
                observer.step(batch.size(), batch.tokenCount(), System.nanoTime() - t0);
                promptTokens.addAndGet(prefillTokens);
                for (Sequence s : snapshotDue) {
                    store(s.state, s.request.prompt(), s.prefilled, SnapshotKind.PROMPT);
                    s.snapshotTaken();
                }
                releaseClosing(true);
                resumeDeferred();
                for (Sequence s : sampled) {
                    generatedTokens.incrementAndGet();
                    s.onLogits(vocab, contextLimit);
                }
                retireFinished();
            } catch (Throwable t) {
                // The loop must survive anything a listener or a model throws.
                LOG.log(System.Logger.Level.ERROR, "engine step failed", t);
            }
        }
        // Closed: end whatever is left.
        for (Sequence s : running) {
            s.finish(FinishReason.CANCELLED, -1, null);
        }
        retireFinished();
        releaseClosing(false);
        List<Sequence> left;
        lock.lock();
        try {
            left = new ArrayList<>(waiting);
            waiting.clear();
        } finally {
            lock.unlock();
        }
        for (Sequence s : left) {
            s.finish(FinishReason.CANCELLED, -1, null);
            completed.incrementAndGet();
            s.publish();
        }
    }

    /** Blocks while there is nothing to do; false when woken without work (spurious, or closing). */
    private boolean awaitWork() throws InterruptedException {
        if (!running.isEmpty() || !closing.isEmpty()) {
            return true;
        }
        lock.lock();
        try {
            if (waiting.isEmpty()) {
                idle.signalAll();
                workAvailable.await(100, TimeUnit.MILLISECONDS);
            }
            return !waiting.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** Ends cancelled and timed-out requests, running or waiting. */
    private void expire() {
        long now = System.nanoTime();
        for (Sequence s : running) {
            if (s.cancelRequested()) {
                s.finish(FinishReason.CANCELLED, -1, null);
            } else if (now - s.deadlineNanos > 0) {
                s.finish(FinishReason.DEADLINE, -1, null);
            }
        }
        retireFinished();
        List<Sequence> ended = new ArrayList<>();
        lock.lock();
        try {
            for (Iterator<Sequence> it = waiting.iterator(); it.hasNext(); ) {
                Sequence s = it.next();
                if (s.cancelRequested()) {
                    s.finish(FinishReason.CANCELLED, -1, null);
                } else if (now - s.deadlineNanos > 0) {
                    s.finish(FinishReason.DEADLINE, -1, null);
                } else {
                    continue;
                }
                completed.incrementAndGet();
                it.remove();
                ended.add(s);
            }
        } finally {
            lock.unlock();
        }
        ended.forEach(Sequence::publish);
    }

    /**
     * Moves waiting requests into free slots, first come first served; then, outside the lock,
     * restores each one's longest cached prefix and plans where its prompt is snapshotted.
     */
    private void admit() {
        List<Sequence> admitted = null;
        lock.lock();
        try {
            while (!waiting.isEmpty()) {
                var slot = pool.tryAcquire();
                if (slot.isEmpty()) {
                    break;
                }
                Sequence s = waiting.pollFirst();
                s.admit(slot.get(), vocab);
                running.add(s);
                runningCount = running.size();
                if (admitted == null) {
                    admitted = new ArrayList<>();
                }
                admitted.add(s);
            }
        } finally {
            lock.unlock();
        }
        if (admitted == null) {
            return;
        }
        observer.stateSlots(pool.inUse(), slots);
        if (cacheUsable) {
            for (Sequence s : admitted) {
                if (continuesClosingTurn(s.request.prompt())) {
                    s.awaitingCache = true;
                    deferred.add(s);
                } else {
                    prepareFromCache(s);
                }
            }
        }
    }

    private void prepareFromCache(Sequence s) {
        SnapshotKind restored = restoreCachedPrefix(s);
        s.planSnapshots(snapshotPositions(s.request.prompt(), s.prefilled, restored));
    }

    private boolean continuesClosingTurn(int[] prompt) {
        for (Sequence c : closing) {
            int[] turn = c.closingTurn;
            if (turn.length < prompt.length && Arrays.equals(turn, 0, turn.length, prompt, 0, turn.length)) {
                return true;
            }
        }
        return false;
    }

    /** Deferred sequences look the cache up now that the closing turns are stored. */
    private void resumeDeferred() {
        if (deferred.isEmpty()) {
            return;
        }
        for (Sequence s : deferred) {
            s.awaitingCache = false;
            if (!s.isFinished() && cacheUsable) {
                prepareFromCache(s);
            }
        }
        deferred.clear();
    }

    /**
     * Restores the longest cached prefix of the prompt (one token at least is left to prefill, for
     * the logits); returns the kind of snapshot restored, or null.
     */
    private SnapshotKind restoreCachedPrefix(Sequence s) {
        int[] prompt = s.request.prompt();
        StateCache.Hit hit = cache.lookup(prompt, prompt.length - 1);
        observer.cacheLookup(prompt.length, hit == null ? 0 : hit.length());
        if (hit == null) {
            return null;
        }
        try {
            s.state.restore(hit.snapshot());
            if (s.state.position() != hit.length()) {
                throw new IllegalStateException("a restored state is at position " + s.state.position() + ", its prefix has "
                        + hit.length() + " tokens");
            }
        } catch (RuntimeException e) {
            disableCache("restoring a cached state failed", e);
            s.state.reset();
            return null;
        }
        s.prefilled = hit.length();
        s.cachedTokens = hit.length();
        cachedPromptTokens.addAndGet(hit.length());
        return hit.kind();
    }

    /**
     * Where to snapshot the prompt beyond the restored prefix {@code [0, from)}; each is a prefill
     * chunk boundary, so an extra step, hence few: after the first turn end of the prompt (it
     * usually closes a system prompt other conversations share), when it was not restored; and after
     * the last one (where the conversation's next request, which resends this prompt plus a reply
     * and a new message, still agrees), unless it is the only one past a restored reply snapshot.
     * Then the client resent the previous reply as the very tokens generated, and the snapshot after
     * this reply will most likely serve the next request the same way. Positions already cached
     * are skipped.
     */
    private int[] snapshotPositions(int[] prompt, int from, SnapshotKind restored) {
        boolean turnEndRestored = false;
        for (int i = 0; i < from; i++) {
            if (isTurnEnd(prompt[i])) {
                turnEndRestored = true;
                break;
            }
        }
        int first = -1;
        int last = -1;
        int count = 0;
        for (int i = from; i < prompt.length; i++) {
            if (isTurnEnd(prompt[i])) {
                if (first < 0) {
                    first = i + 1;
                }
                last = i + 1;
                count++;
            }
        }
        int[] positions = new int[2];
        int n = 0;
        if (first > 0 && !turnEndRestored) {
            positions[n++] = first;
        }
        if (count >= 2 || count == 1 && turnEndRestored && restored != SnapshotKind.REPLY) {
            positions[n++] = last;
        }
        return Arrays.stream(positions, 0, n).filter(p -> !cache.contains(prompt, p)).toArray();
    }

    private boolean isTurnEnd(int token) {
        for (int t : turnEnds) {
            if (t == token) {
                return true;
            }
        }
        return false;
    }

    /** Snapshots {@code state} (which has consumed {@code tokens[0, length)}) into the cache, unless it is there already. */
    private void store(SequenceState state, int[] tokens, int length, SnapshotKind kind) {
        if (!cacheUsable) {
            return;
        }
        try {
            if (!cache.contains(tokens, length)) {
                cache.put(tokens, length, state.snapshot(), kind);
            }
        } catch (RuntimeException e) {
            disableCache("snapshotting a state failed", e);
        }
    }

    private void disableCache(String what, RuntimeException e) {
        if (cacheUsable) {
            cacheUsable = false;
            cache.clear();
            LOG.log(System.Logger.Level.WARNING, what + "; the state cache is off from now on (model " + model.info().name() + ")", e);
        }
    }

    /**
     * After a step: sequences that fed their final end-of-turn token are snapshotted (when
     * {@code stepRan}) and give their slots back.
     */
    private void releaseClosing(boolean stepRan) {
        if (closing.isEmpty()) {
            return;
        }
        for (Sequence s : closing) {
            if (stepRan) {
                int[] turn = s.closingTurn;
                store(s.state, turn, turn.length, SnapshotKind.REPLY);
            }
            pool.release(s.state);
            s.closingTurn = null;
        }
        closing.clear();
        observer.stateSlots(pool.inUse(), slots);
    }

    /**
     * Final end-of-turn tokens first (one per closing sequence), then decode tokens (one per running
     * sequence), then prompt chunks in admission order, each ending at the prompt's next snapshot
     * position at the latest. {@code picks} gets one slot per entry: a device pick for sequences the
     * model samples itself.
     */
    private int buildBatch(ForwardBatch batch, List<Sequence> sampled, List<Sequence> snapshotDue, List<TokenPick> picks) {
        int budget = options.maxBatchTokens();
        for (Sequence s : closing) {
            int[] turn = s.closingTurn;
            batch.add(new ForwardBatch.Entry(s.state, turn, turn.length - 1, 1, null, false));
            picks.add(null);
            budget--;
        }
        for (Sequence s : running) {
            if (!s.inPrefill()) {
                TokenPick pick = devicePick(s);
                batch.add(new ForwardBatch.Entry(s.state, s.next, 0, 1, pick == null ? s.logits : null, false));
                picks.add(pick);
                sampled.add(s);
                budget--;
            }
        }
        int prefill = 0;
        for (Sequence s : running) {
            if (budget <= 0) {
                break;
            }
            if (s.inPrefill() && !s.awaitingCache) {
                int chunk = Math.min(budget, s.prefillLimit() - s.prefilled);
                boolean last = chunk == s.promptRemaining();
                TokenPick pick = last ? devicePick(s) : null;
                batch.add(new ForwardBatch.Entry(s.state, s.request.prompt(), s.prefilled, chunk, last && pick == null ? s.logits : null, false));
                picks.add(pick);
                s.prefilled += chunk;
                prefill += chunk;
                budget -= chunk;
                if (last) {
                    sampled.add(s);
                }
                if (s.atSnapshot()) {
                    snapshotDue.add(s);
                }
            }
        }
        return prefill;
    }

    /** A device pick for the sequence's next token, when the model can sample with its parameters. */
    private TokenPick devicePick(Sequence s) {
        if (deviceSampling == null || !deviceSampling.supportsDeviceSampling(s.request.sampling())) {
            return null;
        }
        return s.pick = s.newPick();
    }

    /**
     * Frees the slots of finished sequences, then tells their callers. A sequence that ended its turn
     * while the cache is on keeps its slot for one more step (see {@link #closing}).
     */
    private void retireFinished() {
        List<Sequence> ended = null;
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.isFinished()) {
                int[] turn = cacheUsable && !stopped ? s.endedTurn(turnEnds) : null;
                if (turn != null && s.state.position() == turn.length - 1 && !cache.contains(turn, turn.length)) {
                    s.closingTurn = turn;
                    closing.add(s);
                } else {
                    pool.release(s.state);
                }
                completed.incrementAndGet();
                it.remove();
                if (ended == null) {
                    ended = new ArrayList<>();
                }
                ended.add(s);
            }
        }
        if (ended != null) {
            runningCount = running.size();
            observer.stateSlots(pool.inUse(), slots);
            ended.forEach(Sequence::publish);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Stops accepting requests and lets running and waiting ones finish for up to {@code grace};
     * then cancels the rest. Returns true when everything finished in time.
     */
    public boolean shutdown(Duration grace) throws InterruptedException {
        accepting = false;
        long deadline = System.nanoTime() + grace.toNanos();
        lock.lock();
        try {
            while (runningCount > 0 || !waiting.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                idle.awaitNanos(Math.min(left, 50_000_000L));
            }
        } finally {
            lock.unlock();
        }
        boolean clean = runningCount == 0 && stats().waiting() == 0;
        close();
        return clean;
    }

    public boolean isAccepting() {
        return accepting;
    }

    /** Cancels everything still running or waiting, stops the engine thread and frees the slots. */
    @Override
    public void close() {
        accepting = false;
        stopped = true;
        lock.lock();
        try {
            workAvailable.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.close();
    }

    /** A completed future of the result, for callers that compose. */
    public CompletableFuture<GenerationResult> submitAsync(GenerationRequest request, GenerationListener listener) {
        return submit(request, listener).result();
    }
}
