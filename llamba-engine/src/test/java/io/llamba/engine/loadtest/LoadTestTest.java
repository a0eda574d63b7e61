package io.llamba.engine.loadtest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The load generator against a fake SSE server: a healthy server passes, and every kind of fault is caught and counted. */
@Timeout(60)
class LoadTestTest {
    static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    static LoadTestConfig config(URI url, int clients, long millis, boolean exact) {
        return new LoadTestConfig(url, null, clients, Duration.ofMillis(millis), 4, 12, Duration.ofSeconds(2), exact, null);
    }

    static String printed(LoadTestReport report) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        report.print(new PrintStream(b, true, StandardCharsets.UTF_8));
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aHealthyServerPassesAndEveryRequestIsCounted() throws Exception {
        try (FakeChatServer server = new FakeChatServer()) {
            LoadTestReport report = new LoadTest(config(server.url(), 8, 1500, true), QUIET).run();
            assertThat(report.passed()).isTrue();
            assertThat(report.count(Outcome.OK)).isEqualTo(report.total()).isGreaterThan(8);
            // Every request the server saw, but the 4 that fetched the expected replies, is in the report.
            assertThat(report.total()).isEqualTo(server.chatRequests.get() - 4);
            String text = printed(report);
            assertThat(text).contains("model fake-llamba, 8 clients", "4 distinct expected replies", " ok, 0 refused", "0 lost, 0 mismatched",
                    "0 duplicated, 0 malformed", "result: PASS");
            assertThat(text).containsPattern("\\d+\\.\\d completion tokens/s");
        }
    }

    @Test
    void everyKindOfFaultIsCaughtAndNamed() throws Exception {
        try (FakeChatServer server = new FakeChatServer()) {
            server.faultsAfter = 4;
            server.refuseEvery = 5;
            server.cutEvery = 7;
            server.mixEvery = 11;
            server.reuseIdEvery = 13;
            server.errorEvery = 17;
            server.stallEvery = 29;
            LoadTestReport report = new LoadTest(config(server.url(), 8, 2500, true), QUIET).run();
            assertThat(report.passed()).isFalse();
            for (Outcome o : new Outcome[]{Outcome.OK, Outcome.REFUSED, Outcome.ERROR, Outcome.LOST, Outcome.MISMATCHED, Outcome.DUPLICATED}) {
                assertThat(report.count(o)).as(o.name()).isPositive();
            }
            assertThat(report.count(Outcome.MALFORMED)).isZero();
            assertThat(report.total()).isEqualTo(server.chatRequests.get() - 4);
            String text = printed(report);
            assertThat(text).contains("result: FAIL");
            assertThat(report.problems()).anyMatch(p -> p.startsWith("refused: HTTP 429"))
                    .anyMatch(p -> p.startsWith("lost: the stream ended without a finish reason"))
                    .anyMatch(p -> p.startsWith("mismatched: prompt "))
                    .anyMatch(p -> p.startsWith("error: error event: engine failure"));
        }
    }

    @Test
    void aStalledStreamIsLostAtTheRequestTimeout() throws Exception {
        try (FakeChatServer server = new FakeChatServer()) {
            server.faultsAfter = 1;
            server.stallEvery = 1;
            LoadTestConfig c = new LoadTestConfig(server.url(), "fake-llamba", 1, Duration.ofMillis(100), 1, 12, Duration.ofMillis(700), true, null);
            LoadTestReport report = new LoadTest(c, QUIET).run();
            assertThat(report.count(Outcome.LOST)).isEqualTo(report.total()).isPositive();
            assertThat(report.problems().getFirst()).contains("within the request timeout");
        }
    }

    @Test
    void protocolModeAcceptsRepliesThatVaryExactModeDoesNot() throws Exception {
        try (FakeChatServer server = new FakeChatServer()) {
            server.nondeterministic = true;
            assertThat(new LoadTest(config(server.url(), 4, 800, false), QUIET).run().passed()).isTrue();
            LoadTestReport exact = new LoadTest(config(server.url(), 4, 800, true), QUIET).run();
            assertThat(exact.count(Outcome.MISMATCHED)).isEqualTo(exact.total());
        }
    }

    @Test
    void anUnreachableServiceIsAClearError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        LoadTest test = new LoadTest(config(URI.create("http://127.0.0.1:" + port + "/v1"), 1, 100, true), QUIET);
        assertThatThrownBy(test::run).isInstanceOf(LoadTestException.class).hasMessageContaining("cannot reach http://127.0.0.1:" + port + "/v1/models");
    }

    @Test
    void sseEventsFollowTheFormat() throws Exception {
        String stream = ": comment\r\ndata: one\r\n\r\nevent: error\ndata:two\ndata:  three\nid: 7\n\ndata\n\n\n\ndata: unterminated";
        try (SseReader r = new SseReader(new ByteArrayInputStream(stream.getBytes(StandardCharsets.UTF_8)))) {
            assertThat(r.next()).isEqualTo(new SseReader.Event("message", "one"));
            assertThat(r.next()).isEqualTo(new SseReader.Event("error", "two\n three"));
            assertThat(r.next()).isEqualTo(new SseReader.Event("message", ""));
            assertThat(r.next()).isNull();
        }
    }

    static SseReader.Event data(String d) {
        return new SseReader.Event("message", d);
    }

    static String chunk(String id, String content, String finish) {
        return "{\"id\":\"" + id + "\",\"choices\":[{\"index\":0,\"delta\":" + (content == null ? "{}" : "{\"content\":\"" + content + "\"}")
                + ",\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}";
    }

    @Test
    void streamChecksNameEachBreach() {
        StreamCheck ok = new StreamCheck(0, null);
        ok.accept(data(chunk("a", "Hel", null)), 5);
        ok.accept(data(chunk("a", "lo", null)), 9);
        ok.accept(data(chunk("a", null, "stop")), 10);
        ok.accept(data("[DONE]"), 11);
        ok.end(false);
        assertThat(ok.verdict()).isNull();
        assertThat(ok.text()).isEqualTo("Hello");
        assertThat(ok.timeToFirstContentNanos()).isEqualTo(5);

        StreamCheck late = new StreamCheck(0, null);
        late.accept(data(chunk("a", "x", "stop")), 1);
        assertThat(late.accept(data(chunk("a", "y", null)), 2)).isFalse();
        assertThat(late.verdict()).isEqualTo(Outcome.DUPLICATED);
        assertThat(late.problem()).isEqualTo("content after the finish reason");

        StreamCheck mixed = new StreamCheck(0, null);
        mixed.accept(data(chunk("a", "x", null)), 1);
        mixed.accept(data(chunk("b", "y", null)), 2);
        assertThat(mixed.verdict()).isEqualTo(Outcome.MISMATCHED);

        StreamCheck noDone = new StreamCheck(0, null);
        noDone.accept(data(chunk("a", "x", "length")), 1);
        noDone.end(false);
        assertThat(noDone.verdict()).isEqualTo(Outcome.LOST);
        assertThat(noDone.problem()).contains("without [DONE]");

        StreamCheck bad = new StreamCheck(0, null);
        bad.accept(data("{not json"), 1);
        assertThat(bad.verdict()).isEqualTo(Outcome.MALFORMED);

        StreamCheck cancelled = new StreamCheck(0, null);
        cancelled.accept(data(chunk("a", "x", "cancelled")), 1);
        cancelled.accept(data("[DONE]"), 2);
        cancelled.end(false);
        assertThat(cancelled.verdict()).isEqualTo(Outcome.ERROR);
    }

    @Test
    void badSettingsAreRefusedWithTheValue() {
        URI u = URI.create("http://127.0.0.1:1/v1");
        assertThatThrownBy(() -> new LoadTestConfig(URI.create("ftp://x/v1"), null, 1, Duration.ofSeconds(1), 1, 1, Duration.ofSeconds(1), true, null))
                .hasMessageContaining("http:// or https://");
        assertThatThrownBy(() -> new LoadTestConfig(u, null, 0, Duration.ofSeconds(1), 1, 1, Duration.ofSeconds(1), true, null))
                .hasMessageContaining("clients must be within 1..10000, got 0");
        assertThatThrownBy(() -> new LoadTestConfig(u, null, 1, Duration.ZERO, 1, 1, Duration.ofSeconds(1), true, null))
                .hasMessageContaining("duration must be positive");
    }

    @Test
    void theCommandPrintsTheCountsAndExitsByTheResult() throws Exception {
        try (FakeChatServer server = new FakeChatServer()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            String[] args = {"load-test", "--url", server.url().toString(), "--clients", "4", "--duration", "600ms", "--prompts", "3",
                    "--max-tokens", "8"};
            int status = io.llamba.engine.cli.Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), QUIET);
            assertThat(status).isZero();
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("3 prompts (3 distinct expected replies), max_tokens 8", "result: PASS");

            server.faultsAfter = server.chatRequests.get() + 3; // the expected replies are fetched intact
            server.cutEvery = 2;
            out.reset();
            status = io.llamba.engine.cli.Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), QUIET);
            assertThat(status).isEqualTo(1);
            assertThat(out.toString(StandardCharsets.UTF_8)).containsPattern("[1-9]\\d* lost").contains("result: FAIL");
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = io.llamba.engine.cli.Main.run(new String[]{"load-test", "--url", "http://127.0.0.1:1/v1", "--duration", "soon"}, QUIET,
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--duration: expected a duration such as 120s, 2m or 500ms, got 'soon'");
    }
}
