package io.llamba.spring.ai;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * A generation ran past its deadline (the time limiter's timeout) and was stopped; the engine has
 * freed its state slot. The cause is the {@link TimeoutException} the time limiter recorded.
 */
public class GenerationTimeoutException extends RuntimeException {
    private final Duration timeout;

    public GenerationTimeoutException(Duration timeout) {
        super("the generation did not finish within its deadline of " + timeout + " and was stopped",
                new TimeoutException("generation deadline " + timeout + " passed"));
        this.timeout = timeout;
    }

    public Duration timeout() {
        return timeout;
    }
}
