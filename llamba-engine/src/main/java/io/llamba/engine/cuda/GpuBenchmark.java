package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The GPU benchmark: measures the device's own ceilings (device-to-device copy bandwidth, bf16
 * cuBLAS GEMM rate), then Llamba decode and prefill speed on random-weight models of the
 * released shapes, made on the device. Every ratio is against a ceiling measured in the same run.
 * Decode runs the way the engine does: one forward pass per step over the batch, tokens chosen
 * greedily on the device, timed on the host clock (host overhead included).
 */
public final class GpuBenchmark {
    /** What to run. */
    public record Settings(List<String> shapes, int[] batches, int decodeTokens, int prefillTokens, boolean maxBatch, boolean profile,
                           Path json, String attention) {
        /** @param attention a Llama preset whose attention kernels to profile instead of the Llamba shapes, or null */
        public Settings {
        }

        public Settings(List<String> shapes, int[] batches, int decodeTokens, int prefillTokens, boolean maxBatch, boolean profile, Path json) {
            this(shapes, batches, decodeTokens, prefillTokens, maxBatch, profile, json, null);
        }
    }

    private final PrintStream out;
    private final Settings s;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private CudaDevice dev;
    private double copyBandwidth;
    private double gemmRate;

    public GpuBenchmark(PrintStream out, Settings settings) {
        this.out = out;
        this.s = settings;
    }

    static JsonObject preset(String name) {
        try (InputStream in = GpuBenchmark.class.getResourceAsStream("/io/llamba/engine/llamba/presets/" + name + ".json")) {
            if (in == null) {
                throw new IllegalArgumentException("no preset " + name + " (llamba-1b, llamba-3b, llamba-8b)");
            }
            return Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8), name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void run() throws IOException {
        CudaAvailability.Status st = CudaAvailability.probe();
        if (!st.available()) {
            throw new CudaException("CUDA cannot be used here: " + st.reason());
        }
        dev = CudaDevice.open(0, CudaAvailability.fatbin());
        try {
            out.println("device: " + dev.description());
            out.println("host: " + Runtime.getRuntime().availableProcessors() + " processors, Java " + Runtime.version());
            results.put("device", dev.description());
            ceilings();
            if (s.attention() != null) {
                results.put("attention_profile", LlamaAttentionProfile.run(dev, s.attention(), out, this::printProfile, copyBandwidth));
            } else {
                shapes();
            }
        } finally {
            dev.close();
        }
        if (s.json() != null) {
            Files.writeString(s.json(), Json.write(results) + "\n");
            out.println("results written to " + s.json());
        }
    }

    /** The Llamba shapes: decode, sweeps, prefill and the largest batch. */
    private void shapes() {
        if (s.profile()) {
            profile(preset(s.shapes().getFirst()));
        }
        List<String> summary = new ArrayList<>();
        for (String shape : s.shapes()) {
            try {
                summary.addAll(shape(shape));
            } catch (RuntimeException e) {
                // One shape failing (memory, say) must not hide the others' figures.
                out.println(shape + " FAILED: " + e);
                summary.add(shape + " FAILED: " + e.getMessage());
                if (System.getenv("LLAMBA_DEBUG") != null) {
                    e.printStackTrace(out);
                }
            }
        }
        out.println();
        out.println("== summary ==");
        out.printf("copy bandwidth %.0f GB/s (read+write), bf16 GEMM %.1f TFLOP/s%n", copyBandwidth / 1e9, gemmRate / 1e12);
        summary.forEach(out::println);
    }

    // ------------------------------------------------------------------ ceilings

    private void ceilings() {
        try (Device.Scope _ = dev.enter()) {
            long bytes = 2L << 30;
            DeviceBuffer a = dev.allocate(bytes, "copy source");
            DeviceBuffer b = dev.allocate(bytes, "copy target");
            init(a, bytes / 2, 1);
            dev.copy(b, 0, a, 0, bytes);
            dev.synchronize();
            int reps = 10;
            Device.Event e0 = dev.record();
            for (int i = 0; i < reps; i++) {
                dev.copy(b, 0, a, 0, bytes);
            }
            Device.Event e1 = dev.record();
            float ms = dev.millisBetween(e0, e1);
            copyBandwidth = 2.0 * bytes * reps / (ms / 1e3);
            dev.free(a);
            dev.free(b);
            out.printf("device-to-device copy: %.0f GB/s (2 GiB, read + write counted, %d copies in %.2f ms)%n", copyBandwidth / 1e9, reps, ms);

            int n = 8192;
            DeviceBuffer ma = dev.allocate(2L * n * n, "GEMM A");
            DeviceBuffer mb = dev.allocate(2L * n * n, "GEMM B");
            DeviceBuffer mc = dev.allocate(4L * n * n, "GEMM C");
            init(ma, (long) n * n, 2);
            init(mb, (long) n * n, 3);
            double best = 0;
            for (int cType : new int[]{Device.R_16BF, Device.R_32F}) {
                for (int i = 0; i < 3; i++) {
                    dev.gemm(true, false, n, n, n, ma.address(), Device.R_16BF, n, mb.address(), Device.R_16BF, n, 0f, mc.address(), cType, n);
                }
                Device.Event g0 = dev.record();
                for (int i = 0; i < reps; i++) {
                    dev.gemm(true, false, n, n, n, ma.address(), Device.R_16BF, n, mb.address(), Device.R_16BF, n, 0f, mc.address(), cType, n);
                }
                Device.Event g1 = dev.record();
                float gms = dev.millisBetween(g0, g1);
                double rate = 2.0 * n * n * (double) n * reps / (gms / 1e3);
                out.printf("cuBLAS GEMM %dx%dx%d bf16 inputs, %s output, FP32 accumulate: %.1f TFLOP/s (random data)%n", n, n, n,
                        cType == Device.R_16BF ? "bf16" : "f32", rate / 1e12);
                best = Math.max(best, rate);
            }
            gemmRate = best;
            dev.free(ma);
            dev.free(mb);
            dev.free(mc);

            // The grid barrier of the batch-1 layers kernel alone, at that kernel's grid.
            Kernel kb = dev.kernel("barrier_bench");
            int resident = dev.residentBlocksPerSm(kb, 512, 0);
            if (resident > 0) {
                DeviceBuffer bar = dev.allocate(LlambaCudaModel.GRID_BARRIER_BYTES, "grid barrier");
                dev.zero(bar, 0, LlambaCudaModel.GRID_BARRIER_BYTES);
                int grid = dev.multiprocessors() * Math.min(2, resident);
                int nb = 2000;
                dev.launch(kb, grid, 1, 512, 0, new KernelArgs().ptr(bar.address()).i32(nb));
                Device.Event b0 = dev.record();
                dev.launch(kb, grid, 1, 512, 0, new KernelArgs().ptr(bar.address()).i32(nb));
                Device.Event b1 = dev.record();
                float bms = dev.millisBetween(b0, b1);
                dev.free(bar);
                out.printf("grid barrier: %.2f us each (%d in one launch of %d blocks x 512 threads)%n", 1000.0 * bms / nb, nb, grid);
                results.put("grid_barrier_us", 1000.0 * bms / nb);
            }
        }
        results.put("copy_bandwidth_gbs", copyBandwidth / 1e9);
        results.put("gemm_tflops", gemmRate / 1e12);
    }

    private void init(DeviceBuffer b, long bf16Count, long seed) {
        dev.launch(dev.kernel("init_uniform_bf16"), dev.multiprocessors() * 32, 1, 256, 0,
                new KernelArgs().ptr(b.address()).i64(bf16Count).i64(seed).f32(-1f).f32(1f));
    }

    // ------------------------------------------------------------------ per-kernel time

    /** Device time per kernel of one decode step (batches 1, 64, 1024) and one 1024-token prefill pass, launched without graphs. */
    private void profile(JsonObject json) {
        ProfilingDevice pd = new ProfilingDevice(dev);
        try (LlambaCudaModel m = new LlambaCudaModel("profile", json, pd, false, DType.BF16, DType.F32, null, 42, false);
             StatePool pool = m.createStatePool(1024)) {
            for (int b : new int[]{1, 64, 1024}) {
                List<SequenceState> states = new ArrayList<>();
                ForwardBatch fb = new ForwardBatch();
                TokenPick[] picks = new TokenPick[b];
                for (int i = 0; i < b; i++) {
                    SequenceState st = pool.tryAcquire().orElseThrow();
                    states.add(st);
                    fb.add(new ForwardBatch.Entry(st, prompt(16, i, m.vocabSize()), 0, 16, null, false));
                    picks[i] = new TokenPick(SamplingParams.GREEDY, i, 0);
                }
                m.forward(fb, picks);
                for (int rep = 0; rep < 2; rep++) {
                    fb.clear();
                    for (int i = 0; i < b; i++) {
                        fb.add(new ForwardBatch.Entry(states.get(i), new int[]{picks[i].token()}, 0, 1, null, false));
                        picks[i] = new TokenPick(SamplingParams.GREEDY, i, rep + 1);
                    }
                    if (rep == 1) {
                        pd.start();
                    }
                    m.forward(fb, picks);
                    if (rep == 1) {
                        printProfile("decode step, batch " + b, pd.stop(20));
                    }
                }
                states.forEach(pool::release);
            }
            SequenceState st = pool.tryAcquire().orElseThrow();
            for (int rep = 0; rep < 2; rep++) {
                st.reset();
                if (rep == 1) {
                    pd.start();
                }
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(st, prompt(1024, 5, m.vocabSize()), 0, 1024, null, false)),
                        new TokenPick[]{new TokenPick(SamplingParams.GREEDY, 0, 0)});
                if (rep == 1) {
                    printProfile("prefill pass, 1 sequence x 1024 tokens", pd.stop(5));
                }
            }
            pool.release(st);
        }
    }

    void printProfile(String title, Map<String, double[]> times) {
        double total = times.values().stream().mapToDouble(v -> v[0]).sum();
        out.printf("profile: %s: %.3f ms summed over kernels, each timed alone as a graph of repeats%n", title, total);
        times.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0])).forEach(e ->
                out.printf("  %-28s %5d launches %9.3f ms %6.1f%%  (%.1f us each)%n", e.getKey(), (int) e.getValue()[1], e.getValue()[0],
                        100 * e.getValue()[0] / total, 1000 * e.getValue()[0] / e.getValue()[1]));
    }

    // ------------------------------------------------------------------ one model shape

    private List<String> shape(String shape) {
        List<String> summary = new ArrayList<>();
        JsonObject json = preset(shape);
        Map<String, Object> r = new LinkedHashMap<>();
        results.put(shape, r);
        boolean sweep = shape.equals(s.shapes().getFirst());
        out.println();
        out.println("== " + shape + " (random BF16 weights made on the device) ==");
        try (LlambaCudaModel m = LlambaCudaModel.random(shape, json, dev, DType.BF16, DType.F32, 42)) {
            long perToken = bytesPerToken(m);
            double roofline = copyBandwidth / perToken;
            out.printf("weights %.2f GB on the device; a decode step of one sequence reads %.3f GB (weights + state read and write)%n",
                    m.info().weightBytes() / 1e9, perToken / 1e9);
            int cap = sweep ? Math.max(1, maxOf(s.batches())) : 1;
            try (StatePool pool = m.createStatePool(cap)) {
                if (sweep) { // GEMV launch choices at batch 1, whole-step device time
                    int[][] variants = {{512, 2, 4}, {512, 2, 1}, {512, 1, 4}, {256, 4, 4}, {256, 3, 4}};
                    for (int[] v : variants) {
                        m.tune(1, v[0], v[1], v[2], 32);
                        decode(m, pool, 1, 8);
                        out.printf("  GEMV %d threads x %d block(s)/SM, >= %d chunk(s)/lane: batch-1 step %.3f ms (graph replay)%n", v[0], v[1],
                                v[2], m.replayMillis(1, 50));
                    }
                    m.tune(1, 512, 2, 4, 32);
                }
                double tps = decode(m, pool, 1, s.decodeTokens());
                double frac = tps / roofline;
                float stepMs = m.replayMillis(1, 50);
                out.printf("batch 1 decode: %.1f tok/s = %.1f%% of the bandwidth roofline (%.1f tok/s at %.0f GB/s); device time per step"
                        + " %.3f ms (graph replay) = %.1f%% of roofline%n", tps, 100 * frac, roofline, copyBandwidth / 1e9, stepMs,
                        100 * (1000 / stepMs) / roofline);
                // The step the other way, in the same run: five launches per layer, or every layer in one launch.
                boolean oneLaunch = m.layersInOneLaunch(1);
                m.setLayersInOneLaunch(!oneLaunch);
                decode(m, pool, 1, 8);
                float otherMs = m.replayMillis(1, 50);
                m.resetLayersInOneLaunch();
                out.printf("  (%s; %s instead: %.3f ms per step = %.1f%% of roofline)%n", m.tuning(),
                        oneLaunch ? "five launches per layer" : "every layer in one launch", otherMs, 100 * (1000 / otherMs) / roofline);
                r.put(oneLaunch ? "batch1_device_ms_five_launches_per_layer" : "batch1_device_ms_layers_in_one_launch", otherMs);
                r.put("batch1_device_ms", stepMs);
                r.put("batch1_tok_s", tps);
                r.put("batch1_roofline_fraction", frac);
                summary.add(String.format("%s batch-1 decode %.1f tok/s, %.1f%% of roofline", shape, tps, 100 * frac));
                if (sweep) {
                    summary.addAll(sweep(m, pool, "F32 state", r));
                }
            }
            if (sweep && s.prefillTokens() > 0) {
                summary.addAll(prefill(m, r));
            }
        }
        if (sweep) {
            try (LlambaCudaModel m = LlambaCudaModel.random(shape, json, dev, DType.BF16, DType.BF16, 42)) {
                int cap = Math.max(1, maxOf(s.batches()));
                try (StatePool pool = m.createStatePool(cap)) {
                    Map<String, Object> rb = new LinkedHashMap<>();
                    r.put("bf16_state", rb);
                    int[] big = java.util.Arrays.stream(s.batches()).filter(b -> b >= 64).toArray();
                    summary.addAll(sweep(m, pool, "BF16 state", rb, big));
                }
            }
            if (s.maxBatch()) {
                summary.add(maxBatch(json, r));
            }
        }
        return summary;
    }

    private static int maxOf(int[] a) {
        int m = 0;
        for (int v : a) {
            m = Math.max(m, v);
        }
        return m;
    }

    /** Bytes a decode step must move for one sequence: every weight it reads once, its state read and written. */
    static long bytesPerToken(LlambaCudaModel m) {
        var c = m.config();
        long wb = m.weightType().bytes();
        long perLayer = wb * ((long) c.inProjRows() * c.dModel() + (long) c.dModel() * c.innerSize() + 3L * c.intermediateSize() * c.dModel());
        long head = wb * (long) c.vocabSize() * c.dModel();
        return perLayer * c.nLayer() + head + 2 * m.stateBytes();
    }

    /** Multiply-adds ×2 of one token through the layers and the head. */
    static double flopsPerToken(LlambaCudaModel m) {
        var c = m.config();
        double perLayer = (double) c.inProjRows() * c.dModel() + (double) c.dModel() * c.innerSize() + 3.0 * c.intermediateSize() * c.dModel();
        return 2 * (perLayer * c.nLayer() + (double) c.vocabSize() * c.dModel());
    }

    private List<String> sweep(LlambaCudaModel m, StatePool pool, String label, Map<String, Object> r) {
        return sweep(m, pool, label, r, s.batches());
    }

    private List<String> sweep(LlambaCudaModel m, StatePool pool, String label, Map<String, Object> r, int[] batches) {
        List<String> summary = new ArrayList<>();
        double flops = flopsPerToken(m);
        out.printf("aggregate decode, %s (%.2f GFLOP per token):%n", label, flops / 1e9);
        out.println("  launch choices: " + m.tuning());
        out.println("  batch      tok/s   TFLOP/s   of GEMM rate   (graph replay)");
        Map<String, Object> rows = new LinkedHashMap<>();
        double lastFrac = 0;
        int last = 0;
        for (int b : batches) {
            int steps = Math.max(8, Math.min(s.decodeTokens(), 65536 / b));
            double tps = decode(m, pool, b, steps);
            double rate = tps * flops;
            float ms = b <= LlambaCudaModel.MAX_PASS_TOKENS ? m.replayMillis(b, 10) : Float.NaN;
            out.printf("  %5d %10.1f %9.1f %13.1f%%   device %.3f ms/step%n", b, tps, rate / 1e12, 100 * rate / gemmRate, ms);
            if (b >= 16 && b <= 64) { // the fused mixer step instead of the split one
                m.setSplitStepRows(4096);
                decode(m, pool, b, 8);
                out.printf("        (fused decode step: device %.3f ms/step)%n", m.replayMillis(b, 10));
                m.setSplitStepRows(32);
            }
            Map<String, Object> row = new LinkedHashMap<>(Map.of("tok_s", tps, "tflops", rate / 1e12, "gemm_fraction", rate / gemmRate,
                    "device_ms", (double) ms));
            if (b >= 256 && b <= LlambaCudaModel.MAX_PASS_TOKENS) {
                row.put("variants_device_ms", decodeVariants(m, pool, b));
            }
            rows.put(Integer.toString(b), row);
            lastFrac = rate / gemmRate;
            last = b;
        }
        r.put("decode_" + label.replace(' ', '_').toLowerCase(java.util.Locale.ROOT), rows);
        summary.add(String.format("%s %s: batch %d at %.1f%% of the GEMM rate", m.info().name(), label, last, 100 * lastFrac));
        return summary;
    }

    /**
     * The large-batch decode step's device time with its launch choices varied, in the same run:
     * one stream with the conv step separate (as before the two-stream split) or fused into the
     * per-head state update, and two half-batches on two streams, started 0, 2 or 6 launch groups
     * apart (the two-stream split is off by default: it measured slower), also with the products
     * limited to 7/8, 3/4 or 2/3 of the SMs so that the other half's state update has SMs of its
     * own; and one stream with the fused step taking one (sequence, head) item per block or
     * pipelined runs of 2, 4, 8 and 16. Restores the defaults.
     */
    private Map<String, Object> decodeVariants(LlambaCudaModel m, StatePool pool, int b) {
        Map<String, Object> v = new LinkedHashMap<>();
        int sms = m.device().multiprocessors();
        Object[][] variants = {{"one stream, conv separate", 0, 0, false, 0}, {"one stream, conv fused", 0, 0, true, 0},
                {"two streams, stagger 0", 1, 0, true, 0}, {"two streams, stagger 2", 1, 2, true, 0}, {"two streams, stagger 6", 1, 6, true, 0},
                {"two streams, stagger 2, conv separate", 1, 2, false, 0},
                {"two streams, stagger 0, products on " + (sms - sms / 8) + " SMs", 1, 0, true, sms - sms / 8},
                {"two streams, stagger 2, products on " + (sms - sms / 8) + " SMs", 1, 2, true, sms - sms / 8},
                {"two streams, stagger 2, products on " + (sms - sms / 4) + " SMs", 1, 2, true, sms - sms / 4},
                {"two streams, stagger 2, products on " + (sms - sms / 3) + " SMs", 1, 2, true, sms - sms / 3}};
        StringBuilder line = new StringBuilder("        (device ms/step:");
        for (Object[] x : variants) {
            m.setDecodeOverlap((int) x[1] == 0 ? 0 : 256, (int) x[2], (boolean) x[3], (int) x[4]);
            decode(m, pool, b, 4);
            float ms = m.replayMillis(b, 10);
            v.put((String) x[0], (double) ms);
            line.append(String.format(" %s %.3f;", x[0], ms));
        }
        // The fused step with one (sequence, head) item per block (conv_heads) and pipelined over runs
        // of 2 to 16 items (conv_heads_pipe); the default is one of them.
        m.setDecodeOverlap(0, 2, true);
        for (int items : new int[]{0, 2, 4, 8, 16}) {
            m.setPipelineItems(items);
            decode(m, pool, b, 4);
            float ms = m.replayMillis(b, 10);
            String name = items == 0 ? "one stream, conv fused, one item per block" : "one stream, conv fused, pipelined over " + items + " items";
            v.put(name, (double) ms);
            line.append(String.format(" %s %.3f;", name, ms));
        }
        m.setPipelineItems(m.defaultPipelineItems());
        m.setDecodeOverlap(0, 2, true); // the defaults: one stream, conv fused (pipelined with BF16 state only)
        out.println(line.append(')'));
        return v;
    }

    private static int[] prompt(int len, long seed, int vocab) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] p = new int[len];
        for (int i = 0; i < len; i++) {
            p[i] = rnd.nextInt(vocab);
        }
        return p;
    }

    /**
     * Greedy decode of {@code steps} tokens for {@code batch} sequences after a 16-token prompt
     * each; returns generated tokens per second over the timed steps.
     */
    static double decode(LlambaCudaModel m, StatePool pool, int batch, int steps) {
        int v = m.vocabSize();
        List<SequenceState> states = new ArrayList<>();
        try {
            for (int i = 0; i < batch; i++) {
                states.add(pool.tryAcquire().orElseThrow(() -> new IllegalStateException("pool too small")));
            }
            int[][] next = new int[batch][1];
            // Prefill, in passes of whole prompts.
            ForwardBatch fb = new ForwardBatch();
            TokenPick[] picks = new TokenPick[batch];
            for (int i = 0; i < batch; i++) {
                fb.add(new ForwardBatch.Entry(states.get(i), prompt(16, i, v), 0, 16, null, false));
                picks[i] = new TokenPick(SamplingParams.GREEDY, i, 0);
            }
            m.forward(fb, picks);
            for (int i = 0; i < batch; i++) {
                next[i][0] = picks[i].token();
            }
            int warm = 3;
            long t0 = 0;
            for (int step = 0; step < warm + steps; step++) {
                if (step == warm) {
                    t0 = System.nanoTime();
                }
                fb.clear();
                for (int i = 0; i < batch; i++) {
                    fb.add(new ForwardBatch.Entry(states.get(i), next[i], 0, 1, null, false));
                    picks[i] = new TokenPick(SamplingParams.GREEDY, i, step + 1);
                }
                m.forward(fb, picks);
                for (int i = 0; i < batch; i++) {
                    next[i][0] = picks[i].token();
                }
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            return (double) batch * steps / sec;
        } finally {
            states.forEach(pool::release);
        }
    }

    private List<String> prefill(LlambaCudaModel m, Map<String, Object> r) {
        List<String> summary = new ArrayList<>();
        int len = s.prefillTokens();
        Map<String, Object> rows = new LinkedHashMap<>();
        for (int n : new int[]{1, 8}) {
            try (StatePool pool = m.createStatePool(n)) {
                double best = 0;
                for (int rep = 0; rep < 3; rep++) {
                    List<SequenceState> states = new ArrayList<>();
                    ForwardBatch fb = new ForwardBatch();
                    TokenPick[] picks = new TokenPick[n];
                    for (int i = 0; i < n; i++) {
                        SequenceState st = pool.tryAcquire().orElseThrow();
                        states.add(st);
                        fb.add(new ForwardBatch.Entry(st, prompt(len, 100 + i, m.vocabSize()), 0, len, null, false));
                        picks[i] = new TokenPick(SamplingParams.GREEDY, i, 0);
                    }
                    long t0 = System.nanoTime();
                    m.forward(fb, picks);
                    double sec = (System.nanoTime() - t0) / 1e9;
                    best = Math.max(best, (double) n * len / sec);
                    states.forEach(pool::release);
                }
                out.printf("prefill: %d prompt%s of %d tokens: %.0f tok/s (best of 3, first token sampled)%n", n, n > 1 ? "s" : "", len, best);
                rows.put(Integer.toString(n), best);
                summary.add(String.format("%s prefill %d x %d tokens: %.0f tok/s", m.info().name(), n, len, best));
            }
        }
        r.put("prefill_tok_s", rows);
        return summary;
    }

    /**
     * The most sequences whose states fit beside the model, each advanced to an 8192-token
     * context (one prompt prefilled, its state copied to every slot), and one decode step over all.
     */
    private String maxBatch(JsonObject json, Map<String, Object> r) {
        int ctx = 8192;
        try (LlambaCudaModel m = LlambaCudaModel.random("max-batch", json, dev, DType.BF16, DType.F32, 42)) {
            long free = dev.freeMemory();
            long reserve = 2L << 30;
            int cap = (int) Math.min(Integer.MAX_VALUE - 1, (free - reserve) / m.stateBytes());
            out.printf("largest batch at %d context: %.1f GiB free after weights and scratch; %.2f MB per sequence -> %d sequences%n", ctx,
                    free / (double) (1L << 30), m.stateBytes() / 1e6, cap);
            try (CudaStatePool pool = (CudaStatePool) m.createStatePool(cap)) {
                List<SequenceState> states = new ArrayList<>();
                for (int i = 0; i < cap; i++) {
                    states.add(pool.tryAcquire().orElseThrow());
                }
                CudaState first = (CudaState) states.getFirst();
                TokenPick[] one = {new TokenPick(SamplingParams.GREEDY, 0, 0)};
                m.forward(new ForwardBatch().add(new ForwardBatch.Entry(first, prompt(ctx, 7, m.vocabSize()), 0, ctx, null, false)), one);
                for (int i = 1; i < cap; i++) {
                    pool.copy(first, (CudaState) states.get(i));
                }
                ForwardBatch fb = new ForwardBatch();
                TokenPick[] picks = new TokenPick[cap];
                int[] tok = {one[0].token()};
                for (int i = 0; i < cap; i++) {
                    fb.add(new ForwardBatch.Entry(states.get(i), tok, 0, 1, null, false));
                    picks[i] = new TokenPick(SamplingParams.GREEDY, i, 1);
                }
                m.forward(fb, picks); // warm-up (graph capture)
                for (int i = 0; i < cap; i++) {
                    picks[i] = new TokenPick(SamplingParams.GREEDY, i, 2);
                }
                long t0 = System.nanoTime();
                m.forward(fb, picks);
                double sec = (System.nanoTime() - t0) / 1e9;
                int positions = states.get(cap - 1).position();
                out.printf("one decode step over %d sequences at position %d: %.1f ms, %.0f tok/s%n", cap, positions, sec * 1e3, cap / sec);
                r.put("max_batch_8k", cap);
                r.put("max_batch_8k_tok_s", cap / sec);
                long kv = 16L * 2 * 8 * 64 * ctx * 2;
                out.printf("(for scale: a Llama-3.2-1B KV cache at %d tokens in bf16 is %.0f MB per sequence: %d sequences in the same memory)%n",
                        ctx, kv / 1e6, (free - reserve) / kv);
                return String.format("%s: %d sequences fit at %d context (%.0f tok/s in one decode step)", m.info().name(), cap, ctx, cap / sec);
            }
        }
    }
}
