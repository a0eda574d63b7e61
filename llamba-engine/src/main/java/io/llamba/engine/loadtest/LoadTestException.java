package io.llamba.engine.loadtest;

/** The load test cannot run (the service is unreachable, or an expected reply cannot be fetched). */
public class LoadTestException extends RuntimeException {
    public LoadTestException(String message) {
        super(message);
    }
}
