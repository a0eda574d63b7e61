package io.llamba.engine.cli;

import io.llamba.engine.bench.ModelBenchmark;
import io.llamba.engine.cpu.CpuMatrix;
import io.llamba.engine.cpu.Parallel;
import io.llamba.engine.cpu.Roofline;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.ModelLoader;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench}: the machine's read bandwidth and FMA peak, then the model's prefill, batch-1 decode
 * and batched decode speeds, each as a fraction of its roofline, all in one run; the last line is JSON.
 */
final class BenchCommand implements Command {
    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "measure prefill and decode speed against the machine's bandwidth and FMA peak";
    }

    @Override
    public String help() {
        return """
                Usage: bench --model DIR [--quantize none|q8_0|q4_0] [--batch 1,4,16,64] [--prompt-tokens N]
                             [--decode-tokens N] [--steps N] [--reps N] [--threads N]

                Measures in one run, with the engine's thread team and vector width:
                  read bandwidth   every thread streaming a buffer of 4x the last-level cache (at least 1 GiB)
                  FMA peak         every thread running 12 independent vector FMA chains
                then, on the model (random token ids, each figure the best of --reps runs after a warm-up):
                  prefill          one prompt of --prompt-tokens tokens in one pass
                  decode           one sequence, --decode-tokens tokens one pass each
                  batch B          B sequences decoding together, --steps passes
                Each is also given as a fraction of its roofline: decode as weight bytes read per token times
                tok/s over the read bandwidth; prefill and batches as FLOPs (2 per weight multiplied, the
                head only for positions that need logits) over the FMA peak. The last line is one JSON object.

                  --model DIR          model directory
                  --quantize Q         none (default: the checkpoint's dtype), q8_0 or q4_0
                  --batch LIST         batch sizes for batched decoding (default 1,4,16,64)
                  --prompt-tokens N    prefill length (default 256)
                  --decode-tokens N    tokens per batch-1 decode run (default 32)
                  --steps N            passes per batched-decode run (default 8)
                  --reps N             timed runs per figure, the best is kept (default 3)
                  --threads N          CPU threads (default: one per physical core)""";
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        Path dir = CliSupport.modelDir(o);
        LoadOptions load = CliSupport.loadOptions(o);
        int[] batches = o.has("batch") ? o.intList("batch") : new int[]{1, 4, 16, 64};
        int promptTokens = o.integer("prompt-tokens", 256);
        int decodeTokens = o.integer("decode-tokens", 32);
        int steps = o.integer("steps", 8);
        int reps = o.integer("reps", 3);
        o.checkAllUsed();
        for (int b : batches) {
            if (b < 1 || b > 4096) {
                throw new UsageException("--batch: sizes must be in [1, 4096], got " + b);
            }
        }
        if (promptTokens < 1 || decodeTokens < 1 || steps < 1 || reps < 1) {
            throw new UsageException("--prompt-tokens, --decode-tokens, --steps and --reps must be positive");
        }
        String loadStart = loadAverage();
        int threads = load.effectiveThreads();

        // The roofs first, with nothing else of ours running.
        double readBps;
        double peakFlops;
        long bufferBytes = Roofline.readBufferBytes();
        try (Parallel team = new Parallel(threads)) {
            readBps = Roofline.readBandwidth(team, bufferBytes, reps);
            peakFlops = Roofline.peakFlops(team, reps);
        }
        out.printf(Locale.ROOT, "machine: %d threads, %d-bit vectors; read %.1f GB/s (%.1f GiB buffer), FMA peak %.1f GFLOP/s; load average %s%n",
                threads, CpuMatrix.PANEL * 32, readBps / 1e9, bufferBytes / (double) (1L << 30), peakFlops / 1e9, loadStart);

        Map<String, Object> json = new LinkedHashMap<>();
        try (Model model = ModelLoader.load(dir, load)) {
            ModelInfo info = model.info();
            long bytesPerToken = ModelBenchmark.detail(info, "decode_bytes_per_token");
            long layerWeights = ModelBenchmark.detail(info, "layer_weights");
            long headWeights = ModelBenchmark.detail(info, "head_weights");
            Object format = info.details().get("weight_format");
            Object packSeconds = info.details().get("pack_seconds");
            out.printf(Locale.ROOT, "model: %s, %s weights, %.3f GB read per decoded token, packed in %.2f s%n",
                    info.name(), format, bytesPerToken / 1e9, ((Number) packSeconds).doubleValue());
            ModelBenchmark bench = new ModelBenchmark(model, reps);

            ModelBenchmark.Rate prefill = bench.prefill(promptTokens);
            double prefillFlops = (2.0 * layerWeights * promptTokens + 2.0 * headWeights) / prefill.seconds();
            out.printf(Locale.ROOT, "prefill %d tokens: %.1f tok/s, %.1f GFLOP/s = %.1f%% of FMA peak%n",
                    promptTokens, prefill.tokensPerSecond(), prefillFlops / 1e9, 100 * prefillFlops / peakFlops);

            ModelBenchmark.Rate decode = bench.decode(1, decodeTokens);
            double decodeBps = bytesPerToken * decode.tokensPerSecond();
            out.printf(Locale.ROOT, "decode batch 1: %.2f tok/s, %.1f GB/s of weights = %.1f%% of read bandwidth%n",
                    decode.tokensPerSecond(), decodeBps / 1e9, 100 * decodeBps / readBps);

            List<Map<String, Object>> rows = new ArrayList<>();
            Map<Integer, double[]> byBatch = new LinkedHashMap<>();
            for (int b : batches) {
                ModelBenchmark.Rate r = b == 1 ? decode : bench.decode(b, steps);
                double flops = r.tokensPerSecond() * 2.0 * (layerWeights + headWeights);
                double bps = r.tokensPerSecond() / b * bytesPerToken;
                byBatch.put(b, new double[]{r.tokensPerSecond(), flops / peakFlops, bps / readBps});
                out.printf(Locale.ROOT, "decode batch %d: %.1f tok/s aggregate, %.1f GFLOP/s = %.1f%% of FMA peak, weights at %.1f%% of read bandwidth%n",
                        b, r.tokensPerSecond(), flops / 1e9, 100 * flops / peakFlops, 100 * bps / readBps);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("batch", b);
                row.put("tok_s", round(r.tokensPerSecond()));
                row.put("flop_fraction", round(flops / peakFlops));
                row.put("bw_fraction", round(bps / readBps));
                rows.add(row);
            }
            json.put("read_gbps", round(readBps / 1e9));
            json.put("peak_gflops", round(peakFlops / 1e9));
            json.put("decode_tok_s", round(decode.tokensPerSecond()));
            json.put("decode_bw_fraction", round(decodeBps / readBps));
            json.put("prefill_tok_s", round(prefill.tokensPerSecond()));
            json.put("prefill_flop_fraction", round(prefillFlops / peakFlops));
            double[] b64 = byBatch.get(64);
            json.put("batch64_tok_s", b64 == null ? null : round(b64[0]));
            json.put("batch64_flop_fraction", b64 == null ? null : round(b64[1]));
            json.put("batches", rows);
            json.put("model", info.name());
            json.put("weight_format", format);
            json.put("decode_bytes_per_token", bytesPerToken);
            json.put("pack_seconds", round(((Number) packSeconds).doubleValue()));
            json.put("prompt_tokens", promptTokens);
            json.put("threads", threads);
            json.put("vector_bits", CpuMatrix.PANEL * 32);
            json.put("load_average_start", loadStart);
            json.put("load_average_end", loadAverage());
        }
        out.println(Json.write(json));
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 10000) / 10000.0;
    }

    /** The 1, 5 and 15-minute load averages from /proc/loadavg, to record how busy the machine was. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
