package io.llamba.engine.generate;

import io.llamba.engine.sampling.SamplingParams;
import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.ScriptedModel;
import io.llamba.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Engine behaviour on a scripted model: every stop condition, streaming, cancellation, load. */
@Timeout(30)
class EngineTest {
    static final Tokenizer TOKENIZER = ByteTokenizer.load();

    static int[] prompt(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length + 1];
        ids[0] = ByteTokenizer.BOS;
        for (int i = 0; i < b.length; i++) {
            ids[i + 1] = b[i] & 0xff;
        }
        return ids;
    }

    static int[] script(String text, int... tail) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length + tail.length];
        for (int i = 0; i < b.length; i++) {
            ids[i] = b[i] & 0xff;
        }
        System.arraycopy(tail, 0, ids, b.length, tail.length);
        return ids;
    }

    static final class Recorder implements GenerationListener {
        final List<String> deltas = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch firstDelta = new CountDownLatch(1);

        @Override
        public void onDelta(String text) {
            deltas.add(text);
            firstDelta.countDown();
        }

        String joined() {
            return String.join("", deltas);
        }
    }

    private static Engine engine(ScriptedModel model, EngineOptions options) {
        return new Engine(model, TOKENIZER, options);
    }

    @Test
    void streamsTextAndStopsAtEndOfTurnWithoutSplittingCharacters() throws Exception {
        int[] p = prompt("hi");
        String reply = "Hello 世界 🦙!";
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, script(reply, ByteTokenizer.EOT), 'x', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            Recorder rec = new Recorder();
            GenerationResult r = engine.generate(GenerationRequest.builder(p).maxTokens(100).build(), rec);
            assertThat(r.text()).isEqualTo(reply);
            assertThat(rec.joined()).isEqualTo(reply);
            assertThat(rec.deltas).noneMatch(d -> d.contains("\uFFFD"));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
            assertThat(r.stopToken()).isEqualTo(ByteTokenizer.EOT);
            int replyTokens = reply.getBytes(StandardCharsets.UTF_8).length;
            assertThat(r.tokens()).hasSize(replyTokens);
            assertThat(r.completionTokens()).isEqualTo(replyTokens + 1);
            assertThat(r.promptTokens()).isEqualTo(p.length);
        }
    }

    @Test
    void endOfMessageAndEndOfTextAlsoStop() throws Exception {
        int[] p = prompt("q");
        for (int stop : new int[]{ByteTokenizer.EOM, ByteTokenizer.END_OF_TEXT}) {
            ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, script("ok", stop), 'x', 0);
            try (Engine engine = engine(model, EngineOptions.defaults())) {
                GenerationResult r = engine.generate(GenerationRequest.builder(p).maxTokens(50).build());
                assertThat(r.text()).isEqualTo("ok");
                assertThat(r.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
                assertThat(r.stopToken()).isEqualTo(stop);
            }
        }
    }

    @Test
    void stopStringIsNeverEmitted() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, script("abc STOP def", ByteTokenizer.EOT), 'x', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            Recorder rec = new Recorder();
            GenerationResult r = engine.generate(GenerationRequest.builder(p).maxTokens(50).stopStrings(List.of("STOP", "never")).build(), rec);
            assertThat(r.text()).isEqualTo("abc ");
            assertThat(rec.joined()).isEqualTo("abc ");
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP_STRING);
            assertThat(r.stopString()).isEqualTo("STOP");
        }
    }

    @Test
    void heldBackPrefixOfStopStringIsReleasedWhenItDoesNotMatch() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, script("a ST", ByteTokenizer.EOT), 'x', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            GenerationResult r = engine.generate(GenerationRequest.builder(p).maxTokens(50).stopStrings(List.of("STOP")).build());
            assertThat(r.text()).isEqualTo("a ST");
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
        }
    }

    @Test
    void maxTokensEndsWithLength() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, new int[0], 'z', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            GenerationResult r = engine.generate(GenerationRequest.builder(p).maxTokens(7).build());
            assertThat(r.text()).isEqualTo("zzzzzzz");
            assertThat(r.completionTokens()).isEqualTo(7);
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void specialTokensAreNotText() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, script("a", ByteTokenizer.PYTHON_TAG, 'b', ByteTokenizer.EOT), 'x', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            GenerationResult r = engine.generate(GenerationRequest.builder(p).maxTokens(50).build());
            assertThat(r.text()).isEqualTo("ab");
            assertThat(r.tokens()).containsExactly('a', ByteTokenizer.PYTHON_TAG, 'b');
        }
    }

    @Test
    void cancellationStopsWithinAStepAndFreesTheSlot() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, new int[0], 'a', 10);
        try (Engine engine = engine(model, EngineOptions.defaults().withMaxSequences(1))) {
            Recorder rec = new Recorder();
            GenerationHandle h = engine.submit(GenerationRequest.builder(p).maxTokens(10_000).build(), rec);
            assertThat(rec.firstDelta.await(10, TimeUnit.SECONDS)).isTrue();
            int before = model.forwards.get();
            h.cancel();
            GenerationResult r = h.result().get(10, TimeUnit.SECONDS);
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(model.forwards.get() - before).isLessThanOrEqualTo(2);
            // The single slot is free again: a new request runs.
            GenerationResult next = engine.generate(GenerationRequest.builder(p).maxTokens(2).build());
            assertThat(next.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(engine.stats().running()).isZero();
        }
    }

    @Test
    void deadlineEndsTheRequest() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, new int[0], 'a', 5);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            GenerationResult r = engine.generate(GenerationRequest.builder(p).maxTokens(100_000).timeout(Duration.ofMillis(150)).build());
            assertThat(r.finishReason()).isEqualTo(FinishReason.DEADLINE);
            assertThat(r.totalNanos()).isLessThan(Duration.ofSeconds(5).toNanos());
        }
    }

    @Test
    void fullQueueRefusesAtOnce() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, new int[0], 'a', 5);
        try (Engine engine = engine(model, EngineOptions.defaults().withMaxSequences(1).withMaxQueued(1))) {
            GenerationHandle a = engine.submit(GenerationRequest.builder(p).maxTokens(100_000).build(), null);
            // Wait until the first holds the slot, then one may queue and the next is refused.
            while (engine.stats().running() == 0) {
                Thread.sleep(1);
            }
            GenerationHandle b = engine.submit(GenerationRequest.builder(p).maxTokens(100_000).build(), null);
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder(p).maxTokens(5).build(), null))
                    .isInstanceOf(EngineOverloadedException.class).hasMessageContaining("limit is 1");
            assertThat(engine.stats().rejected()).isEqualTo(1);
            a.cancel();
            b.cancel();
            assertThat(a.result().get().finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(b.result().get().finishReason()).isEqualTo(FinishReason.CANCELLED);
        }
    }

    @Test
    void contextLimitIsCheckedWithTheNumbers() {
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, 1, new int[0], 'a', 0);
        try (Engine engine = engine(model, EngineOptions.defaults().withMaxContext(16))) {
            int[] p = prompt("123456789"); // 10 tokens
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder(p).maxTokens(7).build(), null))
                    .isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("prompt (10 tokens) plus max_tokens (7) exceeds the context limit of 16 tokens")
                    .extracting(e -> ((InvalidRequestException) e).field()).isEqualTo("max_tokens");
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder(prompt("0123456789abcdefg")).build(), null))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("context limit is 16");
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder(new int[]{9999}).build(), null))
                    .isInstanceOf(InvalidRequestException.class).hasMessageContaining("token id 9999");
        }
    }

    @Test
    void concurrentRequestsAreBatchedAndNeverMixed() throws Exception {
        // Each request's script depends on its own prompt: echo the prompt's last letter n times, then stop.
        ScriptedModel model = new ScriptedModel(ByteTokenizer.VOCAB, h -> {
            int promptEnd = 0;
            while (h[promptEnd] != '|') {
                promptEnd++;
            }
            int n = h[promptEnd - 1] - 'a' + 3;
            return h.length - promptEnd - 1 < n ? h[promptEnd - 1] : ByteTokenizer.EOT;
        }, 1);
        try (Engine engine = engine(model, EngineOptions.defaults().withMaxSequences(8))) {
            List<GenerationHandle> handles = new ArrayList<>();
            List<Recorder> recs = new ArrayList<>();
            for (int i = 0; i < 26; i++) {
                Recorder rec = new Recorder();
                recs.add(rec);
                handles.add(engine.submit(GenerationRequest.builder(prompt("req" + (char) ('a' + i) + "|")).maxTokens(100).build(), rec));
            }
            for (int i = 0; i < 26; i++) {
                GenerationResult r = handles.get(i).result().get(20, TimeUnit.SECONDS);
                String expected = String.valueOf((char) ('a' + i)).repeat(i + 3);
                assertThat(r.text()).as("request " + i).isEqualTo(expected);
                assertThat(recs.get(i).joined()).isEqualTo(expected);
                assertThat(r.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
            }
            assertThat(model.maxBatchSeen).isGreaterThan(1).isLessThanOrEqualTo(8);
            assertThat(engine.stats().completed()).isEqualTo(26);
        }
    }

    @Test
    void aFailedForwardFailsItsRequestsAndTheEngineGoesOn() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, script("ok", ByteTokenizer.EOT), 'x', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            model.failNext = true;
            AtomicReference<Throwable> seen = new AtomicReference<>();
            GenerationHandle h = engine.submit(GenerationRequest.builder(p).maxTokens(5).build(), new GenerationListener() {
                @Override
                public void onError(Throwable error) {
                    seen.set(error);
                }
            });
            assertThatThrownBy(() -> h.result().get()).hasRootCauseMessage("injected failure");
            assertThat(seen.get()).hasMessage("injected failure");
            assertThat(engine.stats().failed()).isEqualTo(1);
            assertThat(engine.generate(GenerationRequest.builder(p).maxTokens(5).build()).text()).isEqualTo("ok");
        }
    }

    @Test
    void publisherStreamsWithBackpressureAndCancels() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, script("abcdef", ByteTokenizer.EOT), 'x', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            GenerationPublisher pub = new GenerationPublisher(engine, GenerationRequest.builder(p).maxTokens(20).build());
            List<String> got = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch done = new CountDownLatch(1);
            pub.subscribe(new Flow.Subscriber<>() {
                Flow.Subscription sub;

                @Override
                public void onSubscribe(Flow.Subscription s) {
                    sub = s;
                    s.request(1);
                }

                @Override
                public void onNext(String item) {
                    got.add(item);
                    sub.request(1);
                }

                @Override
                public void onError(Throwable t) {
                    done.countDown();
                }

                @Override
                public void onComplete() {
                    done.countDown();
                }
            });
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(String.join("", got)).isEqualTo("abcdef");
            assertThat(pub.result().finishReason()).isEqualTo(FinishReason.STOP_TOKEN);

            // Cancelling the subscription cancels the generation.
            ScriptedModel slow = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, new int[0], 'a', 5);
            try (Engine e2 = engine(slow, EngineOptions.defaults())) {
                GenerationPublisher pub2 = new GenerationPublisher(e2, GenerationRequest.builder(p).maxTokens(100_000).build());
                CountDownLatch first = new CountDownLatch(1);
                pub2.subscribe(new Flow.Subscriber<>() {
                    Flow.Subscription sub;

                    @Override
                    public void onSubscribe(Flow.Subscription s) {
                        sub = s;
                        s.request(Long.MAX_VALUE);
                    }

                    @Override
                    public void onNext(String item) {
                        sub.cancel();
                        first.countDown();
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onComplete() {
                    }
                });
                assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (e2.stats().running() > 0 && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertThat(e2.stats().running()).isZero();
                assertThat(e2.stats().completed()).isEqualTo(1);
            }
        }
    }

    @Test
    void shutdownFinishesRunningRequestsAndRefusesNewOnes() throws Exception {
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, new int[0], 'a', 2);
        Engine engine = engine(model, EngineOptions.defaults());
        GenerationHandle h = engine.submit(GenerationRequest.builder(p).maxTokens(20).build(), null);
        Thread closer = Thread.ofPlatform().start(() -> {
            try {
                engine.shutdown(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        while (engine.isAccepting()) {
            Thread.sleep(1);
        }
        assertThatThrownBy(() -> engine.submit(GenerationRequest.builder(p).maxTokens(2).build(), null))
                .isInstanceOf(EngineClosedException.class);
        closer.join();
        assertThat(h.result().get().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(h.result().get().text()).hasSize(20);
    }

    @Test
    void sameSeedSameOutputOnARealModel() throws Exception {
        // Sampling on a scripted model is trivially deterministic; the real check is in the model tests.
        SamplingParams s = SamplingParams.builder().temperature(1.0).seed(42L).build();
        int[] p = prompt("q");
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, p.length, new int[0], 'a', 0);
        try (Engine engine = engine(model, EngineOptions.defaults())) {
            List<String> texts = IntStream.range(0, 3).mapToObj(i -> {
                try {
                    return engine.generate(GenerationRequest.builder(p).sampling(s).maxTokens(5).build()).text();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }).toList();
            assertThat(texts).containsOnly(texts.getFirst());
        }
    }
}
