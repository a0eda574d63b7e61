package io.llamba.engine.loadtest;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Every request of a load test, counted by outcome, with latency figures of the ones that passed. Thread-safe. */
public final class LoadTestReport {
    /** Problems kept verbatim for the printout; the rest are only counted. */
    static final int KEPT_PROBLEMS = 12;

    private final LoadTestConfig config;
    private final String model;
    private final Map<Outcome, Long> counts = new EnumMap<>(Outcome.class);
    private final List<String> problems = new ArrayList<>();
    private long[] ttft = new long[256];
    private int ttftCount;
    private long[] gaps = new long[1024];
    private int gapCount;
    private long completionTokens;
    private long characters;
    private int distinctReplies = -1;
    private double seconds;

    LoadTestReport(LoadTestConfig config, String model) {
        this.config = config;
        this.model = model;
        for (Outcome o : Outcome.values()) {
            counts.put(o, 0L);
        }
    }

    synchronized void record(Outcome outcome, String problem, StreamCheck check, long totalNanos) {
        counts.merge(outcome, 1L, Long::sum);
        if (outcome != Outcome.OK && problems.size() < KEPT_PROBLEMS) {
            problems.add(outcome.name().toLowerCase(Locale.ROOT) + ": " + problem);
        }
        if (outcome == Outcome.OK) {
            if (check.timeToFirstContentNanos() >= 0) {
                if (ttftCount == ttft.length) {
                    ttft = Arrays.copyOf(ttft, ttftCount * 2);
                }
                ttft[ttftCount++] = check.timeToFirstContentNanos();
            }
            if (check.completionTokens() > 0) {
                completionTokens += check.completionTokens();
            }
            characters += check.text().length();
        }
    }

    synchronized void gap(long nanos) {
        if (gapCount == gaps.length) {
            gaps = Arrays.copyOf(gaps, gapCount * 2);
        }
        gaps[gapCount++] = nanos;
    }

    synchronized void distinctReplies(int n) {
        distinctReplies = n;
    }

    synchronized void finish(double seconds) {
        this.seconds = seconds;
    }

    public synchronized long count(Outcome o) {
        return counts.get(o);
    }

    public synchronized long total() {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    public synchronized long failures() {
        return counts.entrySet().stream().filter(e -> e.getKey().isFailure()).mapToLong(Map.Entry::getValue).sum();
    }

    /** Passed: at least one request succeeded and none was lost, mismatched, duplicated or malformed. */
    public synchronized boolean passed() {
        return failures() == 0 && count(Outcome.OK) > 0;
    }

    public synchronized List<String> problems() {
        return List.copyOf(problems);
    }

    public synchronized void print(PrintStream out) {
        out.printf(Locale.ROOT, "load-test: %s, model %s, %d clients, %s, %d prompts%s, max_tokens %d, %s%n", config.baseUrl(), model,
                config.clients(), config.duration(), config.prompts(),
                distinctReplies < 0 ? "" : " (" + distinctReplies + " distinct expected replies)", config.maxTokens(),
                config.exact() ? "replies checked against the expected text" : "stream protocol checked only");
        out.printf(Locale.ROOT, "requests: %d in %.1f s: %d ok, %d refused (HTTP 429/503), %d explicit errors, %d lost, %d mismatched, "
                        + "%d duplicated, %d malformed%n", total(), seconds, count(Outcome.OK), count(Outcome.REFUSED), count(Outcome.ERROR),
                count(Outcome.LOST), count(Outcome.MISMATCHED), count(Outcome.DUPLICATED), count(Outcome.MALFORMED));
        if (ttftCount > 0) {
            out.printf(Locale.ROOT, "ok requests: first content p50 %.1f ms, p99 %.1f ms; between content events p50 %.1f ms, p99 %.1f ms; "
                            + "%.1f completion tokens/s (usage), %.1f characters/s%n", pct(ttft, ttftCount, 50), pct(ttft, ttftCount, 99),
                    pct(gaps, gapCount, 50), pct(gaps, gapCount, 99), completionTokens / seconds, characters / seconds);
        }
        for (String p : problems) {
            out.println("  " + p);
        }
        long unlisted = total() - count(Outcome.OK) - problems.size();
        if (unlisted > 0) {
            out.printf("  (%d more not listed)%n", unlisted);
        }
        out.println(passed() ? "result: PASS (every accepted request completed with its full text or an explicit error)"
                : "result: FAIL (" + (count(Outcome.OK) == 0 ? "no request succeeded" : failures() + " requests lost, mismatched, duplicated or malformed") + ")");
    }

    private static double pct(long[] v, int n, double p) {
        if (n == 0) {
            return Double.NaN;
        }
        long[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        return s[Math.clamp((int) Math.ceil(p / 100 * n) - 1, 0, n - 1)] / 1e6;
    }
}
