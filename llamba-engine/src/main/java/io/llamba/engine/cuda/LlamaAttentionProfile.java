package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.llama.LlamaConfig;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.SequenceState;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.sampling.SamplingParams;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;

/**
 * Where a Llama model's time goes on the GPU, kernel by kernel (each timed alone as a graph of
 * repeats, {@link ProfilingDevice}), with random BF16 weights and a BF16 KV cache: a 256-token
 * prompt chunk at 32k tokens of context, a decode step at 32k (batch 1) and at 8k (batch 64). The
 * attention kernels are rated against their work: FLOP/s for the prompt chunk (4·d multiply-adds
 * per query head and key), and for decode the cache bytes read per second, against the device's
 * measured copy bandwidth.
 */
final class LlamaAttentionProfile {
    private static final int REPS = 10;

    private LlamaAttentionProfile() {
    }

    static JsonObject preset(String name) {
        try (InputStream in = LlamaAttentionProfile.class.getResourceAsStream("/io/llamba/engine/llama/presets/" + name + ".json")) {
            if (in == null) {
                throw new IllegalArgumentException("no Llama preset " + name + " (llama-3.2-1b, llama-3.2-3b, llama-3.1-8b)");
            }
            return Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8), name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, Object> run(Device dev, String presetName, PrintStream out, BiConsumer<String, Map<String, double[]>> print,
                                   double copyBandwidth) {
        return run(dev, presetName, preset(presetName), 32768, 8192, 64, REPS, out, print, copyBandwidth);
    }

    /** The profile at a {@code ctx}-token context (batch 1) and {@code small} tokens (batch {@code batch}); both multiples of 256. */
    static Map<String, Object> run(Device dev, String presetName, JsonObject json, int ctx, int small, int batch, int reps, PrintStream out,
                                   BiConsumer<String, Map<String, double[]>> print, double copyBandwidth) {
        LlamaConfig c = LlamaConfig.from(json);
        ProfilingDevice pd = new ProfilingDevice(dev);
        Map<String, Object> r = new LinkedHashMap<>();
        out.println();
        out.println("== " + presetName + ": kernels timed alone (random BF16 weights made on the device, BF16 KV cache) ==");
        try (LlamaCudaModel m = new LlamaCudaModel(presetName, json, pd, false, DType.BF16, DType.BF16, null, 42, false)) {
            long perToken = m.kvBytesPerToken();
            int[] prompt = new SplittableRandom(1).ints(ctx + 1, 0, m.vocabSize()).toArray();
            try (StatePool pool = m.createStatePool(1, ctx + 1)) {
                SequenceState s = pool.tryAcquire().orElseThrow();
                for (int p = 0; p < ctx - 256; p += 256) {
                    m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, prompt, p, 256, null, false)));
                }
                pd.start();
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, prompt, ctx - 256, 256, null, false)), picks(1));
                Map<String, double[]> t = pd.stop(reps);
                print.accept("prompt chunk of 256 tokens at positions " + (ctx - 256) + "-" + (ctx - 1), t);
                double ms = attention(t);
                double flops = 0;
                for (int q = ctx - 256; q < ctx; q++) {
                    flops += 4.0 * (q + 1) * c.numHeads() * c.headDim();
                }
                flops *= c.numLayers();
                out.printf("  attention: %.3f ms for %.1f GFLOP = %.1f TFLOP/s (CUDA cores, f32 arithmetic)%n", ms, flops / 1e9, flops / ms / 1e9);
                r.put("prompt_chunk", Map.of("context", ctx, "attention_ms", ms, "attention_tflops", flops / ms / 1e9, "pass_ms", total(t)));

                pd.start();
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(s, prompt, ctx, 1, null, false)), picks(1));
                t = pd.stop(reps);
                print.accept("decode step, batch 1, context " + (ctx + 1), t);
                r.put("decode_batch1", rate(out, t, (double) (ctx + 1) * perToken, copyBandwidth));
            }
            try (StatePool pool = m.createStatePool(batch, small + 1)) {
                SequenceState first = pool.tryAcquire().orElseThrow();
                for (int p = 0; p < small; p += 256) {
                    m.forward(new ForwardBatch().add(new ForwardBatch.Entry(first, prompt, p, 256, null, false)));
                }
                ForwardBatch fb = new ForwardBatch();
                int[][] tok = new int[batch][1];
                for (int b = 0; b < batch; b++) {
                    SequenceState st = b == 0 ? first : pool.tryAcquire().orElseThrow();
                    if (b > 0) {
                        st.copyFrom(first);
                    }
                    tok[b][0] = (b * 7919 + 13) % m.vocabSize();
                    fb.add(new ForwardBatch.Entry(st, tok[b], 0, 1, null, false));
                }
                pd.start();
                m.forward(fb, picks(batch));
                Map<String, double[]> t = pd.stop(reps);
                print.accept("decode step, batch " + batch + ", context " + (small + 1), t);
                r.put("decode_batch" + batch, rate(out, t, (double) batch * (small + 1) * perToken, copyBandwidth));
            }
        }
        return r;
    }

    private static TokenPick[] picks(int n) {
        TokenPick[] p = new TokenPick[n];
        for (int i = 0; i < n; i++) {
            p[i] = new TokenPick(SamplingParams.GREEDY, i, 0);
        }
        return p;
    }

    /** Milliseconds of the attention kernels (the split records' merge included). */
    private static double attention(Map<String, double[]> t) {
        double ms = 0;
        for (Map.Entry<String, double[]> e : t.entrySet()) {
            if (e.getKey().startsWith("attn_")) {
                ms += e.getValue()[0];
            }
        }
        return ms;
    }

    private static double total(Map<String, double[]> t) {
        return t.values().stream().mapToDouble(v -> v[0]).sum();
    }

    private static Map<String, Object> rate(PrintStream out, Map<String, double[]> t, double cacheBytes, double copyBandwidth) {
        double ms = attention(t);
        double rate = cacheBytes / (ms / 1e3);
        out.printf("  attention: %.3f ms reading %.2f GB of KV cache = %.0f GB/s = %.1f%% of the copy bandwidth (%.0f GB/s)%n", ms,
                cacheBytes / 1e9, rate / 1e9, 100 * rate / copyBandwidth, copyBandwidth / 1e9);
        return Map.of("attention_ms", ms, "cache_gb", cacheBytes / 1e9, "gb_s", rate / 1e9, "copy_fraction", rate / copyBandwidth,
                "pass_ms", total(t), "kernels", List.copyOf(t.keySet()));
    }
}
