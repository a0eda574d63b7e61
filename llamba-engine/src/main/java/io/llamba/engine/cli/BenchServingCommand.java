package io.llamba.engine.cli;

import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.EngineStats;
import io.llamba.engine.generate.GenerationHandle;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.hub.ResolvedModel;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.tokenizer.ChatMessage;
import io.llamba.engine.tokenizer.ChatTemplate;
import io.llamba.engine.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * {@code bench-serving}: the serving core under load. Part one runs closed-loop clients (each sends
 * its next request when the previous ends) at each concurrency and measures, over a window that
 * opens once every client is decoding, aggregate generated tok/s and inter-token latency. Part two
 * holds one conversation of N turns on two engines over the same model, one with the state cache
 * and one without, turn by turn, and prints each turn's time to first token.
 */
final class BenchServingCommand implements Command {
    private static final String[] WORDS = ("the llama and alpaca graze on high plains where wind moves over grass while herders "
            + "count their animals before evening light fades behind mountains that hold snow through summer months").split(" ");

    @Override
    public String name() {
        return "bench-serving";
    }

    @Override
    public String summary() {
        return "serving benchmark: tok/s and inter-token latency by concurrency, multi-turn TTFT with and without the state cache";
    }

    @Override
    public String help() {
        return """
                Usage: bench-serving --model M [--concurrency 1,4,16,64] [--duration S] [--prompt-tokens N] [--max-tokens N]
                                     [--turns N] [--user-tokens N] [--reply-tokens N] [--skip-concurrency] [--skip-conversation]
                                     [--tokenizer T] [--threads N] [--backend auto|cpu|cuda] [--pull-strategy S]

                Part one: at each concurrency C, C clients each send a request (a distinct chat prompt, greedy)
                and the next one as soon as it ends. Once every client has its first token, a window of S
                seconds opens; printed are the tokens generated in it per second (all clients together), the
                inter-token latency p50/p99 of the tokens in it, first-token latency p50 of the requests that
                began in it, engine steps and mean sequences per step.
                Part two: one conversation of N turns (a user message of about --user-tokens tokens, a greedy
                reply of at most --reply-tokens, appended as text as a chat client resends it) on two engines
                over the same model, with and without the state cache, the two in turn; printed per turn are the
                prompt length, the tokens restored from the cache, and the time to first token of each.

                %s
                  --concurrency LIST   concurrent clients, comma-separated (default 1,4,16,64)
                  --duration S         measurement window per concurrency in seconds (default 30)
                  --prompt-tokens N    prompt length in part one, chat template included (default 32)
                  --max-tokens N       tokens per request in part one (default 64)
                  --turns N            conversation turns in part two (default 20)
                  --user-tokens N      tokens per user message in part two (default 24)
                  --reply-tokens N     most tokens per reply in part two (default 16)
                  --skip-concurrency   run part two only
                  --skip-conversation  run part one only
                  --tokenizer T        as for generate (default: the model's, else its teacher's, else Llama 3)
                  --threads N          CPU threads (default: all processors)
                  --backend B          auto (default), cpu or cuda""".formatted(CliSupport.MODEL_HELP);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        CliSupport.ModelArgs modelArgs = CliSupport.modelArgs(o, err, true);
        int[] levels = o.has("concurrency") ? o.intList("concurrency") : new int[]{1, 4, 16, 64};
        double duration = o.number("duration", 30);
        int promptTokens = o.integer("prompt-tokens", 32);
        int maxTokens = o.integer("max-tokens", 64);
        int turns = o.integer("turns", 20);
        int userTokens = o.integer("user-tokens", 24);
        int replyTokens = o.integer("reply-tokens", 16);
        boolean skipConcurrency = o.flag("skip-concurrency");
        boolean skipConversation = o.flag("skip-conversation");
        LoadOptions load = CliSupport.loadOptions(o);
        o.checkAllUsed();
        for (int c : levels) {
            if (c < 1 || c > 4096) {
                throw new UsageException("--concurrency: each level must be within 1..4096, got " + c);
            }
        }
        if (duration <= 0 || duration > 3600) {
            throw new UsageException("--duration must be within (0, 3600] seconds, got " + duration);
        }
        requirePositive("prompt-tokens", promptTokens);
        requirePositive("max-tokens", maxTokens);
        requirePositive("turns", turns);
        requirePositive("user-tokens", userTokens);
        requirePositive("reply-tokens", replyTokens);

        ResolvedModel resolved = modelArgs.resolve();
        Tokenizer tokenizer = resolved.loadTokenizer();
        long started = System.nanoTime();
        try (Model model = ModelLoader.load(resolved.modelDirectory(), load)) {
            ModelInfo info = model.info();
            out.printf(Locale.ROOT, "model: %s (%s), %.2f GB of weights, %s per sequence state; %s%n", info.name(), info.details()
                            .getOrDefault("weight_dtype", "?"), info.weightBytes() / 1e9, mib(info.stateBytesPerSequence()), info.device());
            out.printf(Locale.ROOT, "machine: %d processors, load average %.2f at start%n", Runtime.getRuntime().availableProcessors(),
                    loadAverage());
            if (!skipConcurrency) {
                concurrency(model, tokenizer, levels, duration, promptTokens, maxTokens, out, err);
            }
            if (!skipConversation) {
                conversation(model, tokenizer, turns, userTokens, replyTokens, out, err);
            }
            out.printf(Locale.ROOT, "load average %.2f at end; %.0f s in all%n", loadAverage(), (System.nanoTime() - started) / 1e9);
        }
        return 0;
    }

    private static void requirePositive(String option, int v) {
        if (v < 1) {
            throw new UsageException("--" + option + " must be positive, got " + v);
        }
    }

    // ------------------------------------------------------------------ part one

    private void concurrency(Model model, Tokenizer tokenizer, int[] levels, double duration, int promptTokens, int maxTokens,
                             PrintStream out, PrintStream err) throws Exception {
        int maxLevel = Arrays.stream(levels).max().orElseThrow();
        ServingRecorder rec = new ServingRecorder();
        EngineOptions options = EngineOptions.defaults().withMaxSequences(maxLevel).withMaxQueued(maxLevel)
                .withMaxBatchTokens(Math.max(256, maxLevel));
        try (Engine engine = new Engine(model, tokenizer, options, rec)) {
            ChatTemplate template = engine.chatTemplate();
            // Touch every weight page and warm the JIT before anything is timed.
            engine.generate(GenerationRequest.builder(prompt(template, "warm-up", promptTokens)).maxTokens(2).build());
            awaitIdle(engine);
            out.printf(Locale.ROOT, "%nconcurrent requests: %d state slots, prompts of %d tokens, %d tokens each, greedy, "
                    + "window %.0f s once every client decodes%n", engine.stateSlots(), promptTokens, maxTokens, duration);
            out.println("clients   tok/s   ITL p50 ms   ITL p99 ms   TTFT p50 ms   steps   seqs/step   window s");
            for (int c : levels) {
                err.printf("bench-serving: %d clients...%n", c);
                Row row = level(engine, template, rec, c, duration, promptTokens, maxTokens, err);
                out.printf(Locale.ROOT, "%7d %7.2f %12s %12s %13s %7d %11.1f %10.1f%n", c, row.tokens / row.seconds,
                        ms(row.itlP50), ms(row.itlP99), ms(row.ttftP50), row.steps, row.meanBatch, row.seconds);
            }
        }
    }

    private record Row(long tokens, double seconds, double itlP50, double itlP99, double ttftP50, long steps, double meanBatch) {
    }

    private Row level(Engine engine, ChatTemplate template, ServingRecorder rec, int clients, double duration, int promptTokens,
                      int maxTokens, PrintStream err) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReferenceArray<GenerationHandle> current = new AtomicReferenceArray<>(clients);
        long firstBefore = rec.firstTokensEver();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            int id = i;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int n = 0; !stop.get(); n++) {
                    int[] p = prompt(template, "Request " + clients + "." + id + "." + n + ":", promptTokens);
                    GenerationHandle h = engine.submit(GenerationRequest.builder(p).maxTokens(maxTokens).build(), null);
                    current.set(id, h);
                    if (stop.get()) {
                        h.cancel();
                    }
                    h.result().join();
                }
            }));
        }
        // Every client under way: as many first tokens as clients (their first requests run to max tokens).
        long warmDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
        while (rec.firstTokensEver() - firstBefore < clients && System.nanoTime() < warmDeadline) {
            Thread.sleep(20);
        }
        rec.open();
        long t0 = System.nanoTime();
        Thread.sleep((long) (duration * 1000));
        rec.close();
        double seconds = (System.nanoTime() - t0) / 1e9;
        stop.set(true);
        for (int i = 0; i < clients; i++) {
            GenerationHandle h = current.get(i);
            if (h != null) {
                h.cancel();
            }
        }
        for (Thread t : threads) {
            t.join();
        }
        awaitIdle(engine);
        return new Row(rec.tokens(), seconds, rec.interTokenSamples().percentileMillis(50), rec.interTokenSamples().percentileMillis(99),
                rec.firstTokenSamples().percentileMillis(50), rec.steps(), rec.meanBatch());
    }

    // ------------------------------------------------------------------ part two

    private void conversation(Model model, Tokenizer tokenizer, int turns, int userTokens, int replyTokens, PrintStream out,
                              PrintStream err) throws Exception {
        EngineOptions options = EngineOptions.defaults().withMaxSequences(1);
        try (Engine cached = new Engine(model, tokenizer, options);
             Engine plain = new Engine(model, tokenizer, options.withStateCacheBytes(0))) {
            ChatTemplate template = cached.chatTemplate();
            for (Engine e : List.of(cached, plain)) {
                e.generate(GenerationRequest.builder(prompt(template, "warm-up", 16)).maxTokens(2).build());
                awaitIdle(e);
            }
            out.printf(Locale.ROOT, "%nconversation: %d turns, user messages of ~%d tokens, greedy replies of at most %d tokens, "
                    + "appended as text; state cache %s vs off%n", turns, userTokens, replyTokens,
                    mib(cached.stats().cache().capacityBytes()));
            out.println("turn   prompt   cached   prefilled   TTFT off ms   TTFT on ms   reply");
            List<ChatMessage> withCache = new ArrayList<>();
            List<ChatMessage> without = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(7);
            int identical = 0;
            double[] ttftOn = new double[turns];
            double[] ttftOff = new double[turns];
            for (int t = 0; t < turns; t++) {
                err.printf("bench-serving: turn %d...%n", t + 1);
                String user = text(tokenizer, "Turn " + (t + 1) + ":", userTokens, random);
                withCache.add(ChatMessage.user(user));
                without.add(ChatMessage.user(user));
                int[] pOn = template.encode(withCache, true);
                int[] pOff = template.encode(without, true);
                // Alternate which engine goes first, so a drift in machine load biases neither.
                GenerationResult on;
                GenerationResult off;
                if (t % 2 == 0) {
                    on = turn(cached, pOn, replyTokens);
                    off = turn(plain, pOff, replyTokens);
                } else {
                    off = turn(plain, pOff, replyTokens);
                    on = turn(cached, pOn, replyTokens);
                }
                withCache.add(ChatMessage.assistant(on.text()));
                without.add(ChatMessage.assistant(off.text()));
                if (Arrays.equals(on.tokens(), off.tokens())) {
                    identical++;
                }
                ttftOn[t] = on.timeToFirstTokenNanos() / 1e6;
                ttftOff[t] = off.timeToFirstTokenNanos() / 1e6;
                out.printf(Locale.ROOT, "%4d %8d %8d %11d %13.1f %12.1f %7d%n", t + 1, pOn.length, on.cachedPromptTokens(),
                        pOn.length - on.cachedPromptTokens(), ttftOff[t], ttftOn[t], on.tokens().length);
            }
            EngineStats s = cached.stats();
            out.printf(Locale.ROOT, "replies identical with and without the cache: %d of %d turns%n", identical, turns);
            if (turns > 1) {
                out.printf(Locale.ROOT, "TTFT turns 2..%d: cache on mean %.1f ms (min %.1f, max %.1f); off %.1f ms at turn 2, %.1f ms at turn %d%n",
                        turns, mean(ttftOn, 1), min(ttftOn, 1), max(ttftOn, 1), ttftOff[1], ttftOff[turns - 1], turns);
            }
            out.printf(Locale.ROOT, "state cache: %d hits (%d on a reply's end-of-turn state), %d misses, %d prompt tokens restored, "
                            + "%d entries, %s held%n", s.cache().hits(), s.cache().replyHits(), s.cache().misses(), s.cachedPromptTokens(),
                    s.cache().entries(), mib(s.cache().bytes()));
        }
    }

    private static GenerationResult turn(Engine engine, int[] prompt, int replyTokens) throws InterruptedException {
        GenerationResult r = engine.generate(GenerationRequest.builder(prompt).maxTokens(replyTokens).build());
        // The two engines share the model, whose forward pass takes one caller at a time: let this
        // engine finish its last step (the cache's end-of-turn step) before the other one runs.
        awaitIdle(engine);
        return r;
    }

    // ------------------------------------------------------------------ helpers

    /** Waits until the engine holds no request and no state slot. */
    private static void awaitIdle(Engine engine) throws InterruptedException {
        while (true) {
            EngineStats s = engine.stats();
            if (s.running() == 0 && s.waiting() == 0 && s.stateBytesInUse() == 0) {
                return;
            }
            Thread.sleep(1);
        }
    }

    /** A one-message chat prompt of at least {@code tokens} tokens, starting with {@code head}. */
    static int[] prompt(ChatTemplate template, String head, int tokens) {
        StringBuilder sb = new StringBuilder(head);
        SplittableRandom random = new SplittableRandom(head.hashCode());
        int[] ids = template.encode(List.of(ChatMessage.user(sb.toString())), true);
        while (ids.length < tokens) {
            for (int i = ids.length; i < tokens; i++) {
                sb.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
            }
            ids = template.encode(List.of(ChatMessage.user(sb.toString())), true);
        }
        return ids;
    }

    /** Text of about {@code tokens} tokens: {@code head} then random words. */
    static String text(Tokenizer tokenizer, String head, int tokens, SplittableRandom random) {
        StringBuilder sb = new StringBuilder(head);
        while (tokenizer.encode(sb.toString()).length < tokens) {
            sb.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }

    private static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /** Milliseconds to one decimal, or "-" when there was no sample. */
    private static String ms(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
    }

    private static double mean(double[] v, int from) {
        return Arrays.stream(v, from, v.length).average().orElse(Double.NaN);
    }

    private static double min(double[] v, int from) {
        return Arrays.stream(v, from, v.length).min().orElse(Double.NaN);
    }

    private static double max(double[] v, int from) {
        return Arrays.stream(v, from, v.length).max().orElse(Double.NaN);
    }
}
