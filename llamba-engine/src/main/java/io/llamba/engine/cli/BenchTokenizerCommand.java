package io.llamba.engine.cli;

import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.TokenizerBenchmark;
import java.io.PrintStream;
import java.util.Locale;

/** {@code bench-tokenizer}: encode/decode throughput on generated mixed text. */
public final class BenchTokenizerCommand implements Command {
    @Override
    public String name() {
        return "bench-tokenizer";
    }

    @Override
    public String summary() {
        return "measure tokenizer encode and decode speed (MB/s, one thread)";
    }

    @Override
    public String help() {
        return """
                Usage: bench-tokenizer [--tokenizer FILE] [--mb N] [--seed S]

                Generates N MB of mixed text deterministically (English prose, source code, numbers and
                tables, whitespace runs, CJK, emoji, accented and other scripts, as documents of a few
                KB), encodes and decodes it on one thread after three warm-up passes, and prints the
                median and best MB/s (of UTF-8 text) over the measured passes.

                Options:
                %s
                  --mb N             megabytes of text to generate (default 4; decimals allowed)
                  --seed S           corpus seed (default 1): the same seed gives the same text
                  --help             show this text""".formatted(TokenizerOption.HELP);
    }

    @Override
    public int run(Options options, PrintStream out, PrintStream err) throws Exception {
        double mb = options.number("mb", 4);
        long seed = options.longValue("seed", 1);
        if (mb <= 0 || mb > 1000) {
            throw new UsageException("option --mb: expected a size in (0, 1000], got " + mb);
        }
        long start = System.nanoTime();
        Tokenizer tokenizer = TokenizerOption.load(options, err);
        options.checkAllUsed();
        out.printf(Locale.ROOT, "tokenizer  %s: %d ids, loaded in %d ms%n", tokenizer.name(), tokenizer.vocabSize(),
                (System.nanoTime() - start) / 1_000_000);
        TokenizerBenchmark.run(tokenizer, mb, seed, out);
        return 0;
    }
}
