package io.llamba.engine.cli;

import io.llamba.engine.cuda.GpuBenchmark;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** {@code bench-gpu}: the CUDA backend's speed against the device's measured ceilings. */
final class BenchGpuCommand implements Command {
    @Override
    public String name() {
        return "bench-gpu";
    }

    @Override
    public String summary() {
        return "GPU benchmark: bandwidth, GEMM rate, decode and prefill speed (needs CUDA)";
    }

    @Override
    public String help() {
        return """
                Usage: bench-gpu [--shapes llamba-1b,llamba-3b,llamba-8b] [--batches 1,2,4,...,1024]
                                 [--decode-tokens N] [--prefill-tokens N] [--no-max-batch] [--profile] [--json FILE]
                       bench-gpu --attention llama-3.2-1b [--json FILE]

                Measures the device's copy bandwidth and bf16 cuBLAS GEMM rate, then on random-weight
                models made on the device: batch-1 decode of each shape against the bandwidth roofline,
                and for the first shape aggregate decode over the batches (F32 and BF16 state) against
                the GEMM rate, prefill of long prompts and the largest batch at 8k context.

                  --shapes LIST       presets to run (default llamba-1b,llamba-3b,llamba-8b)
                  --batches LIST      decode batch sizes for the first shape (default 1,2,4,...,1024)
                  --decode-tokens N   decode steps to time at batch 1 (default 256)
                  --prefill-tokens N  prompt length for prefill (default 2048; 0 skips)
                  --no-max-batch      skip the largest-batch measurement
                  --profile           also print device time per kernel (decode steps, a prefill pass)
                  --attention PRESET  instead: a Llama preset's kernels timed alone (random BF16 weights and
                                      KV cache): a 256-token prompt chunk at 32k context, decode at 32k
                                      (batch 1) and at 8k (batch 64), attention against the copy bandwidth
                  --json FILE         also write the figures as JSON""";
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        List<String> shapes = Arrays.stream(o.string("shapes", "llamba-1b,llamba-3b,llamba-8b").split(",")).map(String::trim).toList();
        int[] batches = o.has("batches") ? o.intList("batches") : new int[]{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
        int decode = o.integer("decode-tokens", 256);
        int prefill = o.integer("prefill-tokens", 2048);
        boolean maxBatch = !o.flag("no-max-batch");
        boolean profile = o.flag("profile");
        String json = o.string("json", null);
        String attention = o.string("attention", null);
        o.checkAllUsed();
        for (int b : batches) {
            if (b < 1) {
                throw new UsageException("--batches must be positive, got " + b);
            }
        }
        if (decode < 1 || prefill < 0) {
            throw new UsageException("--decode-tokens must be positive and --prefill-tokens not negative");
        }
        new GpuBenchmark(out, new GpuBenchmark.Settings(shapes, batches, decode, prefill, maxBatch, profile, json == null ? null : Path.of(json),
                attention)).run();
        return 0;
    }
}
