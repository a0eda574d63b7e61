package io.llamba.engine.generate;

import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.engine.tokenizer.Tokenizer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
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
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());

    private final Model model;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final EngineOptions options;
    private final EngineObserver observer;
    private final StatePool pool;
    private final int contextLimit;
    private final int[] stopTokens;
    private final int vocab;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final Condition idle = lock.newCondition();
    /** Submitted, not yet holding a slot; guarded by lock. */
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    /** Holding a slot; engine thread only. */
    private final List<Sequence> running = new ArrayList<>();
    private volatile int runningCount;
    private volatile boolean accepting = true;
    private volatile boolean stopped;

    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final Thread thread;

    public Engine(Model model, Tokenizer tokenizer, EngineOptions options, EngineObserver observer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.chatTemplate = new ChatTemplate(tokenizer);
        this.options = options;
        this.observer = observer == null ? EngineObserver.NONE : observer;
        ModelInfo info = model.info();
        this.contextLimit = options.maxContext() > 0 ? Math.min(options.maxContext(), info.maxContext()) : info.maxContext();
        this.pool = model.createStatePool(options.maxSequences(), contextLimit);
        this.vocab = info.vocabSize();
        if (tokenizer.vocabSize() > vocab + 1024 || tokenizer.vocabSize() < 1) {
            LOG.log(System.Logger.Level.WARNING, "tokenizer has " + tokenizer.vocabSize() + " tokens, the model " + vocab);
        }
        this.stopTokens = java.util.stream.IntStream.of(tokenizer.endOfTurn(), tokenizer.endOfText(), tokenizer.endOfMessage())
                .filter(t -> t >= 0).distinct().toArray();
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
            int free = options.maxSequences() - runningCount;
            if (waiting.size() - Math.max(0, free) >= options.maxQueued()) {
                rejected.incrementAndGet();
                observer.rejected();
                throw new EngineOverloadedException(waiting.size(), options.maxQueued());
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
        return new EngineStats(run, wait, options.maxSequences(), options.maxQueued(), run * per, options.maxSequences() * per,
                promptTokens.get(), generatedTokens.get(), completed.get(), rejected.get(), failed.get());
    }

    // ------------------------------------------------------------------ engine thread

    private void loop() {
        ForwardBatch batch = new ForwardBatch();
        List<Sequence> sampled = new ArrayList<>();
        while (!stopped) {
            try {
                if (!awaitWork()) {
                    continue;
                }
                expire();
                admit();
                batch.clear();
                sampled.clear();
                int prefillTokens = buildBatch(batch, sampled);
                if (batch.isEmpty()) {
                    continue;
                }
                long t0 = System.nanoTime();
                try {
                    model.forward(batch);
                } catch (RuntimeException | Error e) {
                    LOG.log(System.Logger.Level.ERROR, "forward pass failed; failing the " + batch.size() + " sequences in it", e);
                    for (ForwardBatch.Entry entry : batch.entries()) {
                        running.stream().filter(s -> s.state == entry.state()).findFirst().ifPresent(s -> {
                            s.fail(e);
                            failed.incrementAndGet();
                        });
                    }
                    retireFinished();
                    continue;
                }
                observer.step(batch.size(), batch.tokenCount(), System.nanoTime() - t0);
                promptTokens.addAndGet(prefillTokens);
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
        if (!running.isEmpty()) {
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

    /** Moves waiting requests into free slots, first come first served. */
    private void admit() {
        lock.lock();
        try {
            while (!waiting.isEmpty()) {
                var slot = pool.tryAcquire();
                if (slot.isEmpty()) {
                    return;
                }
                Sequence s = waiting.pollFirst();
                s.admit(slot.get(), vocab);
                running.add(s);
                runningCount = running.size();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Decode tokens first (one per running sequence), then prompt chunks in admission order. */
    private int buildBatch(ForwardBatch batch, List<Sequence> sampled) {
        int budget = options.maxBatchTokens();
        for (Sequence s : running) {
            if (!s.inPrefill()) {
                batch.add(new ForwardBatch.Entry(s.state, s.next, 0, 1, s.logits, false));
                sampled.add(s);
                budget--;
            }
        }
        int prefill = 0;
        for (Sequence s : running) {
            if (budget <= 0) {
                break;
            }
            if (s.inPrefill()) {
                int chunk = Math.min(budget, s.promptRemaining());
                boolean last = chunk == s.promptRemaining();
                batch.add(new ForwardBatch.Entry(s.state, s.request.prompt(), s.prefilled, chunk, last ? s.logits : null, false));
                s.prefilled += chunk;
                prefill += chunk;
                budget -= chunk;
                if (last) {
                    sampled.add(s);
                }
            }
        }
        return prefill;
    }

    /** Frees the slots of finished sequences, then tells their callers. */
    private void retireFinished() {
        List<Sequence> ended = null;
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.isFinished()) {
                pool.release(s.state);
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
