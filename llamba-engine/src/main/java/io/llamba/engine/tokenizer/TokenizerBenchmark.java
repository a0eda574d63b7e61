package io.llamba.engine.tokenizer;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Single-threaded encode and decode throughput over {@link BenchmarkCorpus} text, after warm-up.
 * Run as {@code bench-tokenizer} on the engine's command line, or through {@link #main}.
 */
public final class TokenizerBenchmark {
    private static final int WARMUP_ROUNDS = 3;
    private static final int ROUNDS = 5;

    private TokenizerBenchmark() {
    }

    /** Same as {@code llamba-engine.jar bench-tokenizer ARGS}. */
    public static void main(String[] args) {
        String[] all = new String[args.length + 1];
        all[0] = "bench-tokenizer";
        System.arraycopy(args, 0, all, 1, args.length);
        System.exit(io.llamba.engine.cli.Main.run(all, System.out, System.err));
    }

    /** Measures and prints; {@code megabytes} of text (UTF-8), corpus from {@code seed}. */
    public static void run(Tokenizer tokenizer, double megabytes, long seed, PrintStream out) {
        List<String> docs = BenchmarkCorpus.generate((long) (megabytes * 1e6), seed);
        long bytes = 0;
        for (String d : docs) {
            bytes += d.getBytes(StandardCharsets.UTF_8).length;
        }
        out.printf(Locale.ROOT, "corpus     %.2f MB UTF-8 in %d documents (seed %d): prose, code, numbers, whitespace, CJK, emoji, accented%n",
                bytes / 1e6, docs.size(), seed);

        int[][] ids = new int[docs.size()][];
        double[] encode = new double[ROUNDS];
        for (int r = -WARMUP_ROUNDS; r < ROUNDS; r++) {
            long start = System.nanoTime();
            for (int i = 0; i < ids.length; i++) {
                ids[i] = tokenizer.encode(docs.get(i));
            }
            if (r >= 0) {
                encode[r] = bytes / 1e6 / ((System.nanoTime() - start) / 1e9);
            }
        }
        long tokens = 0;
        for (int[] a : ids) {
            tokens += a.length;
        }
        double[] decode = new double[ROUNDS];
        long check = 0;
        for (int r = -WARMUP_ROUNDS; r < ROUNDS; r++) {
            long start = System.nanoTime();
            for (int[] a : ids) {
                check += tokenizer.decode(a).length();
            }
            if (r >= 0) {
                decode[r] = bytes / 1e6 / ((System.nanoTime() - start) / 1e9);
            }
        }
        if (check == 0 && bytes > 0) {
            throw new AssertionError("nothing decoded");
        }
        out.printf(Locale.ROOT, "tokens     %d (%.2f bytes per token)%n", tokens, (double) bytes / Math.max(1, tokens));
        out.printf(Locale.ROOT, "encode     %.1f MB/s median, %.1f best of %d runs (single thread, %d warm-up runs)%n",
                median(encode), max(encode), ROUNDS, WARMUP_ROUNDS);
        out.printf(Locale.ROOT, "decode     %.1f MB/s median, %.1f best of %d runs (single thread)%n",
                median(decode), max(decode), ROUNDS);
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double max(double[] a) {
        return Arrays.stream(a).max().orElse(0);
    }
}
