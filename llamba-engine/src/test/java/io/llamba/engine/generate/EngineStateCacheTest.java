package io.llamba.engine.generate;

import io.llamba.engine.testing.ByteTokenizer;
import io.llamba.engine.testing.ScriptedModel;
import io.llamba.engine.tokenizer.ChatMessage;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.engine.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The state memory budget and the conversation state cache, on a scripted model. */
@Timeout(30)
class EngineStateCacheTest {
    static final Tokenizer TOKENIZER = ByteTokenizer.load();
    static final ChatTemplate TEMPLATE = new ChatTemplate(TOKENIZER);
    static final int END_HEADER = TOKENIZER.specialId("<|end_header_id|>").orElseThrow();
    static final int REPLY_LETTERS = 5;

    /**
     * Replies with five letters, each a hash of the whole history (so a state restored at the wrong
     * point would change the reply), then ends the turn.
     */
    static ScriptedModel historyModel() {
        return new ScriptedModel(ByteTokenizer.VOCAB, h -> {
            int header = h.length - 1;
            while (header >= 0 && h[header] != END_HEADER) {
                header--;
            }
            int after = h.length - header - 1; // "\n\n" then the reply
            return after < 2 + REPLY_LETTERS ? 'a' + Math.floorMod(Arrays.hashCode(h), 26) : ByteTokenizer.EOT;
        }, 0);
    }

    static EngineOptions withCache() {
        return EngineOptions.defaults().withStateCacheBytes(1 << 20);
    }

    static EngineOptions withoutCache() {
        return EngineOptions.defaults().withStateCacheBytes(0);
    }

    record Turn(int promptLength, GenerationResult result) {
    }

    /** A conversation of {@code turns} user messages, each reply appended as the assistant's message. */
    static List<Turn> converse(Engine engine, String system, int turns) throws InterruptedException {
        return converse(engine, system, "llamas", turns);
    }

    static List<Turn> converse(Engine engine, String system, String topic, int turns) throws InterruptedException {
        List<ChatMessage> messages = new ArrayList<>();
        if (system != null) {
            messages.add(ChatMessage.system(system));
        }
        List<Turn> out = new ArrayList<>();
        for (int t = 0; t < turns; t++) {
            messages.add(ChatMessage.user("question " + t + " about " + topic));
            int[] prompt = TEMPLATE.encode(messages, true);
            GenerationResult r = engine.generate(GenerationRequest.builder(prompt).maxTokens(50).build());
            out.add(new Turn(prompt.length, r));
            messages.add(ChatMessage.assistant(r.text()));
        }
        return out;
    }

    static void awaitSlotsFree(Engine engine) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.stats().stateBytesInUse() > 0 && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertThat(engine.stats().stateBytesInUse()).isZero();
    }

    @Test
    void aConversationPrefillsOnlyItsNewTurnAndRepliesAsWithoutTheCache() throws Exception {
        ScriptedModel plain = historyModel();
        ScriptedModel cached = historyModel();
        List<Turn> without;
        List<Turn> with;
        try (Engine engine = new Engine(plain, TOKENIZER, withoutCache())) {
            without = converse(engine, "You are terse.", 6);
            assertThat(engine.stats().cache().enabled()).isFalse();
            assertThat(engine.stats().cachedPromptTokens()).isZero();
        }
        try (Engine engine = new Engine(cached, TOKENIZER, withCache())) {
            with = converse(engine, "You are terse.", 6);
            awaitSlotsFree(engine);
            EngineStats stats = engine.stats();
            assertThat(stats.cache().hits()).isEqualTo(5);
            // The replies were resent as the very tokens generated: each turn restored the previous reply's snapshot.
            assertThat(stats.cache().replyHits()).isEqualTo(5);
            assertThat(stats.cache().misses()).isEqualTo(1);
            assertThat(stats.cachedPromptTokens()).isEqualTo(with.stream().mapToLong(t -> t.result().cachedPromptTokens()).sum());
            assertThat(stats.cache().bytes()).isPositive().isLessThanOrEqualTo(stats.cache().capacityBytes());
        }
        for (int t = 0; t < 6; t++) {
            GenerationResult a = without.get(t).result();
            GenerationResult b = with.get(t).result();
            assertThat(b.text()).as("turn " + t).isEqualTo(a.text()).hasSize(REPLY_LETTERS);
            assertThat(b.tokens()).isEqualTo(a.tokens());
            assertThat(b.finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
            assertThat(a.cachedPromptTokens()).isZero();
        }
        assertThat(with.get(0).result().cachedPromptTokens()).isZero();
        for (int t = 1; t < 6; t++) {
            // The previous turn's state after the model's own end of turn: its prompt, the reply and <|eot_id|>.
            Turn prev = with.get(t - 1);
            assertThat(with.get(t).result().cachedPromptTokens()).as("turn " + t)
                    .isEqualTo(prev.promptLength() + prev.result().tokens().length + 1);
        }
        // So what a turn prefills does not grow with the conversation: one user message and the headers.
        List<Integer> prefilled = with.subList(1, 6).stream().map(t -> t.promptLength() - t.result().cachedPromptTokens()).toList();
        assertThat(prefilled).containsOnly(prefilled.getFirst());
        assertThat(with.get(5).promptLength()).isGreaterThan(4 * prefilled.getFirst());
        // Prefill fed: every prompt in full without the cache, only the new turns with it.
        long saved = with.stream().mapToLong(t -> t.result().cachedPromptTokens()).sum();
        // The cache costs one token per turn: the reply's final <|eot_id|>, fed so the next turn finds it.
        assertThat(plain.tokensFed.get() - cached.tokensFed.get()).isEqualTo(saved - 6);
    }

    @Test
    void conversationsSharingASystemPromptReuseItsState() throws Exception {
        String system = "You are a helpful assistant who knows everything about camelids.";
        try (Engine engine = new Engine(historyModel(), TOKENIZER, withCache())) {
            converse(engine, system, "llamas", 1);
            int[] systemOnly = TEMPLATE.encode(List.of(ChatMessage.system(system)), false);
            List<Turn> other = converse(engine, system, "alpacas", 1);
            // The second conversation differs after the system prompt: it restores exactly that.
            assertThat(other.getFirst().result().cachedPromptTokens()).isEqualTo(systemOnly.length);
        }
    }

    @Test
    void theSamePromptAgainRestoresUpToItsLastTurnEnd() throws Exception {
        int[] prompt = TEMPLATE.encode(List.of(ChatMessage.user("hello")), true);
        int lastEot = prompt.length - 1;
        while (prompt[lastEot] != ByteTokenizer.EOT) {
            lastEot--;
        }
        try (Engine engine = new Engine(historyModel(), TOKENIZER, withCache())) {
            GenerationResult first = engine.generate(GenerationRequest.builder(prompt).maxTokens(20).build());
            GenerationResult again = engine.generate(GenerationRequest.builder(prompt).maxTokens(20).build());
            assertThat(again.cachedPromptTokens()).isEqualTo(lastEot + 1);
            assertThat(again.tokens()).isEqualTo(first.tokens());
        }
    }

    @Test
    void concurrentConversationsWithTheCacheMatchSequentialOnesWithout() throws Exception {
        int n = 8;
        List<List<Turn>> expected = new ArrayList<>();
        try (Engine engine = new Engine(historyModel(), TOKENIZER, withoutCache())) {
            for (int i = 0; i < n; i++) {
                expected.add(converse(engine, "system " + (i % 3), 4));
            }
        }
        try (Engine engine = new Engine(historyModel(), TOKENIZER, withCache().withMaxSequences(4))) {
            List<List<Turn>> got = new CopyOnWriteArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int id = i;
                got.add(null);
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        got.set(id, converse(engine, "system " + (id % 3), 4));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            for (int i = 0; i < n; i++) {
                for (int t = 0; t < 4; t++) {
                    assertThat(got.get(i).get(t).result().tokens()).as("conversation " + i + " turn " + t)
                            .isEqualTo(expected.get(i).get(t).result().tokens());
                }
            }
            assertThat(engine.stats().cache().hits()).isGreaterThanOrEqualTo(3L * n);
        }
    }

    @Test
    void aModelWhoseStatesCannotBeRestoredRunsWithoutTheCache() throws Exception {
        ScriptedModel model = historyModel();
        model.restoreUnsupported = true;
        List<Turn> expected;
        try (Engine engine = new Engine(historyModel(), TOKENIZER, withoutCache())) {
            expected = converse(engine, null, 3);
        }
        try (Engine engine = new Engine(model, TOKENIZER, withCache())) {
            List<Turn> got = converse(engine, null, 3);
            for (int t = 0; t < 3; t++) {
                assertThat(got.get(t).result().tokens()).isEqualTo(expected.get(t).result().tokens());
                assertThat(got.get(t).result().finishReason()).isEqualTo(FinishReason.STOP_TOKEN);
            }
            assertThat(engine.stateCacheEnabled()).isFalse();
            assertThat(engine.stats().cache().entries()).isZero();
            assertThat(engine.stats().failed()).isZero();
        }
    }

    @Test
    void theStateMemoryBudgetSizesTheSlots() throws Exception {
        // The scripted model's states are 64 bytes: a 200-byte budget holds three.
        ScriptedModel model = ScriptedModel.script(ByteTokenizer.VOCAB, 2, new int[0], 'a', 1);
        try (Engine engine = new Engine(model, TOKENIZER, EngineOptions.defaults().withMaxSequences(8).withStateMemoryBytes(200))) {
            assertThat(engine.stateSlots()).isEqualTo(3);
            assertThat(engine.stats().capacity()).isEqualTo(3);
            assertThat(engine.stats().stateBytesCapacity()).isEqualTo(3 * 64);
            List<GenerationHandle> handles = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                handles.add(engine.submit(GenerationRequest.builder(new int[]{ByteTokenizer.BOS, 'q'}).maxTokens(6).build(), null));
            }
            for (GenerationHandle h : handles) {
                assertThat(h.result().get().text()).isEqualTo("aaaaaa");
            }
            assertThat(model.maxBatchSeen).isEqualTo(3);
        }
        assertThatThrownBy(() -> new Engine(model, TOKENIZER, EngineOptions.defaults().withStateMemoryBytes(63)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("state memory budget of 63 B holds no sequence state of 64 B (model scripted)");
        assertThatThrownBy(() -> EngineOptions.defaults().withStateMemoryBytes(0)).hasMessageContaining("stateMemoryBytes must be positive");
        assertThatThrownBy(() -> EngineOptions.defaults().withStateCacheBytes(-5)).hasMessageContaining("stateCacheBytes must be 0");
    }

    @Test
    void theObserverSeesSlotsAndCacheLookups() throws Exception {
        List<int[]> lookups = new CopyOnWriteArrayList<>();
        AtomicInteger maxInUse = new AtomicInteger();
        AtomicInteger lastInUse = new AtomicInteger(-1);
        EngineObserver observer = new EngineObserver() {
            @Override
            public void cacheLookup(int promptTokens, int cachedTokens) {
                lookups.add(new int[]{promptTokens, cachedTokens});
            }

            @Override
            public void stateSlots(int inUse, int capacity) {
                assertThat(inUse).isBetween(0, capacity);
                maxInUse.accumulateAndGet(inUse, Math::max);
                lastInUse.set(inUse);
            }
        };
        try (Engine engine = new Engine(historyModel(), TOKENIZER, withCache(), observer)) {
            List<Turn> turns = converse(engine, null, 3);
            awaitSlotsFree(engine);
            assertThat(lookups).hasSize(3);
            for (int t = 0; t < 3; t++) {
                assertThat(lookups.get(t)).containsExactly(turns.get(t).promptLength(), turns.get(t).result().cachedPromptTokens());
            }
            assertThat(lookups.get(0)[1]).isZero();
            assertThat(lookups.get(2)[1]).isPositive();
            // A turn's slot may still be feeding its final end-of-turn token when the next turn is admitted.
            assertThat(maxInUse.get()).isBetween(1, 2);
            assertThat(lastInUse.get()).isZero();
        }
    }
}
