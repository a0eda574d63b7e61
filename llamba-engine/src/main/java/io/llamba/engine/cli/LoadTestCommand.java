package io.llamba.engine.cli;

import io.llamba.engine.loadtest.LoadTest;
import io.llamba.engine.loadtest.LoadTestConfig;
import io.llamba.engine.loadtest.LoadTestReport;

import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;

/** {@code load-test}: streaming clients against an OpenAI-compatible service; every request accounted for. */
final class LoadTestCommand implements Command {
    @Override
    public String name() {
        return "load-test";
    }

    @Override
    public String summary() {
        return "bounded load test of an OpenAI-compatible service: every streamed reply checked and counted";
    }

    @Override
    public String help() {
        return """
                Usage: load-test --url URL [--clients N] [--duration D] [--prompts N] [--max-tokens N]
                                 [--request-timeout D] [--model-name NAME] [--verify exact|protocol] [--api-key KEY]

                Streams chat completions (POST URL/chat/completions, "stream": true, temperature 0) from N
                concurrent clients, each sending its next request when the last one ends, for the duration;
                then waits for the requests under way. With --verify exact (the default) the reply to each
                prompt is first fetched alone, one request at a time, and every reply under load must equal it.
                Each request ends as: ok; refused (HTTP 429 or 503); an explicit error (an error status, an
                error event or finish reason); or a failure: lost (no finish and [DONE], a broken connection,
                past the request timeout), mismatched (other text or finish reason, or a switch of completion
                id inside a stream: mixed), duplicated (a completion id seen before, a second finish or [DONE],
                content after the finish) or malformed. Prints the counts; exits 0 when no request failed and
                at least one succeeded, else 1.

                  --url URL             the API root, e.g. http://127.0.0.1:8080/v1
                  --clients N           concurrent streaming clients (default 64)
                  --duration D          how long to start requests: 120s, 2m, 500ms (default 120s)
                  --prompts N           distinct prompts, used in turn (default 16)
                  --max-tokens N        max_tokens per request (default 64)
                  --request-timeout D   longest a request may take before it counts as lost (default 300s)
                  --model-name NAME     the model to ask for (default: the first that GET URL/models lists)
                  --verify MODE         exact (default; needs greedy replies that do not depend on the batch)
                                        or protocol (stream structure, ids and completeness only)
                  --api-key KEY         sent as "Authorization: Bearer KEY\"""";
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        String url = o.required("url");
        int clients = o.integer("clients", 64);
        Duration duration = duration("duration", o.string("duration", "120s"));
        int prompts = o.integer("prompts", 16);
        int maxTokens = o.integer("max-tokens", 64);
        Duration timeout = duration("request-timeout", o.string("request-timeout", "300s"));
        String model = o.string("model-name", null);
        String verify = o.string("verify", "exact");
        String apiKey = o.string("api-key", null);
        o.checkAllUsed();
        if (!verify.equals("exact") && !verify.equals("protocol")) {
            throw new UsageException("--verify must be exact or protocol, got '" + verify + "'");
        }
        LoadTestConfig config;
        try {
            config = new LoadTestConfig(URI.create(url), model, clients, duration, prompts, maxTokens, timeout, verify.equals("exact"), apiKey);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        LoadTestReport report = new LoadTest(config, err).run();
        report.print(out);
        return report.passed() ? 0 : 1;
    }

    /** {@code 120s}, {@code 2m}, {@code 500ms}, {@code 1h}, or plain seconds. */
    static Duration duration(String option, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
            }
            if (t.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 1000));
            }
            if (t.endsWith("m")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 60_000));
            }
            if (t.endsWith("h")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 3_600_000));
            }
            return Duration.ofMillis(Math.round(Double.parseDouble(t) * 1000));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + option + ": expected a duration such as 120s, 2m or 500ms, got '" + text + "'");
        }
    }
}
