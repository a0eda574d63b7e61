package io.llamba.engine.generate;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A generation as a {@link Flow.Publisher} of text deltas, for reactive callers. The request is
 * submitted on subscription (one subscriber); cancelling the subscription cancels the generation.
 * Deltas are buffered while demand is zero (the engine never waits for a slow subscriber; a
 * generation is bounded by its max tokens). The result is available as {@link #result()} once the
 * publisher has completed.
 */
public final class GenerationPublisher implements Flow.Publisher<String> {
    private final Engine engine;
    private final GenerationRequest request;
    private final AtomicBoolean subscribed = new AtomicBoolean();
    private volatile GenerationResult result;

    public GenerationPublisher(Engine engine, GenerationRequest request) {
        this.engine = engine;
        this.request = request;
    }

    /** The result, once the subscriber has been completed; else null. */
    public GenerationResult result() {
        return result;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super String> subscriber) {
        if (!subscribed.compareAndSet(false, true)) {
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                }
            });
            subscriber.onError(new IllegalStateException("a generation publisher accepts one subscriber"));
            return;
        }
        new Relay(subscriber).start();
    }

    private final class Relay implements Flow.Subscription, GenerationListener {
        private final Flow.Subscriber<? super String> downstream;
        private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
        private final AtomicLong demand = new AtomicLong();
        private final AtomicInteger wip = new AtomicInteger();
        private volatile boolean done;
        private volatile Throwable error;
        private volatile boolean cancelled;
        private volatile GenerationHandle handle;

        Relay(Flow.Subscriber<? super String> downstream) {
            this.downstream = downstream;
        }

        void start() {
            downstream.onSubscribe(this);
            if (cancelled) {
                return;
            }
            try {
                handle = engine.submit(request, this);
                if (cancelled) {
                    handle.cancel();
                }
            } catch (RuntimeException e) {
                error = e;
                done = true;
                drain();
            }
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                error = new IllegalArgumentException("§3.9: request must be positive, got " + n);
                done = true;
                cancel();
            } else {
                demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            }
            drain();
        }

        @Override
        public void cancel() {
            cancelled = true;
            GenerationHandle h = handle;
            if (h != null) {
                h.cancel();
            }
        }

        @Override
        public void onDelta(String text) {
            queue.add(text);
            drain();
        }

        @Override
        public void onComplete(GenerationResult r) {
            result = r;
            done = true;
            drain();
        }

        @Override
        public void onError(Throwable e) {
            error = e;
            done = true;
            drain();
        }

        /** Serialised delivery: whoever gets wip from 0 delivers for everyone. */
        private void drain() {
            if (wip.getAndIncrement() != 0) {
                return;
            }
            int missed = 1;
            while (true) {
                long d = demand.get();
                long emitted = 0;
                while (emitted < d && !cancelled) {
                    String s = queue.poll();
                    if (s == null) {
                        break;
                    }
                    downstream.onNext(s);
                    emitted++;
                }
                if (emitted > 0) {
                    demand.addAndGet(-emitted);
                }
                if (cancelled && error == null) {
                    queue.clear();
                    return;
                }
                if (done && queue.isEmpty()) {
                    Throwable e = error;
                    cancelled = true; // terminal: deliver once
                    if (e != null) {
                        downstream.onError(e);
                    } else {
                        downstream.onComplete();
                    }
                    return;
                }
                missed = wip.addAndGet(-missed);
                if (missed == 0) {
                    return;
                }
            }
        }
    }
}
