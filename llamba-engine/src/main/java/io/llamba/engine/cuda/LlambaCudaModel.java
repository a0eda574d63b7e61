package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.llamba.LlambaArchitecture;
import io.llamba.engine.llamba.LlambaConfig;
import io.llamba.engine.model.DeviceSampling;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.StatePool;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.sampling.SamplingParams;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llamba with every step on a CUDA device: weights resident (F32 or BF16), states in device
 * slots, logits and sampling on the device. A forward pass is a sequence of launches over up to
 * {@link #MAX_PASS_TOKENS} token rows:
 *
 * <pre>
 *   embed → per layer: in_proj (RMSNorm fused) → mixer → out_proj (+= h) → gate·up (RMSNorm, SwiGLU fused) → down (+= h)
 *         → head (final RMSNorm) → sample
 * </pre>
 *
 * Products of up to four rows run as GEMV kernels that read each weight once and fuse the
 * neighbouring steps (five launches a layer); larger ones go to cuBLAS with FP32 accumulation.
 * The mixer is one fused kernel when every sequence feeds one token (decode), and conv plus a
 * chunked scan otherwise (prefill). Decode passes are captured as CUDA graphs, one per batch-size
 * bucket, and replayed with new per-row metadata.
 */
public final class LlambaCudaModel implements Model, DeviceSampling {
    private static final System.Logger LOG = System.getLogger(LlambaCudaModel.class.getName());

    /** Token rows per pass; longer batches run as several passes. Bounds the scratch memory. */
    public static final int MAX_PASS_TOKENS = 1024;
    /** Batch-size buckets of the decode graphs: a batch is padded to the next one. */
    static final int[] BUCKETS = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024};
    private static final int SAMPLE_BLOCK = 1024;
    /** Largest scan chunk (the config's chunk_size, up to this: the chunk sits in shared memory). */
    private static final int MAX_CHUNK = 64;
    private static final int MAX_CONV = 16;
    private static final int NS = 0, PS = 1, PA = 2, NW = 3;
    private static final String[] GEMV_TAGS = {"ns", "ps", "pa", "nw"};
    private static final int STORE = 0, ADD = 1, SWIGLU = 2;

    private final String name;
    private final Device dev;
    private final boolean ownsDevice;
    private final LlambaConfig c;
    private final Checkpoint checkpoint;
    private final LlambaCudaWeights w;
    private final DType weightType;
    private final DType stateType;
    private final int wCuda;
    private final long convBytes;
    /** Where the SSM state starts in a layer's slot: after the conv window, 16-byte aligned. */
    private final long ssmOffset;
    private final long layerBytes;
    /** Tokens per scan chunk. */
    private final int chunk;
    private final int finishSmem;
    /** Products of at most this many rows use the GEMV kernels, larger ones cuBLAS (measured faster from 2 rows). */
    private int gemvMaxRows = 1;
    /** GEMV threads per block and blocks per SM. */
    private int gemvBlock = 512;
    private int gemvBlocksPerSm = 2;
    /** Fewest 16-byte chunks per lane and row when K is split across warps. */
    private int gemvMinChunks = 4;
    /** Decode passes of at least this many rows split the mixer step (conv, then one block per head). */
    private int splitStepRows = 32;
    private final int headsSmem;
    private final long slotBytes;
    private final int stepSmem;
    private final int scanSmem;
    private final boolean graphsEnabled;
    private final ModelInfo info;

    private final List<DeviceBuffer> scratch = new ArrayList<>();
    private final DeviceBuffer h, xn, proj, xbc, y, gu, act, logits, tokOut, meta, scratchState, yPart, scanScratch, decays;
    private final HostBuffer metaHost;
    private final int[] tokHost = new int[MAX_PASS_TOKENS];
    private final Map<Integer, Device.Graph> graphs = new HashMap<>();
    /** Rows of the metadata now on the device (a graph may only be replayed over its own bucket's). */
    private int metaRows = -1;
    private final Kernel kEmbed, kNorm, kSwiglu, kBias, kStep, kConvStep, kHeads, kConv, kWin, kScanChunks, kScanStates, kScanFinish, kSample;
    private final Kernel[][] kGemv = new Kernel[4][3];
    private boolean closed;

    /**
     * @param ck   weights to upload, or null for random weights made on the device from {@code seed}
     * @param json the configuration (for the random weights' distributions)
     */
    LlambaCudaModel(String name, JsonObject json, Device dev, boolean ownsDevice, DType weights, DType state, Checkpoint ck,
                    long seed, boolean graphs) {
        this.name = name;
        this.c = LlambaConfig.from(json);
        this.dev = dev;
        this.ownsDevice = ownsDevice;
        this.checkpoint = ck;
        this.weightType = weights;
        this.stateType = state;
        this.graphsEnabled = graphs;
        this.wCuda = weights == DType.BF16 ? Device.R_16BF : Device.R_32F;
        int stBytes = state == DType.BF16 ? 2 : 4;
        int h0 = c.nVHeads(), g0 = c.nQkHeads(), p0 = c.headDim(), n0 = c.dState();
        this.convBytes = 4L * (c.dConv() - 1) * c.convChannels();
        this.ssmOffset = roundUp(convBytes, 16);
        this.layerBytes = roundUp(ssmOffset + (long) h0 * p0 * n0 * stBytes, 256);
        this.slotBytes = layerBytes * c.nLayer();
        int hpg = h0 / g0;
        this.stepSmem = 4 * (hpg * p0 + 2 * n0 + hpg);
        this.chunk = Math.min(MAX_CHUNK, c.chunkSize());
        this.scanSmem = 4 * (p0 * (n0 + 1) + chunk * (p0 + 1) + 2 * chunk * (n0 + 1) + chunk * (chunk + 1) + 3 * chunk);
        this.finishSmem = 4 * (p0 * (n0 + 1) + chunk * (n0 + 1) + chunk);
        this.headsSmem = 4 * (2 * p0 + 2 * n0);
        checkSupported(dev);

        LlambaCudaWeights wts = null;
        List<DeviceBuffer> made = scratch;
        HostBuffer mh = null;
        boolean ok = false;
        try (Device.Scope _ = dev.enter()) {
            wts = new LlambaCudaWeights(dev, c, weights);
            if (ck != null) {
                wts.upload(ck);
            } else {
                wts.randomize(new LlambaArchitecture().tensorSpecs(json), seed);
            }
            int t = MAX_PASS_TOKENS;
            int wb = weights.bytes();
            h = buffer(4L * t * c.dModel(), "hidden states");
            xn = buffer((long) wb * t * c.dModel(), "normalised hidden states");
            proj = buffer(4L * t * c.inProjRows(), "in_proj output");
            xbc = buffer(4L * t * c.convChannels(), "conv output");
            y = buffer((long) wb * t * c.innerSize(), "mixer output");
            gu = buffer((long) wb * t * 2 * c.intermediateSize(), "gate and up output");
            act = buffer((long) wb * t * c.intermediateSize(), "SwiGLU output");
            logits = buffer(4L * t * c.vocabSize(), "logits");
            tokOut = buffer(4L * t, "sampled tokens");
            meta = buffer(MetaLayout.bytes(t), "pass metadata");
            scratchState = buffer(slotBytes, "padding state");
            yPart = buffer(4L * t * c.innerSize(), "scan partial outputs");
            int slots = 2 * t / chunk + 1; // chunks of segments longer than one chunk
            scanScratch = buffer(4L * slots * h0 * p0 * n0, "scan chunk states");
            decays = buffer(4L * slots * h0, "scan chunk decays");
            mh = dev.allocateHost(MetaLayout.bytes(t));
            dev.synchronize();
            String ws = suffix(weights), ss = suffix(state);
            kEmbed = dev.kernel("embed_" + ws);
            kNorm = dev.kernel("rmsnorm_rows_" + ws);
            kSwiglu = dev.kernel("swiglu_rows_" + ws);
            kBias = dev.kernel("add_bias");
            kStep = dev.kernel("ssm_step_" + ws + "_" + ss);
            kConvStep = dev.kernel("conv_step");
            kHeads = dev.kernel("ssm_heads_" + ws + "_" + ss);
            kConv = dev.kernel("conv_prefill");
            kWin = dev.kernel("conv_window_update");
            kScanChunks = dev.kernel("scan_chunks_" + ws + "_" + ss);
            kScanStates = dev.kernel("scan_states_" + ss);
            kScanFinish = dev.kernel("scan_finish_" + ws);
            kSample = dev.kernel("sample_rows");
            int[] ts = {1, 2, 4};
            for (int m = 0; m < 4; m++) {
                for (int i = 0; i < 3; i++) {
                    kGemv[m][i] = dev.kernel("gemv_" + ws + "_" + GEMV_TAGS[m] + "_t" + ts[i]);
                }
            }
            ok = true;
        } finally {
            if (!ok) {
                for (DeviceBuffer b : made) {
                    dev.free(b);
                }
                if (mh != null) {
                    dev.free(mh);
                }
                if (wts != null) {
                    wts.close();
                }
                if (ownsDevice) {
                    dev.close();
                }
            }
        }
        this.w = wts;
        this.metaHost = mh;

        long params = (long) c.vocabSize() * c.dModel() * (c.tieEmbeddings() ? 1 : 2) + c.dModel()
                + (long) c.nLayer() * ((long) c.inProjRows() * c.dModel() + (long) c.dModel() * c.innerSize()
                + 3L * c.intermediateSize() * c.dModel() + (long) c.convChannels() * (c.dConv() + 1) + c.nVHeads() + 2L * c.dModel()
                + (c.ssmBias() ? c.inProjRows() + c.dModel() : c.innerSize()));
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("d_state", c.dState());
        details.put("n_v_heads", c.nVHeads());
        details.put("n_qk_heads", c.nQkHeads());
        details.put("head_dim", c.headDim());
        details.put("intermediate_size", c.intermediateSize());
        details.put("weight_dtype", weights.name());
        details.put("state_dtype", state.name());
        details.put("cuda_graphs", graphs);
        details.put("max_pass_tokens", MAX_PASS_TOKENS);
        this.info = new ModelInfo(name, LlambaArchitecture.MODEL_TYPE, c.vocabSize(), c.dModel(), c.nLayer(), params, w.bytes(),
                slotBytes, c.maxContext(), "cuda", dev.description() + ", weights " + weights + ", state " + state, details);
    }

    /** Loads a checkpoint onto CUDA device 0 (the caller has checked {@link CudaAvailability}). */
    public static LlambaCudaModel load(String name, JsonObject json, Checkpoint ck, LoadOptions options) {
        byte[] fatbin = CudaAvailability.fatbin();
        if (fatbin == null) {
            throw new ModelException("this build of the engine has no GPU kernels (nvcc was not found when it was built)");
        }
        DType weights = options.deviceWeights();
        if (weights == null) {
            DType stored = ck.get("backbone.embedding.weight").dtype();
            weights = stored == DType.BF16 ? DType.BF16 : DType.F32;
        }
        DType state = options.deviceState() == null ? DType.F32 : options.deviceState();
        CudaDevice dev = CudaDevice.open(0, fatbin);
        return new LlambaCudaModel(name, json, dev, true, weights, state, ck, 0, true);
    }

    /** A model of {@code json}'s shape with random weights made on the device (benchmarks). */
    static LlambaCudaModel random(String name, JsonObject json, Device dev, DType weights, DType state, long seed) {
        return new LlambaCudaModel(name, json, dev, false, weights, state, null, seed, true);
    }

    private void checkSupported(Device d) {
        String why = null;
        if (c.dState() > 128) {
            why = "d_state " + c.dState() + " > 128";
        } else if (c.dConv() - 1 > MAX_CONV) {
            why = "d_conv " + c.dConv() + " > " + (MAX_CONV + 1);
        } else if (scanSmem > d.maxSharedMemoryPerBlock() - 1024) {
            why = "head_dim " + c.headDim() + " with d_state " + c.dState() + " needs " + scanSmem + " bytes of shared memory in the scan; the device allows "
                    + d.maxSharedMemoryPerBlock();
        } else if (finishSmem > d.maxSharedMemoryPerBlock() - 1024) {
            why = "the scan's last stage needs " + finishSmem + " bytes of shared memory";
        } else if (stepSmem > d.maxSharedMemoryPerBlock() - 1024) {
            why = "the decode step needs " + stepSmem + " bytes of shared memory";
        }
        if (why != null) {
            throw new ModelException("this configuration is not supported by the CUDA kernels: " + why);
        }
    }

    private DeviceBuffer buffer(long bytes, String what) {
        DeviceBuffer b = dev.allocate(bytes, what);
        scratch.add(b);
        dev.zero(b, 0, bytes);
        return b;
    }

    private static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }

    private static String suffix(DType t) {
        return t == DType.BF16 ? "bf16" : "f32";
    }

    Device device() {
        return dev;
    }

    LlambaConfig config() {
        return c;
    }

    /** Bytes of one sequence's state slot. */
    long stateBytes() {
        return slotBytes;
    }

    DType weightType() {
        return weightType;
    }

    DType stateType() {
        return stateType;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public StatePool createStatePool(int capacity) {
        return new CudaStatePool(this, capacity);
    }

    @Override
    public boolean supportsDeviceSampling(SamplingParams params) {
        return !params.hasPenalties();
    }

    @Override
    public void forward(ForwardBatch batch) {
        forward(batch, null);
    }

    // ------------------------------------------------------------------ passes

    /** A run of one entry's tokens inside a pass. */
    private record Segment(int entryIndex, ForwardBatch.Entry entry, CudaState state, int from, int length, int row) {
    }

    /** A row whose logits are wanted: copied to {@code dest} and/or sampled into {@code pick}. */
    private record LogitRow(int row, float[] dest, int destOffset, TokenPick pick) {
    }

    @Override
    public void forward(ForwardBatch batch, TokenPick[] picks) {
        if (closed) {
            throw new IllegalStateException("model " + name + " is closed");
        }
        List<ForwardBatch.Entry> entries = batch.entries();
        if (picks != null && picks.length != entries.size()) {
            throw new IllegalArgumentException("picks has " + picks.length + " slots for " + entries.size() + " entries");
        }
        Map<CudaState, Boolean> seen = new IdentityHashMap<>();
        int v = c.vocabSize();
        for (int i = 0; i < entries.size(); i++) {
            ForwardBatch.Entry e = entries.get(i);
            if (!(e.state() instanceof CudaState s) || s.pool.model() != this) {
                throw new IllegalArgumentException("state is not a CUDA state of this model");
            }
            s.pool.checkOpen();
            if (seen.put(s, Boolean.TRUE) != null) {
                throw new IllegalArgumentException("a state appears twice in one batch");
            }
            if (e.logits() != null && e.logits().length < (long) e.logitRows() * v) {
                throw new IllegalArgumentException("logits buffer holds " + e.logits().length + " floats, needs " + (long) e.logitRows() * v);
            }
            if (picks != null && picks[i] != null && !supportsDeviceSampling(picks[i].params())) {
                throw new IllegalArgumentException("penalties cannot be applied on the device; sample such sequences on the host");
            }
            for (int k = 0; k < e.length(); k++) {
                int tok = e.token(k);
                if (tok < 0 || tok >= v) {
                    throw new IllegalArgumentException("token id " + tok + " outside the vocabulary [0, " + v + ")");
                }
            }
        }
        try (Device.Scope _ = dev.enter()) {
            List<Segment> pass = new ArrayList<>();
            int passTokens = 0;
            for (int i = 0; i < entries.size(); i++) {
                ForwardBatch.Entry e = entries.get(i);
                CudaState st = (CudaState) e.state();
                int done = 0;
                while (done < e.length()) {
                    int take = Math.min(e.length() - done, MAX_PASS_TOKENS - passTokens);
                    pass.add(new Segment(i, e, st, done, take, passTokens));
                    passTokens += take;
                    done += take;
                    if (passTokens == MAX_PASS_TOKENS) {
                        runPass(pass, passTokens, picks);
                        pass.clear();
                        passTokens = 0;
                    }
                }
            }
            if (!pass.isEmpty()) {
                runPass(pass, passTokens, picks);
            }
        }
    }

    static int bucket(int n) {
        for (int b : BUCKETS) {
            if (b >= n) {
                return b;
            }
        }
        throw new IllegalArgumentException("batch of " + n + " rows exceeds " + MAX_PASS_TOKENS);
    }

    private void runPass(List<Segment> segs, int rows, TokenPick[] picks) {
        boolean decode = true;
        for (Segment s : segs) {
            decode &= s.length == 1;
        }
        int v = c.vocabSize();
        List<LogitRow> wanted = new ArrayList<>();
        for (Segment s : segs) {
            boolean ends = s.from + s.length == s.entry.length();
            TokenPick pick = picks != null && ends ? picks[s.entryIndex] : null;
            float[] dest = s.entry.logits();
            if (dest != null && s.entry.allPositions()) {
                for (int i = 0; i < s.length; i++) {
                    wanted.add(new LogitRow(s.row + i, dest, (s.from + i) * v, i == s.length - 1 ? pick : null));
                }
            } else if (ends && (dest != null || pick != null)) {
                wanted.add(new LogitRow(s.row + s.length - 1, dest, 0, pick));
            }
        }
        boolean useGraph = decode && graphsEnabled;
        int n = useGraph ? bucket(rows) : rows;
        // In a decode pass logit row r is pass row r (all rows get logits); otherwise the wanted rows, in order.
        LogitRow[] byIndex = new LogitRow[decode ? n : wanted.size()];
        if (decode) {
            for (LogitRow lr : wanted) {
                byIndex[lr.row] = lr;
            }
        } else {
            wanted.toArray(byIndex);
        }
        boolean anyPick = false;
        for (LogitRow lr : byIndex) {
            anyPick |= lr != null && lr.pick != null;
        }
        int logitRows = decode ? n : wanted.size();

        MetaLayout m = new MetaLayout(n, meta.address());
        Chunks chunks = writeMeta(m, segs, rows, byIndex);
        dev.copyToDevice(meta, 0, metaHost, 0, m.bytes());
        metaRows = useGraph ? n : -1;
        if (useGraph) {
            Device.Graph g = graphs.get(n);
            if (g == null) {
                g = dev.capture(() -> body(n, n, n, true, true, null, m));
                graphs.put(n, g);
            }
            dev.launch(g);
        } else {
            body(rows, segs.size(), logitRows, decode, anyPick, chunks, m);
        }
        if (anyPick) {
            dev.copyToHost(tokHost, 0, tokOut, 0, logitRows);
        }
        for (int r = 0; r < byIndex.length; r++) {
            LogitRow lr = byIndex[r];
            if (lr == null) {
                continue;
            }
            if (lr.dest != null) {
                dev.copyToHost(lr.dest, lr.destOffset, logits, 4L * r * v, v);
            }
            if (lr.pick != null) {
                lr.pick.setToken(tokHost[r]);
            }
        }
        dev.synchronize(); // the pass is done: metadata memory may be rewritten
        for (Segment s : segs) {
            s.state.position += s.length;
        }
    }

    /** The scan's chunks in a pass: how many, and how many belong to segments of several chunks (scratch slots). */
    private record Chunks(int count, int slots) {
    }

    /**
     * Host-side metadata of a pass, padded to {@code m.n()} rows with the padding state; returns
     * the scan chunks (segments split into runs of at most {@link #chunk} tokens).
     */
    private Chunks writeMeta(MetaLayout m, List<Segment> segs, int rows, LogitRow[] byIndex) {
        MemorySegment mem = metaHost.segment();
        int n = m.n();
        long base = m.base();
        int seg = 0;
        int chunks = 0;
        int slots = 0;
        for (int si = 0; si < segs.size(); si++) {
            Segment s = segs.get(si);
            for (int i = 0; i < s.length; i++) {
                int r = s.row + i;
                putInt(mem, m.tok() - base, r, s.entry.token(s.from + i));
                putInt(mem, m.rowSeg() - base, r, si);
            }
            putInt(mem, m.segStart() - base, si, s.row);
            putInt(mem, m.segLen() - base, si, s.length);
            putInt(mem, m.segFresh() - base, si, s.state.position == 0 ? 1 : 0);
            mem.set(ValueLayout.JAVA_LONG_UNALIGNED, m.segState() - base + 8L * si, s.state.address());
            int nc = (s.length + chunk - 1) / chunk;
            putInt(mem, m.segFirstChunk() - base, si, chunks);
            for (int k = 0; k < nc; k++, chunks++) {
                putInt(mem, m.chunkSeg() - base, chunks, si);
                putInt(mem, m.chunkK() - base, chunks, k);
                putInt(mem, m.chunkSlot() - base, chunks, nc > 1 ? slots++ : -1);
            }
            seg++;
        }
        for (int r = rows; r < n; r++) { // padding rows: token 0 on the padding state, fresh each time
            putInt(mem, m.tok() - base, r, 0);
            putInt(mem, m.rowSeg() - base, r, seg + (r - rows));
        }
        for (int si = seg; si < n; si++) {
            int r = rows + (si - seg);
            putInt(mem, m.segStart() - base, si, r);
            putInt(mem, m.segLen() - base, si, 1);
            putInt(mem, m.segFresh() - base, si, 1);
            mem.set(ValueLayout.JAVA_LONG_UNALIGNED, m.segState() - base + 8L * si, scratchState.address());
        }
        for (int r = 0; r < n; r++) {
            LogitRow lr = r < byIndex.length ? byIndex[r] : null;
            putInt(mem, m.logitRow() - base, r, lr != null ? lr.row : r < rows ? r : 0);
            TokenPick p = lr == null ? null : lr.pick;
            SamplingParams sp = p == null ? null : p.params();
            putInt(mem, m.mode() - base, r, sp == null ? 0 : sp.isGreedy() ? 1 : 2);
            putInt(mem, m.topK() - base, r, sp == null ? 0 : sp.topK());
            putFloat(mem, m.temperature() - base, r, sp == null ? 1f : (float) Math.max(sp.temperature(), 1e-6));
            putFloat(mem, m.topP() - base, r, sp == null ? 1f : (float) sp.topP());
            putFloat(mem, m.minP() - base, r, sp == null ? 0f : (float) sp.minP());
            mem.set(ValueLayout.JAVA_LONG_UNALIGNED, m.seed() - base + 8L * r, p == null ? 0 : p.seed());
            mem.set(ValueLayout.JAVA_LONG_UNALIGNED, m.step() - base + 8L * r, p == null ? 0 : p.step());
        }
        return new Chunks(chunks, slots);
    }

    private static void putInt(MemorySegment mem, long off, int i, int v) {
        mem.set(ValueLayout.JAVA_INT_UNALIGNED, off + 4L * i, v);
    }

    private static void putFloat(MemorySegment mem, long off, int i, float v) {
        mem.set(ValueLayout.JAVA_FLOAT_UNALIGNED, off + 4L * i, v);
    }

    // ------------------------------------------------------------------ the launches of one pass

    /**
     * Queues a pass of {@code t} rows and {@code segments} segments; {@code logitRows} rows get
     * logits (all rows, from h directly, in a decode pass; else the rows listed in the metadata).
     * A decode pass runs the fused mixer step; any other the conv and the chunked scan.
     */
    private void body(int t, int segments, int logitRows, boolean decode, boolean sample, Chunks chunks, MetaLayout m) {
        final int d = c.dModel(), rin = c.inProjRows(), di = c.innerSize(), i2 = 2 * c.intermediateSize(), v = c.vocabSize();
        final int ch = c.convChannels(), kc = c.dConv(), silu = c.convSilu() ? 1 : 0;
        final int hh = c.nVHeads(), gg = c.nQkHeads(), pp = c.headDim(), nn = c.dState();
        dev.launch(kEmbed, t, 1, 256, 0, new KernelArgs().ptr(w.embedding).ptr(m.tok()).i32(d).ptr(h.address()));
        for (int l = 0; l < c.nLayer(); l++) {
            LlambaCudaWeights.Layer L = w.layers[l];
            long layerOff = l * layerBytes;
            linear(L.inProj(), rin, d, true, h.address(), d, L.inNorm(), STORE, proj.address(), rin, t);
            if (L.inBias() != 0) {
                bias(proj.address(), L.inBias(), t, rin);
            }
            if (decode && t >= splitStepRows && splitStepSupported()) {
                dev.launch(kConvStep, (int) Math.max(1, ((long) t * ch / 4 + 255) / 256), 1, 256, 0, new KernelArgs().ptr(proj.address()).i32(rin).i32(t).ptr(m.segFresh())
                        .ptr(m.segState()).i64(layerOff).ptr(L.convW()).ptr(L.convB()).i32(kc).i32(ch).i32(silu).ptr(xbc.address()));
                dev.launch(kHeads, hh, t, 256, headsSmem, new KernelArgs().ptr(xbc.address()).ptr(proj.address()).i32(rin).ptr(m.segFresh())
                        .ptr(m.segState()).i64(layerOff).i64(ssmOffset).ptr(L.dSkip()).ptr(L.zBias()).i32(hh).i32(gg).i32(pp).i32(nn).i32(ch)
                        .ptr(y.address()));
            } else if (decode) {
                dev.launch(kStep, gg, t, 256, stepSmem, new KernelArgs().ptr(proj.address()).i32(rin).ptr(m.segFresh()).ptr(m.segState())
                        .i64(layerOff).i64(ssmOffset).ptr(L.convW()).ptr(L.convB()).i32(kc).i32(silu).ptr(L.dSkip()).ptr(L.zBias())
                        .i32(hh).i32(gg).i32(pp).i32(nn).i32(ch).ptr(y.address()));
            } else {
                dev.launch(kConv, grid((long) t * ch), 1, 256, 0, new KernelArgs().ptr(proj.address()).i32(rin).i32(t).ptr(m.rowSeg())
                        .ptr(m.segStart()).ptr(m.segFresh()).ptr(m.segState()).i64(layerOff).ptr(L.convW()).ptr(L.convB())
                        .i32(kc).i32(ch).i32(silu).ptr(xbc.address()));
                dev.launch(kWin, grid((long) segments * ch), 1, 256, 0, new KernelArgs().ptr(proj.address()).i32(rin).i32(segments)
                        .ptr(m.segStart()).ptr(m.segLen()).ptr(m.segFresh()).ptr(m.segState()).i64(layerOff).i32(kc).i32(ch));
                dev.launch(kScanChunks, hh, chunks.count(), 256, scanSmem, new KernelArgs().ptr(xbc.address()).ptr(proj.address()).i32(rin)
                        .ptr(m.chunkSeg()).ptr(m.chunkK()).ptr(m.chunkSlot()).ptr(m.segStart()).ptr(m.segLen()).ptr(m.segFresh())
                        .ptr(m.segState()).i64(layerOff).i64(ssmOffset).ptr(L.dSkip()).ptr(L.zBias()).i32(hh).i32(gg).i32(pp).i32(nn)
                        .i32(ch).i32(chunk).ptr(yPart.address()).ptr(scanScratch.address()).ptr(decays.address()).ptr(y.address()));
                if (chunks.slots() > 0) {
                    dev.launch(kScanStates, hh, segments, 256, 0, new KernelArgs().ptr(m.chunkSlot()).ptr(m.segFirstChunk()).ptr(m.segLen())
                            .ptr(m.segState()).i64(layerOff).i64(ssmOffset).i32(hh).i32(pp).i32(nn).i32(chunk).ptr(scanScratch.address())
                            .ptr(decays.address()));
                    dev.launch(kScanFinish, hh, chunks.count(), 256, finishSmem, new KernelArgs().ptr(xbc.address()).ptr(proj.address())
                            .i32(rin).ptr(m.chunkSeg()).ptr(m.chunkK()).ptr(m.chunkSlot()).ptr(m.segStart()).ptr(m.segLen())
                            .ptr(L.zBias()).i32(hh).i32(gg).i32(pp).i32(nn).i32(ch).i32(chunk).ptr(yPart.address())
                            .ptr(scanScratch.address()).ptr(y.address()));
                }
            }
            linear(L.outProj(), d, di, false, y.address(), di, 0, ADD, h.address(), d, t);
            if (L.outBias() != 0) {
                bias(h.address(), L.outBias(), t, d);
            }
            linear(L.gateUp(), i2, d, true, h.address(), d, L.postNorm(), SWIGLU, act.address(), i2 / 2, t);
            linear(L.down(), d, i2 / 2, false, act.address(), i2 / 2, 0, ADD, h.address(), d, t);
        }
        if (logitRows == 0) {
            return;
        }
        if (decode) {
            linear(w.head, v, d, true, h.address(), d, w.finalNorm, STORE, logits.address(), v, logitRows);
        } else {
            dev.launch(kNorm, logitRows, 1, 256, 0, new KernelArgs().ptr(h.address()).i32(d).ptr(m.logitRow()).ptr(w.finalNorm)
                    .f32(c.normEpsilon()).ptr(xn.address()));
            linear(w.head, v, d, false, xn.address(), d, 0, STORE, logits.address(), v, logitRows);
        }
        if (sample) {
            dev.launch(kSample, logitRows, 1, SAMPLE_BLOCK, 0, new KernelArgs().ptr(logits.address()).i64(v).i32(v).ptr(m.mode())
                    .ptr(m.topK()).ptr(m.temperature()).ptr(m.topP()).ptr(m.minP()).ptr(m.seed()).ptr(m.step()).ptr(tokOut.address()));
        }
    }

    private int grid(long n) {
        return (int) Math.max(1, Math.min((n + 255) / 256, (long) dev.multiprocessors() * 16));
    }

    private void bias(long out, long b, int t, int n) {
        dev.launch(kBias, grid((long) t * n), 1, 256, 0, new KernelArgs().ptr(out).ptr(b).i32(t).i32(n).i32(n));
    }

    /** The per-head decode kernel takes d_state in 16-byte pieces, a power of two of them up to 32. */
    private boolean splitStepSupported() {
        int piece = stateType == DType.BF16 ? 8 : 4;
        int n = c.dState();
        return n % piece == 0 && n / piece <= 32 && Integer.bitCount(n / piece) == 1;
    }

    /**
     * Launch choices, for tests and the benchmark: products of up to {@code maxRows} activation
     * rows use the GEMV kernels (0: always cuBLAS), with {@code blocksPerSm} blocks per SM and at
     * least {@code minChunks} 16-byte chunks per lane; decode passes of {@code splitRows} rows or
     * more split the mixer step. Drops the captured graphs.
     */
    void tune(int maxRows, int block, int blocksPerSm, int minChunks, int splitRows) {
        try (Device.Scope _ = dev.enter()) {
            gemvMaxRows = maxRows;
            gemvBlock = block;
            gemvBlocksPerSm = blocksPerSm;
            gemvMinChunks = minChunks;
            splitStepRows = splitRows;
            graphs.values().forEach(dev::destroy);
            graphs.clear();
        }
    }

    void setGemvMaxRows(int rows) {
        tune(rows, gemvBlock, gemvBlocksPerSm, gemvMinChunks, splitStepRows);
    }

    void setSplitStepRows(int rows) {
        tune(gemvMaxRows, gemvBlock, gemvBlocksPerSm, gemvMinChunks, rows);
    }

    String tuning() {
        return "GEMV up to " + gemvMaxRows + " rows, " + gemvBlock + " threads x " + gemvBlocksPerSm + " blocks/SM, >= " + gemvMinChunks
                + " chunks/lane; split decode step from " + splitStepRows + " rows";
    }

    /**
     * out = x·Wᵀ for {@code t} rows of x, W {@code rows × k}. {@code norm}: x is h (f32), normalised
     * with {@code normW} first; otherwise x holds activations in the weight format. {@code epi}:
     * STORE (f32), ADD (f32 +=) or SWIGLU (W's rows are gate/up pairs; out = silu(g)·u in the weight format).
     */
    private void linear(long wAddr, int rows, int k, boolean norm, long x, int ldx, long normW, int epi, long out, int ldo, int t) {
        int tt = t <= 1 ? 1 : t <= 2 ? 2 : 4;
        int smem = 4 * tt * k;
        if (t <= gemvMaxRows && smem <= dev.maxSharedMemoryPerBlock() - 1024) {
            int mode = norm ? (epi == SWIGLU ? NW : NS) : (epi == ADD ? PA : PS);
            if ((norm && epi == ADD) || (!norm && epi == SWIGLU)) {
                throw new IllegalStateException("no GEMV kernel for this prologue and epilogue");
            }
            Kernel kern = kGemv[mode][tt == 1 ? 0 : tt == 2 ? 1 : 2];
            int warps = gemvBlock / 32;
            int units = (rows + 1) / 2;
            int perSm = Math.max(1, Math.min(gemvBlocksPerSm, dev.sharedMemoryPerMultiprocessor() / (smem + 2048)));
            // Warps per row pair: enough that every SM has work, each still with a full row of 16-byte loads per lane.
            int vec = 16 / weightType.bytes();
            int wpu = 1;
            while (wpu < warps && (long) units * wpu < (long) dev.multiprocessors() * perSm * warps
                    && k / vec / (2 * wpu) >= 32 * gemvMinChunks) {
                wpu *= 2;
            }
            int upb = warps / wpu;
            int gridX = Math.max(1, Math.min((units + upb - 1) / upb, dev.multiprocessors() * perSm));
            dev.launch(kern, gridX, 1, gemvBlock, smem, new KernelArgs().ptr(wAddr).i32(rows).i32(k).ptr(x).i32(ldx).ptr(normW)
                    .f32(c.normEpsilon()).ptr(out).i32(ldo).i32(wpu));
            return;
        }
        long in = x;
        int ldIn = ldx;
        if (norm) {
            dev.launch(kNorm, t, 1, 256, 0, new KernelArgs().ptr(x).i32(k).ptr(0).ptr(normW).f32(c.normEpsilon()).ptr(xn.address()));
            in = xn.address();
            ldIn = k;
        }
        if (epi == SWIGLU) {
            // gate/up products in the weight format: BF16 halves what SwiGLU reads (its output is BF16 anyway)
            dev.gemm(true, false, rows, t, k, wAddr, wCuda, k, in, wCuda, ldIn, 0f, gu.address(), wCuda, rows);
            long n = (long) t * (rows / 2);
            dev.launch(kSwiglu, grid(n / 4 + 1), 1, 256, 0, new KernelArgs().ptr(gu.address()).i64(n).ptr(out));
        } else {
            dev.gemm(true, false, rows, t, k, wAddr, wCuda, k, in, wCuda, ldIn, epi == ADD ? 1f : 0f, out, Device.R_32F, ldo);
        }
    }

    /**
     * Device time of one decode step of {@code batch} sequences: the bucket's graph, captured by an
     * earlier forward, replayed {@code reps} times between events (it repeats the last step's work).
     */
    float replayMillis(int batch, int reps) {
        try (Device.Scope _ = dev.enter()) {
            Device.Graph g = graphs.get(bucket(batch));
            if (g == null || metaRows != bucket(batch)) {
                throw new IllegalStateException("replay needs the last pass to be a decode step of batch " + batch + "'s bucket");
            }
            dev.synchronize();
            Device.Event a = dev.record();
            for (int i = 0; i < reps; i++) {
                dev.launch(g);
            }
            Device.Event b = dev.record();
            float ms = dev.millisBetween(a, b) / reps;
            dev.destroy(a);
            dev.destroy(b);
            return ms;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Device.Scope _ = dev.enter()) {
            dev.synchronize();
            for (Device.Graph g : graphs.values()) {
                dev.destroy(g);
            }
            graphs.clear();
            for (DeviceBuffer b : scratch) {
                dev.free(b);
            }
            dev.free(metaHost);
            w.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing device memory of " + name + " failed", e);
        }
        if (ownsDevice) {
            dev.close();
        }
        if (checkpoint != null) {
            checkpoint.close();
        }
    }

    /**
     * Byte offsets of the per-pass metadata for {@code n} rows: per row the token and its segment;
     * per segment its first row, length, fresh flag, first scan chunk and state address; per scan
     * chunk its segment, index in the segment and scratch slot; per logit row its source row and
     * sampling parameters.
     */
    record MetaLayout(int n, long base) {
        long tok() {
            return base;
        }

        long rowSeg() {
            return base + 4L * n;
        }

        long segStart() {
            return base + 8L * n;
        }

        long segLen() {
            return base + 12L * n;
        }

        long segFresh() {
            return base + 16L * n;
        }

        long logitRow() {
            return base + 20L * n;
        }

        long mode() {
            return base + 24L * n;
        }

        long topK() {
            return base + 28L * n;
        }

        long temperature() {
            return base + 32L * n;
        }

        long topP() {
            return base + 36L * n;
        }

        long minP() {
            return base + 40L * n;
        }

        long chunkSeg() {
            return base + 44L * n;
        }

        long chunkK() {
            return base + 48L * n;
        }

        long chunkSlot() {
            return base + 52L * n;
        }

        long segFirstChunk() {
            return base + 56L * n;
        }

        long segState() {
            return base + roundUp(60L * n, 8);
        }

        long seed() {
            return segState() + 8L * n;
        }

        long step() {
            return seed() + 8L * n;
        }

        long bytes() {
            return step() + 8L * n - base;
        }

        static long bytes(int n) {
            return new MetaLayout(n, 0).bytes();
        }
    }
}
