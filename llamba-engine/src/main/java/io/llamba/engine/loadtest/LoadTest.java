package io.llamba.engine.loadtest;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A bounded load test of an OpenAI-compatible chat completions service: N clients stream greedy
 * replies to a fixed set of prompts for a while, and every request is accounted for. In exact mode
 * each prompt's reply is first fetched alone, so under load a reply must equal it: a lost, cut,
 * duplicated or mixed stream cannot pass unnoticed.
 */
public final class LoadTest {
    private static final String[] WORDS = ("llama alpaca vicuna guanaco camel desert mountain river valley wool herd shepherd "
            + "market village song story winter summer bread cheese salt stone bridge tower garden lantern").split(" ");

    private final LoadTestConfig config;
    private final PrintStream log;
    private final HttpClient http;

    public LoadTest(LoadTestConfig config, PrintStream log) {
        this.config = config;
        this.log = log;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    }

    /** The prompt of index {@code i}: distinct per index, the same every run. */
    static String prompt(int i) {
        StringBuilder sb = new StringBuilder("Load test prompt ").append(i).append(". Tell a short story about");
        long x = 0x9E3779B97F4A7C15L * (i + 1);
        for (int w = 0; w < 6; w++) {
            x ^= x >>> 29;
            x *= 0xBF58476D1CE4E5B9L;
            sb.append(' ').append(WORDS[(int) Long.remainderUnsigned(x, WORDS.length)]);
        }
        return sb.append('.').toString();
    }

    /** One reply as the test expects it. */
    record Expected(String text, String finishReason, String id) {
    }

    /** Runs the test once (the HTTP client is closed at the end); returns the report. */
    public LoadTestReport run() throws InterruptedException {
        try (http) {
            return runOnce();
        }
    }

    private LoadTestReport runOnce() throws InterruptedException {
        String model = config.model() != null ? config.model() : discoverModel();
        LoadTestReport report = new LoadTestReport(config, model);
        try (ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "load-test-watchdog");
            t.setDaemon(true);
            return t;
        })) {
            List<Expected> expected = new ArrayList<>();
            // Completion ids must be unique across every response, the expected ones included.
            Set<String> ids = ConcurrentHashMap.newKeySet();
            if (config.exact()) {
                log.printf("load-test: fetching the expected reply of %d prompts, one at a time%n", config.prompts());
                for (int i = 0; i < config.prompts(); i++) {
                    Expected e = fetchExpected(model, i, watchdog);
                    expected.add(e);
                    if (e.id() != null) {
                        ids.add(e.id());
                    }
                }
                report.distinctReplies(new HashSet<>(expected.stream().map(Expected::text).toList()).size());
            }
            log.printf("load-test: %d clients for %s%n", config.clients(), config.duration());
            AtomicBoolean stop = new AtomicBoolean();
            long t0 = System.nanoTime();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < config.clients(); c++) {
                int client = c;
                clients.add(Thread.ofVirtual().name("load-test-client-" + c).start(() -> {
                    for (int n = 0; !stop.get(); n++) {
                        int p = (client + n * config.clients()) % config.prompts();
                        Result r = stream(model, p, watchdog, report);
                        Outcome outcome = r.check.verdict();
                        String problem = r.check.problem();
                        if (outcome == null) {
                            if (r.check.id() != null && !ids.add(r.check.id())) {
                                outcome = Outcome.DUPLICATED;
                                problem = "completion id " + r.check.id() + " was already used by another response";
                            } else if (config.exact() && !r.check.text().equals(expected.get(p).text())) {
                                outcome = Outcome.MISMATCHED;
                                problem = "prompt " + p + ": reply differs from the expected one at character "
                                        + firstDifference(r.check.text(), expected.get(p).text()) + " (got "
                                        + r.check.text().length() + " characters, expected " + expected.get(p).text().length() + ")";
                            } else if (config.exact() && !r.check.finishReason().equals(expected.get(p).finishReason())) {
                                outcome = Outcome.MISMATCHED;
                                problem = "prompt " + p + ": finish reason " + r.check.finishReason() + ", expected "
                                        + expected.get(p).finishReason();
                            } else {
                                outcome = Outcome.OK;
                            }
                        }
                        report.record(outcome, problem, r.check, r.totalNanos);
                    }
                }));
            }
            Thread.sleep(config.duration().toMillis());
            stop.set(true);
            log.printf("load-test: %s elapsed; waiting for the requests under way%n", config.duration());
            for (Thread t : clients) {
                t.join();
            }
            report.finish((System.nanoTime() - t0) / 1e9);
        }
        return report;
    }

    private record Result(StreamCheck check, long totalNanos) {
    }

    /** One streamed request, read to its end (or the timeout). */
    private Result stream(String model, int prompt, ScheduledExecutorService watchdog, LoadTestReport report) {
        long start = System.nanoTime();
        StreamCheck check = new StreamCheck(start, report == null ? null : report::gap);
        HttpRequest request = request(model, prompt, true);
        AtomicBoolean timedOut = new AtomicBoolean();
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    // An error status with its body is an explicit answer; 429 and 503 say "at capacity".
                    Outcome o = response.statusCode() == 429 || response.statusCode() == 503 ? Outcome.REFUSED : Outcome.ERROR;
                    check.settle(o, "HTTP " + response.statusCode() + ": " + StreamCheck.abbreviate(readBounded(body)));
                    return new Result(check, System.nanoTime() - start);
                }
                String type = response.headers().firstValue("content-type").orElse("(none)");
                if (!type.toLowerCase(Locale.ROOT).startsWith("text/event-stream")) {
                    check.settle(Outcome.MALFORMED, "content type " + type + ", not text/event-stream");
                    return new Result(check, System.nanoTime() - start);
                }
                long left = config.requestTimeout().toNanos() - (System.nanoTime() - start);
                ScheduledFuture<?> alarm = watchdog.schedule(() -> {
                    timedOut.set(true);
                    try {
                        body.close();
                    } catch (IOException ignored) {
                        // Closing is how the blocked read is ended; nothing to add.
                    }
                }, Math.max(left, 0), TimeUnit.NANOSECONDS);
                try {
                    SseReader reader = new SseReader(body);
                    SseReader.Event e;
                    while ((e = reader.next()) != null) {
                        if (!check.accept(e, System.nanoTime())) {
                            break;
                        }
                    }
                    check.end(timedOut.get());
                } catch (IOException e) {
                    check.broken(timedOut.get() ? "no end within the request timeout" : "connection broken: " + e.getMessage());
                } finally {
                    alarm.cancel(false);
                }
            }
        } catch (java.net.http.HttpTimeoutException e) {
            check.broken("no response within the request timeout");
        } catch (IOException e) {
            check.broken("request failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            check.broken("interrupted");
        } catch (RuntimeException e) {
            // A fault of this client, not of the service; still counted, so no request goes missing.
            check.broken("load-test client failure: " + e);
        }
        return new Result(check, System.nanoTime() - start);
    }

    private HttpRequest request(String model, int prompt, boolean stream) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (model != null) {
            body.put("model", model);
        }
        body.put("messages", List.of(Map.of("role", "user", "content", prompt(prompt))));
        body.put("stream", stream);
        if (stream) {
            body.put("stream_options", Map.of("include_usage", true));
        }
        body.put("temperature", 0);
        body.put("max_tokens", config.maxTokens());
        HttpRequest.Builder b = HttpRequest.newBuilder(config.endpoint("chat/completions"))
                .timeout(config.requestTimeout())
                .header("Content-Type", "application/json")
                .header("Accept", stream ? "text/event-stream" : "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(body), StandardCharsets.UTF_8));
        if (config.apiKey() != null) {
            b.header("Authorization", "Bearer " + config.apiKey());
        }
        return b.build();
    }

    /** The reply to one prompt with nothing else running; retried a few times when refused. */
    private Expected fetchExpected(String model, int prompt, ScheduledExecutorService watchdog) throws InterruptedException {
        String last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            Result r = stream(model, prompt, watchdog, null);
            if (r.check.verdict() == null) {
                return new Expected(r.check.text(), r.check.finishReason(), r.check.id());
            }
            last = r.check.verdict() + ": " + r.check.problem();
            if (r.check.verdict() != Outcome.REFUSED) {
                break;
            }
            Thread.sleep(1000L << attempt);
        }
        throw new LoadTestException("could not fetch the expected reply of prompt " + prompt + " (" + last + ")");
    }

    /** The first model {@code GET /models} lists. */
    private String discoverModel() throws InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(config.endpoint("models")).timeout(Duration.ofSeconds(30)).GET();
        if (config.apiKey() != null) {
            b.header("Authorization", "Bearer " + config.apiKey());
        }
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new LoadTestException("GET " + config.endpoint("models") + " answered HTTP " + r.statusCode() + "; name the model with --model-name");
            }
            List<JsonObject> data = Json.parseObject(r.body(), "GET /models").getObjectList("data");
            if (data.isEmpty()) {
                throw new LoadTestException("GET " + config.endpoint("models") + " lists no model; name one with --model-name");
            }
            return data.getFirst().getString("id");
        } catch (IOException e) {
            throw new LoadTestException("cannot reach " + config.endpoint("models") + ": " + e.getMessage());
        } catch (JsonException e) {
            throw new LoadTestException("GET /models: " + e.getMessage());
        }
    }

    private static String readBounded(InputStream in) throws IOException {
        byte[] b = in.readNBytes(4096);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static int firstDifference(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            if (a.charAt(i) != b.charAt(i)) {
                return i;
            }
        }
        return n;
    }
}
