package io.llamba.spring.autoconfigure;

import io.llamba.engine.generate.Engine;
import org.springframework.context.SmartLifecycle;

import java.time.Duration;

/**
 * Shuts the engine down gracefully when the application stops: no new requests, running and
 * queued ones get the grace period to finish, the rest are cancelled. Stops after the web server's
 * graceful shutdown (a lower phase stops later), so requests the server is still draining can finish.
 */
class LlambaEngineLifecycle implements SmartLifecycle {
    /** Below the web server's graceful-shutdown phase ({@code DEFAULT_PHASE - 1024}). */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 2048;

    private static final System.Logger LOG = System.getLogger(LlambaEngineLifecycle.class.getName());

    private final Engine engine;
    private final Duration grace;
    private volatile boolean running;

    LlambaEngineLifecycle(Engine engine, Duration grace) {
        this.engine = engine;
        this.grace = grace;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        try {
            if (!engine.shutdown(grace)) {
                LOG.log(System.Logger.Level.WARNING, "Llamba engine: generations still running after " + grace + " were cancelled");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            engine.close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
