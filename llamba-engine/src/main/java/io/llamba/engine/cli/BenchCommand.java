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
                Usage: bench --model M [--quantize none|q8_0|q4_0] [--batch 1,4,16,64] [--prompt-tokens N]
                             [--decode-tokens N] [--steps N] [--reps N] [--threads N] [--read-mb N] [--pull-strategy S]

                Measures in one run, with the engine's thread team and vector width:
                  read bandwidth   every thread streaming a buffer of 4x the last-level cache (at least 1 GiB)
                  FMA peak         every thread running 12 independent vector FMA chains
                (before, between and after the model's runs; the best of each is the roofline)
                then, on the model (random token ids, each figure the best of --reps runs after a warm-up):
                  prefill          one prompt of --prompt-tokens tokens in one pass
                  decode           one sequence, --decode-tokens tokens one pass each
                  batch B          B sequences decoding together, --steps passes
                Each is also given as a fraction of its roofline: decode as weight bytes read per token times
                tok/s over the read bandwidth; prefill and batches as FLOPs (2 per weight multiplied, the
                head only for positions that need logits) over the FMA peak. The last line is one JSON object.

                %s
                  --quantize Q         none (default: the checkpoint's dtype), q8_0 or q4_0
                  --batch LIST         batch sizes for batched decoding (default 1,4,16,64)
                  --prompt-tokens N    prefill length (default 256)
                  --decode-tokens N    tokens per batch-1 decode run (default 32)
                  --steps N            passes per batched-decode run (default 8)
                  --reps N             timed runs per figure, the best is kept (default 3)
                  --threads N          CPU threads (default: one per physical core)
                  --read-mb N          MiB streamed by the read test (default: 4x the last-level cache, at least 1024)""".formatted(CliSupport.MODEL_HELP);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        CliSupport.ModelArgs modelArgs = CliSupport.modelArgs(o, err, false);
        LoadOptions load = CliSupport.loadOptions(o);
        int[] batches = o.has("batch") ? o.intList("batch") : new int[]{1, 4, 16, 64};
        int promptTokens = o.integer("prompt-tokens", 256);
        int decodeTokens = o.integer("decode-tokens", 32);
        int steps = o.integer("steps", 8);
        int reps = o.integer("reps", 3);
        long readMb = o.longValue("read-mb", Roofline.readBufferBytes() >> 20);
        o.checkAllUsed();
        if (readMb < 1 || readMb > (1L << 20)) {
            throw new UsageException("--read-mb must be in [1, 1048576], got " + readMb);
        }
        Path dir = modelArgs.modelDir();
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

        // The roofs are measured before the model's runs and again between them and after them; the
        // best of each is the roofline: a moment when other processes load the machine lowers the
        // engine's fractions, never the roofs.
        long bufferBytes = readMb << 20;
        Roofs roofs = new Roofs(threads, bufferBytes, reps);
        roofs.measure();
        out.printf(Locale.ROOT, "machine: %d threads, %d-bit vectors; read %.1f GB/s (%.1f GiB buffer), FMA peak %.1f GFLOP/s; load average %s%n",
                threads, CpuMatrix.PANEL * 32, roofs.read / 1e9, bufferBytes / (double) (1L << 30), roofs.flops / 1e9, loadStart);

        Map<String, Object> json = new LinkedHashMap<>();
        ModelBenchmark.Rate prefill;
        ModelBenchmark.Rate decode;
        Map<Integer, ModelBenchmark.Rate> byBatch = new LinkedHashMap<>();
        long bytesPerToken;
        long layerWeights;
        long headWeights;
        Object format;
        double packSeconds;
        try (Model model = ModelLoader.load(dir, load)) {
            ModelInfo info = model.info();
            bytesPerToken = ModelBenchmark.detail(info, "decode_bytes_per_token");
            layerWeights = ModelBenchmark.detail(info, "layer_weights");
            headWeights = ModelBenchmark.detail(info, "head_weights");
            format = info.details().get("weight_format");
            packSeconds = ((Number) info.details().get("pack_seconds")).doubleValue();
            out.printf(Locale.ROOT, "model: %s, %s weights, %.3f GB read per decoded token, packed in %.2f s%n",
                    info.name(), format, bytesPerToken / 1e9, packSeconds);
            json.put("model", info.name());
            ModelBenchmark bench = new ModelBenchmark(model, reps);
            prefill = bench.prefill(promptTokens);
            roofs.measure();
            decode = bench.decode(1, decodeTokens);
            roofs.measure();
            for (int b : batches) {
                byBatch.put(b, b == 1 ? decode : bench.decode(b, steps));
                roofs.measure();
            }
        }
        double readBps = roofs.read;
        double peakFlops = roofs.flops;
        out.printf(Locale.ROOT, "roofline (best of %d measurements between the runs): read %.1f GB/s, FMA peak %.1f GFLOP/s%n",
                roofs.count, readBps / 1e9, peakFlops / 1e9);

        double prefillFlops = (2.0 * layerWeights * promptTokens + 2.0 * headWeights) / prefill.seconds();
        out.printf(Locale.ROOT, "prefill %d tokens: %.1f tok/s, %.1f GFLOP/s = %.1f%% of FMA peak%n",
                promptTokens, prefill.tokensPerSecond(), prefillFlops / 1e9, 100 * prefillFlops / peakFlops);
        double decodeBps = bytesPerToken * decode.tokensPerSecond();
        out.printf(Locale.ROOT, "decode batch 1: %.2f tok/s, %.1f GB/s of weights = %.1f%% of read bandwidth%n",
                decode.tokensPerSecond(), decodeBps / 1e9, 100 * decodeBps / readBps);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map.Entry<Integer, ModelBenchmark.Rate> e : byBatch.entrySet()) {
            int b = e.getKey();
            ModelBenchmark.Rate r = e.getValue();
            double flops = r.tokensPerSecond() * 2.0 * (layerWeights + headWeights);
            double bps = r.tokensPerSecond() / b * bytesPerToken;
            out.printf(Locale.ROOT, "decode batch %d: %.1f tok/s aggregate, %.1f GFLOP/s = %.1f%% of FMA peak, weights at %.1f%% of read bandwidth%n",
                    b, r.tokensPerSecond(), flops / 1e9, 100 * flops / peakFlops, 100 * bps / readBps);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("batch", b);
            row.put("tok_s", round(r.tokensPerSecond()));
            row.put("flop_fraction", round(flops / peakFlops));
            row.put("bw_fraction", round(bps / readBps));
            rows.add(row);
        }
        ModelBenchmark.Rate b64 = byBatch.get(64);
        Map<String, Object> head = new LinkedHashMap<>();
        head.put("read_gbps", round(readBps / 1e9));
        head.put("peak_gflops", round(peakFlops / 1e9));
        head.put("decode_tok_s", round(decode.tokensPerSecond()));
        head.put("decode_bw_fraction", round(decodeBps / readBps));
        head.put("prefill_tok_s", round(prefill.tokensPerSecond()));
        head.put("prefill_flop_fraction", round(prefillFlops / peakFlops));
        head.put("batch64_tok_s", b64 == null ? null : round(b64.tokensPerSecond()));
        head.put("batch64_flop_fraction", b64 == null ? null
                : round(b64.tokensPerSecond() * 2.0 * (layerWeights + headWeights) / peakFlops));
        head.put("batches", rows);
        head.putAll(json);
        json = head;
        json.put("weight_format", format);
        json.put("decode_bytes_per_token", bytesPerToken);
        json.put("pack_seconds", round(packSeconds));
        json.put("prompt_tokens", promptTokens);
        json.put("threads", threads);
        json.put("vector_bits", CpuMatrix.PANEL * 32);
        json.put("load_average_start", loadStart);
        json.put("load_average_end", loadAverage());
        out.println(Json.write(json));
        return 0;
    }

    /** The best read bandwidth (bytes/s) and FMA peak (FLOP/s) measured so far on a team of {@code threads}. */
    private static final class Roofs {
        final int threads;
        final long bufferBytes;
        final int reps;
        double read;
        double flops;
        int count;

        Roofs(int threads, long bufferBytes, int reps) {
            this.threads = threads;
            this.bufferBytes = bufferBytes;
            this.reps = reps;
        }

        void measure() {
            try (Parallel team = new Parallel(threads)) {
                read = Math.max(read, Roofline.readBandwidth(team, bufferBytes, reps));
                flops = Math.max(flops, Roofline.peakFlops(team, reps));
                count++;
            }
        }
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
