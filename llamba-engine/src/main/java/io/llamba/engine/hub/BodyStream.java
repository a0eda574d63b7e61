package io.llamba.engine.hub;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A response body read with a timeout between chunks. The JDK's input-stream body handler can block
 * for ever on a server that stops sending; here a stall longer than the read timeout cancels the
 * exchange and surfaces as an {@link HttpTimeoutException}, which the downloader treats as a cut and
 * resumes.
 */
final class BodyStream implements Flow.Subscriber<List<ByteBuffer>>, AutoCloseable {
    private static final Object END = new Object();

    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Duration timeout;
    private volatile Flow.Subscription subscription;
    private boolean done;

    BodyStream(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        queue.add(item);
    }

    @Override
    public void onError(Throwable throwable) {
        queue.add(throwable);
    }

    @Override
    public void onComplete() {
        queue.add(END);
    }

    /** The next chunk of buffers, or null at the end of the body. */
    @SuppressWarnings("unchecked")
    List<ByteBuffer> next() throws IOException {
        if (done) {
            return null;
        }
        Object item;
        try {
            item = queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new InterruptedIOException("download interrupted");
        }
        if (item == null) {
            close();
            throw new HttpTimeoutException("no data received for " + timeout.toMillis() / 1000.0 + " s");
        }
        if (item == END) {
            done = true;
            return null;
        }
        if (item instanceof Throwable t) {
            done = true;
            throw t instanceof IOException io ? io : new IOException(t.getMessage() == null ? t.toString() : t.getMessage(), t);
        }
        subscription.request(1);
        return (List<ByteBuffer>) item;
    }

    /** Stops the exchange (the connection is dropped unless the body was fully read). */
    @Override
    public void close() {
        if (!done) {
            done = true;
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }
    }
}
