package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.llamba.LlambaArchitecture;
import io.llamba.engine.llamba.LlambaConfig;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.StatePool;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

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
 * neighbouring steps (five launches a layer); larger ones go to cuBLAS with FP32 accumulation
 * (see {@link CudaModel}). The mixer is one fused kernel when every sequence feeds one token
 * (decode), and conv plus a chunked scan otherwise (prefill). Decode passes are captured as CUDA
 * graphs, one per batch-size bucket, and replayed with new per-row metadata.
 */
public final class LlambaCudaModel extends CudaModel {
    /** Largest scan chunk (the config's chunk_size, up to this: the chunk sits in shared memory). */
    private static final int MAX_CHUNK = 64;
    private static final int MAX_CONV = 16;

    private final LlambaConfig c;
    private final LlambaCudaWeights w;
    private final DType stateType;
    private final long convBytes;
    /** Where the SSM state starts in a layer's slot: after the conv window, 16-byte aligned. */
    private final long ssmOffset;
    private final long layerBytes;
    /** Tokens per scan chunk. */
    private final int chunk;
    private final int finishSmem;
    /** Decode passes of at least this many rows split the mixer step (conv, then one block per head). */
    private int splitStepRows = 32;
    /** Decode passes of at least this many rows run as two halves on two streams (see {@link #launchDecode}); off by default: measured slower on an H200. */
    private int overlapRows = Integer.MAX_VALUE;
    /** Launch groups of the first half queued before the second half starts. */
    private int overlapStagger = 2;
    /** Multiprocessors the products of a two-stream decode pass may use (0: all), leaving the rest to the other half's state update. */
    private int overlapGemmSms;
    /** The split decode step with the conv fused into the per-head kernel (when every head has its own qk group). */
    private boolean fuseConv = true;
    /**
     * The fused per-head step with a run of (sequence, head) items per block, the next item's state
     * copied to shared memory while the current one is computed (conv_heads_pipe); 0: one item per
     * block (conv_heads). See {@link #defaultPipelineItems()}.
     */
    private int pipeItems;
    private final int pipeSmem;
    private final int headsSmem;
    private final long slotBytes;
    private final int stepSmem;
    private final int scanSmem;
    private final ModelInfo info;

    private final DeviceBuffer h, proj, xbc, y, act, scratchState, yPart, scanScratch, decays;
    private final Kernel kStep, kConvStep, kHeads, kConvHeads, kConvHeadsPipe, kConv, kWin, kScanChunks, kScanStates, kScanFinish;
    /** Batch-1 decode through every layer in one launch ({@link #launchLayersB1}): the kernel, its layer table and grid barrier. */
    private final Kernel kLayersB1;
    private final DeviceBuffer layerTable, gridBarrier;
    /** Whether batch-1 decode runs every layer in one launch; null: {@link #layersInOneLaunchByDefault}. */
    private Boolean oneLaunchChoice;
    /** The grid of the last one-launch pass (0: launched a step at a time), for {@link #tuning}. */
    private int layersB1Grid;
    /** The scan chunks of the pass whose metadata was written last. */
    private Chunks lastChunks;

    /**
     * @param ck   weights to upload, or null for random weights made on the device from {@code seed}
     * @param json the configuration (for the random weights' distributions)
     */
    LlambaCudaModel(String name, JsonObject json, Device dev, boolean ownsDevice, DType weights, DType state, Checkpoint ck,
                    long seed, boolean graphs) {
        this(name, LlambaConfig.from(json), json, dev, ownsDevice, weights, state, ck, seed, graphs);
    }

    private LlambaCudaModel(String name, LlambaConfig c, JsonObject json, Device dev, boolean ownsDevice, DType weights, DType state,
                            Checkpoint ck, long seed, boolean graphs) {
        super(name, dev, ownsDevice, ck, weights, graphs, c.normEpsilon(), c.dModel(), 2 * c.intermediateSize(), c.vocabSize(),
                MetaLayout.bytes(MAX_PASS_TOKENS));
        this.c = c;
        this.stateType = state;
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
        int e0 = p0 + 2 * n0;
        this.pipeItems = defaultPipelineItems();
        this.pipeSmem = 4 * (2 * (p0 * n0 * stBytes / 4 + 9 * e0 + 2 * p0 + 8) + 2 * p0 + 2 * n0); // see pipeStageFloats in llamba.cu

        LlambaCudaWeights wts = null;
        boolean ok = false;
        try (Device.Scope _ = dev.enter()) {
            checkSupported(dev);
            wts = new LlambaCudaWeights(dev, c, weights);
            if (ck != null) {
                wts.upload(ck);
            } else {
                wts.randomize(new LlambaArchitecture().tensorSpecs(json), seed);
            }
            int t = MAX_PASS_TOKENS;
            int wb = weights.bytes();
            h = buffer(4L * t * c.dModel(), "hidden states");
            proj = buffer(4L * t * c.inProjRows(), "in_proj output");
            xbc = buffer(4L * t * c.convChannels(), "conv output");
            y = buffer((long) wb * t * c.innerSize(), "mixer output");
            act = buffer((long) wb * t * c.intermediateSize(), "SwiGLU output");
            scratchState = buffer(slotBytes, "padding state");
            yPart = buffer(4L * t * c.innerSize(), "scan partial outputs");
            int slots = 2 * t / chunk + 1; // chunks of segments longer than one chunk
            scanScratch = buffer(4L * slots * h0 * p0 * n0, "scan chunk states");
            decays = buffer(4L * slots * h0, "scan chunk decays");
            dev.synchronize();
            String ws = suffix(weights), ss = suffix(state);
            kStep = dev.kernel("ssm_step_" + ws + "_" + ss);
            kConvStep = dev.kernel("conv_step");
            kHeads = dev.kernel("ssm_heads_" + ws + "_" + ss);
            kConvHeads = dev.kernel("conv_heads_" + ws + "_" + ss);
            kConvHeadsPipe = dev.kernel("conv_heads_pipe_" + ws + "_" + ss);
            kConv = dev.kernel("conv_prefill");
            kWin = dev.kernel("conv_window_update");
            kScanChunks = dev.kernel("scan_chunks_" + ws + "_" + ss);
            kScanStates = dev.kernel("scan_states_" + ss);
            kScanFinish = dev.kernel("scan_finish_" + ws);
            kLayersB1 = dev.kernel("layers_b1_" + ws + "_" + ss);
            layerTable = buffer((long) LAYER_PTRS_BYTES * c.nLayer(), "layer table");
            gridBarrier = buffer(GRID_BARRIER_BYTES, "grid barrier");
            dev.zero(gridBarrier, 0, GRID_BARRIER_BYTES);
            ok = true;
        } finally {
            if (!ok) {
                if (wts != null) {
                    wts.close();
                }
                release();
            }
        }
        this.w = wts;

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
        try (Device.Scope _ = dev.enter()) {
            writeLayerTable();
        }
    }

    // ------------------------------------------------------------------ batch 1: every layer in one launch

    /** The grid barrier's counters (llamba.cu's gridBarrier): the arrivals and the generation, on a line of their own. */
    static final int GRID_BARRIER_BYTES = 256;

    /** Bytes of one LayerPtrs record of llamba.cu: ten pointers, then four ints. */
    private static final int LAYER_PTRS_BYTES = 10 * 8 + 4 * 4;

    /**
     * The layer table of {@link #launchLayersB1}: each layer's weight addresses and the K split of each
     * of its products at one row, as {@link #linear} would choose it (the same split, the same sums).
     * Rewritten whenever the GEMV launch choices change.
     */
    private void writeLayerTable() {
        int d = c.dModel(), rin = c.inProjRows(), di = c.innerSize(), i2 = 2 * c.intermediateSize();
        ByteBuffer b = ByteBuffer.allocate(LAYER_PTRS_BYTES * c.nLayer()).order(ByteOrder.LITTLE_ENDIAN);
        for (LlambaCudaWeights.Layer L : w.layers) {
            b.putLong(L.inProj()).putLong(L.inNorm()).putLong(L.outProj()).putLong(L.postNorm()).putLong(L.gateUp()).putLong(L.down())
                    .putLong(L.convW()).putLong(L.convB()).putLong(L.dSkip()).putLong(L.zBias());
            b.putInt(gemvWarpsPerUnit(rin, d, 4 * d)).putInt(gemvWarpsPerUnit(d, di, 4 * di))
                    .putInt(gemvWarpsPerUnit(i2, d, 4 * d)).putInt(gemvWarpsPerUnit(d, i2 / 2, 4 * (i2 / 2)));
        }
        dev.copyToDevice(layerTable, 0, b.array(), 0, b.capacity());
        dev.synchronize();
    }

    /** The longest row of activations a layer's products take (in_proj and gate/up: d_model; out_proj: inner; down: intermediate). */
    private int widestK() {
        return Math.max(Math.max(c.dModel(), c.innerSize()), c.intermediateSize());
    }

    /** Dynamic shared memory of the layers kernel: the widest product's row of activations, or the mixer step's. */
    private int layersB1Smem() {
        return Math.max(stepSmem, 4 * widestK());
    }

    /**
     * Whether a decode pass of {@code t} rows goes through every layer in one launch: one row, every
     * product on the GEMV kernels, no in_proj or out_proj bias (the kernel has no bias step), and
     * enough shared memory.
     */
    boolean layersInOneLaunch(int t) {
        boolean on = oneLaunchChoice != null ? oneLaunchChoice : layersInOneLaunchByDefault();
        if (t != 1 || !on || !usesGemv(1, widestK())) {
            return false;
        }
        return !c.ssmBias() && layersB1Smem() <= dev.maxSharedMemoryPerBlock() - 1024 && c.dConv() - 1 <= MAX_CONV;
    }

    /**
     * Every layer of a one-row decode pass: on a GPU one launch whose grid (sized to be resident all
     * at once) meets at a barrier between the five steps of each layer, instead of five launches per
     * layer; where the blocks of a launch do not run together (the emulator), one launch per step of
     * the same kernel.
     */
    private void launchLayersB1(MetaLayout m) {
        int d = c.dModel(), rin = c.inProjRows(), di = c.innerSize(), i2 = 2 * c.intermediateSize();
        int smem = layersB1Smem();
        int block = gemvBlock();
        int resident = dev.residentBlocksPerSm(kLayersB1, block, smem);
        int phases = 5 * c.nLayer();
        IntFunction<KernelArgs> args = from -> new KernelArgs().ptr(layerTable.address()).i32(from).i32(resident > 0 ? phases : from + 1)
                .ptr(gridBarrier.address()).ptr(h.address()).ptr(proj.address()).ptr(y.address()).ptr(act.address()).i32(d).i32(rin)
                .i32(di).i32(i2).f32(normEps()).ptr(m.segFresh()).ptr(m.segState()).i64(layerBytes).i64(ssmOffset).i32(c.dConv())
                .i32(c.convSilu() ? 1 : 0).i32(c.nVHeads()).i32(c.nQkHeads()).i32(c.headDim()).i32(c.dState()).i32(c.convChannels());
        layersB1Grid = resident > 0 ? dev.multiprocessors() * Math.min(resident, gemvBlocksPerSm()) : 0;
        if (resident > 0) {
            dev.launch(kLayersB1, layersB1Grid, 1, block, smem, args.apply(0));
        } else {
            for (int ph = 0; ph < phases; ph++) {
                dev.launch(kLayersB1, dev.multiprocessors(), 1, block, smem, args.apply(ph));
            }
        }
    }

    /** Batch-1 decode through every layer in one launch or five launches per layer (tests, the benchmark). Drops the captured graphs. */
    void setLayersInOneLaunch(boolean on) {
        try (Device.Scope _ = dev.enter()) {
            oneLaunchChoice = on;
            dropGraphs();
        }
    }

    /** Back to the default choice ({@link #layersInOneLaunchByDefault}). Drops the captured graphs. */
    void resetLayersInOneLaunch() {
        try (Device.Scope _ = dev.enter()) {
            oneLaunchChoice = null;
            dropGraphs();
        }
    }

    /**
     * One launch for the layers from Llamba-8B's width up (d_model 4096). Measured on the H200 against
     * five launches per layer: 8B 3% faster, 3B the same, 1B 9% slower (its products are short, and the
     * separate launches start each one's weights towards L2 during the previous one's tail).
     */
    private boolean layersInOneLaunchByDefault() {
        return c.dModel() >= 4096;
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

    LlambaConfig config() {
        return c;
    }

    /** Bytes of one sequence's state slot. */
    long stateBytes() {
        return slotBytes;
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
        return new CudaStatePool(this, capacity, slotBytes, c.maxContext(), p -> slotBytes, "");
    }

    @Override
    protected CudaState checkState(ForwardBatch.Entry e) {
        if (!(e.state() instanceof CudaState s) || s.pool.model() != this) {
            throw new IllegalArgumentException("state is not a CUDA state of this model");
        }
        s.pool.checkOpen();
        return s;
    }

    @Override
    protected void closeWeights() {
        w.close();
    }

    // ------------------------------------------------------------------ passes

    /** The scan's chunks in a pass: how many, and how many belong to segments of several chunks (scratch slots). */
    private record Chunks(int count, int slots) {
    }

    /**
     * Host-side metadata of a pass, padded to {@code p.n()} rows with the padding state; notes the
     * scan chunks (segments split into runs of at most {@link #chunk} tokens).
     */
    @Override
    protected long writeMeta(Pass p) {
        MetaLayout m = new MetaLayout(p.n(), 0);
        MemorySegment mem = metaHost.segment();
        List<Segment> segs = p.segs();
        int n = p.n();
        int rows = p.rows();
        int seg = 0;
        int chunks = 0;
        int slots = 0;
        for (int si = 0; si < segs.size(); si++) {
            Segment s = segs.get(si);
            for (int i = 0; i < s.length(); i++) {
                putInt(mem, m.rowSeg(), s.row() + i, si);
            }
            putInt(mem, m.segStart(), si, s.row());
            putInt(mem, m.segLen(), si, s.length());
            putInt(mem, m.segFresh(), si, s.state().position == 0 ? 1 : 0);
            putLong(mem, m.segState(), si, s.state().address());
            int nc = (s.length() + chunk - 1) / chunk;
            putInt(mem, m.segFirstChunk(), si, chunks);
            for (int k = 0; k < nc; k++, chunks++) {
                putInt(mem, m.chunkSeg(), chunks, si);
                putInt(mem, m.chunkK(), chunks, k);
                putInt(mem, m.chunkSlot(), chunks, nc > 1 ? slots++ : -1);
            }
            seg++;
        }
        for (int r = rows; r < n; r++) { // padding rows: token 0 on the padding state, fresh each time
            putInt(mem, m.rowSeg(), r, seg + (r - rows));
        }
        for (int si = seg; si < n; si++) {
            int r = rows + (si - seg);
            putInt(mem, m.segStart(), si, r);
            putInt(mem, m.segLen(), si, 1);
            putInt(mem, m.segFresh(), si, 1);
            putLong(mem, m.segState(), si, scratchState.address());
        }
        writeTokensAndSampling(mem, m.sampling(), p);
        lastChunks = new Chunks(chunks, slots);
        return m.bytes();
    }

    // ------------------------------------------------------------------ the launches of one pass

    /**
     * Queues a pass: every row in a decode graph (bucket rows, all sampled), else the pass's rows;
     * logits for the logit rows (all rows, from h directly, in a decode pass; else the rows listed in
     * the metadata). A decode pass runs the mixer's decode step ({@link #launchDecode}); any other the
     * conv and the chunked scan.
     */
    @Override
    protected void launchPass(Pass p, boolean graph) {
        final int t = graph ? p.n() : p.rows();
        if (p.decode()) {
            launchDecode(p, graph, t);
            return;
        }
        final int segments = graph ? p.n() : p.segs().size();
        final Chunks chunks = graph ? null : lastChunks;
        final MetaLayout m = new MetaLayout(p.n(), meta.address());
        final int d = c.dModel(), rin = c.inProjRows(), di = c.innerSize(), i2 = 2 * c.intermediateSize();
        final int ch = c.convChannels(), kc = c.dConv(), silu = c.convSilu() ? 1 : 0;
        final int hh = c.nVHeads(), gg = c.nQkHeads(), pp = c.headDim(), nn = c.dState();
        embed(w.embedding, d, t, m.tok(), h.address());
        for (int l = 0; l < c.nLayer(); l++) {
            LlambaCudaWeights.Layer L = w.layers[l];
            long layerOff = l * layerBytes;
            linear(L.inProj(), rin, d, true, h.address(), d, L.inNorm(), STORE, proj.address(), rin, t);
            if (L.inBias() != 0) {
                bias(proj.address(), L.inBias(), t, rin);
            }
            {
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
        headAndSample(p, graph, w.head, w.finalNorm, d, h.address(), new MetaLayout(p.n(), 0).sampling());
    }

    /**
     * A decode pass (one token per sequence) over rows [0, t). From {@link #overlapRows} rows on it
     * runs as two halves, the second on the device's side stream, started {@link #overlapStagger}
     * launch groups after the first (a group: the embedding, one product with its fused steps, a
     * mixer step, or the head with sampling): the halves drift apart, so that one half's
     * memory-bound state update runs while the other's matrix products keep the tensor cores busy,
     * and the tail of one kernel is filled by the other half's. A row's arithmetic is the same
     * either way (every kernel treats rows independently; cuBLAS products are per row too, with the
     * same shapes in the graph and in direct launches).
     */
    private void launchDecode(Pass p, boolean graph, int t) {
        final MetaLayout m = new MetaLayout(p.n(), meta.address());
        final boolean sample = graph || p.sample();
        if (t >= overlapRows && t >= 2) {
            int a = t / 2;
            List<Runnable> first = decodeGroups(m, 0, a, sample);
            List<Runnable> second = decodeGroups(m, a, t - a, sample);
            int lead = Math.min(overlapStagger, first.size());
            try {
                dev.setGemmSmTarget(overlapGemmSms);
                first.subList(0, lead).forEach(Runnable::run);
                dev.useSideStream(true);
                dev.waitForOtherStream();
                second.forEach(Runnable::run);
                dev.useSideStream(false);
                first.subList(lead, first.size()).forEach(Runnable::run);
                dev.waitForOtherStream();
            } finally {
                dev.useSideStream(false);
                dev.setGemmSmTarget(0);
            }
        } else {
            decodeGroups(m, 0, t, sample).forEach(Runnable::run);
        }
    }

    /** The launches of a decode pass over rows [r0, r0 + t), in groups (each group's launches in order). */
    private List<Runnable> decodeGroups(MetaLayout m, int r0, int t, boolean sample) {
        final int d = c.dModel(), rin = c.inProjRows(), di = c.innerSize(), i2 = 2 * c.intermediateSize();
        final int ch = c.convChannels(), kc = c.dConv(), silu = c.convSilu() ? 1 : 0;
        final int hh = c.nVHeads(), gg = c.nQkHeads(), pp = c.headDim(), nn = c.dState();
        final long wb = weightType.bytes();
        final long hr = h.address() + 4L * r0 * d, pr = proj.address() + 4L * r0 * rin, xr = xbc.address() + 4L * r0 * ch;
        final long yr = y.address() + wb * r0 * di, ar = act.address() + wb * r0 * (i2 / 2);
        final long fresh = m.segFresh() + 4L * r0, states = m.segState() + 8L * r0;
        List<Runnable> g = new ArrayList<>();
        g.add(() -> embed(w.embedding, d, t, m.tok() + 4L * r0, hr));
        if (r0 == 0 && layersInOneLaunch(t)) {
            g.add(() -> launchLayersB1(m));
            g.add(() -> decodeHeadAndSample(r0, t, sample, w.head, w.finalNorm, d, hr, new MetaLayout(m.n(), 0).sampling()));
            return g;
        }
        for (int l = 0; l < c.nLayer(); l++) {
            final LlambaCudaWeights.Layer L = w.layers[l];
            final long layerOff = l * layerBytes;
            g.add(() -> {
                linear(L.inProj(), rin, d, true, hr, d, L.inNorm(), STORE, pr, rin, t, r0);
                if (L.inBias() != 0) {
                    bias(pr, L.inBias(), t, rin);
                }
            });
            g.add(() -> {
                if (t >= splitStepRows && splitStepSupported() && fuseConv && hh == gg && pipeItems > 0 && pipeSupported()) {
                    int grid = (t * hh + pipeItems - 1) / pipeItems;
                    dev.launch(kConvHeadsPipe, grid, 1, 256, pipeSmem, new KernelArgs().ptr(pr).i32(rin).ptr(fresh).ptr(states).i64(layerOff)
                            .i64(ssmOffset).ptr(L.convW()).ptr(L.convB()).i32(silu).ptr(L.dSkip()).ptr(L.zBias()).i32(hh).i32(pp).i32(nn)
                            .i32(ch).ptr(yr).i32(t).i32(pipeItems));
                } else if (t >= splitStepRows && splitStepSupported() && fuseConv && hh == gg && kc - 1 <= MAX_CONV) {
                    dev.launch(kConvHeads, hh, t, 256, headsSmem, new KernelArgs().ptr(pr).i32(rin).ptr(fresh).ptr(states).i64(layerOff)
                            .i64(ssmOffset).ptr(L.convW()).ptr(L.convB()).i32(kc).i32(silu).ptr(L.dSkip()).ptr(L.zBias()).i32(hh).i32(gg)
                            .i32(pp).i32(nn).i32(ch).ptr(yr));
                } else if (t >= splitStepRows && splitStepSupported()) {
                    dev.launch(kConvStep, (int) Math.max(1, ((long) t * ch / 4 + 255) / 256), 1, 256, 0, new KernelArgs().ptr(pr).i32(rin).i32(t)
                            .ptr(fresh).ptr(states).i64(layerOff).ptr(L.convW()).ptr(L.convB()).i32(kc).i32(ch).i32(silu).ptr(xr));
                    dev.launch(kHeads, hh, t, 256, headsSmem, new KernelArgs().ptr(xr).ptr(pr).i32(rin).ptr(fresh).ptr(states).i64(layerOff)
                            .i64(ssmOffset).ptr(L.dSkip()).ptr(L.zBias()).i32(hh).i32(gg).i32(pp).i32(nn).i32(ch).ptr(yr));
                } else {
                    dev.launch(kStep, gg, t, 256, stepSmem, new KernelArgs().ptr(pr).i32(rin).ptr(fresh).ptr(states).i64(layerOff)
                            .i64(ssmOffset).ptr(L.convW()).ptr(L.convB()).i32(kc).i32(silu).ptr(L.dSkip()).ptr(L.zBias()).i32(hh).i32(gg)
                            .i32(pp).i32(nn).i32(ch).ptr(yr));
                }
            });
            g.add(() -> {
                linear(L.outProj(), d, di, false, yr, di, 0, ADD, hr, d, t, r0);
                if (L.outBias() != 0) {
                    bias(hr, L.outBias(), t, d);
                }
            });
            g.add(() -> linear(L.gateUp(), i2, d, true, hr, d, L.postNorm(), SWIGLU, ar, i2 / 2, t, r0));
            g.add(() -> linear(L.down(), d, i2 / 2, false, ar, i2 / 2, 0, ADD, hr, d, t, r0));
        }
        g.add(() -> decodeHeadAndSample(r0, t, sample, w.head, w.finalNorm, d, hr, new MetaLayout(m.n(), 0).sampling()));
        return g;
    }

    /**
     * conv_heads_pipe copies 16-byte runs (P, N, the conv channels and in_proj's rows multiples of
     * four floats), convolves over d_conv 4 with a thread per x, B and C channel of the head, and
     * keeps two stages in shared memory.
     */
    private boolean pipeSupported() {
        int pp = c.headDim(), nn = c.dState();
        return c.dConv() == 4 && pp % 4 == 0 && nn % 4 == 0 && c.convChannels() % 4 == 0 && c.inProjRows() % 4 == 0
                && pp + 2 * nn <= 256 && pipeSmem <= dev.maxSharedMemoryPerBlock();
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
            splitStepRows = splitRows;
            tuneGemv(maxRows, block, blocksPerSm, minChunks);
            writeLayerTable();
        }
    }

    void setGemvMaxRows(int rows) {
        tune(rows, gemvBlock(), gemvBlocksPerSm(), gemvMinChunks(), splitStepRows);
    }

    void setSplitStepRows(int rows) {
        tune(gemvMaxRows(), gemvBlock(), gemvBlocksPerSm(), gemvMinChunks(), rows);
    }

    /**
     * Large decode batches: from {@code rows} rows on, two halves on two streams, the second started
     * {@code stagger} launch groups after the first (rows 0 or above the largest pass: never); {@code fuse}: the
     * conv step fused into the per-head state update. Drops the captured graphs.
     */
    void setDecodeOverlap(int rows, int stagger, boolean fuse) {
        setDecodeOverlap(rows, stagger, fuse, 0);
    }

    /**
     * {@link #setDecodeOverlap(int, int, boolean)}, the two halves' products limited to {@code gemmSms}
     * multiprocessors (0: all): cuBLAS's products otherwise fill every SM, and the other half's state
     * update can only run between them.
     */
    void setDecodeOverlap(int rows, int stagger, boolean fuse, int gemmSms) {
        try (Device.Scope _ = dev.enter()) {
            overlapRows = rows <= 0 ? Integer.MAX_VALUE : rows;
            overlapStagger = Math.max(0, stagger);
            overlapGemmSms = Math.max(0, gemmSms);
            fuseConv = fuse;
            dropGraphs();
        }
    }

    /**
     * Runs of 4 items per block with BF16 state, one item per block with F32 state. Measured on an
     * H100 at batch 256 to 1024 (bench-gpu, docs/benchmarks/gpu.md): with BF16 state the pipelined
     * runs took 3-5 % less per decode step; with F32 state (twice the bytes per item, 4 blocks per
     * SM for the shared memory of two stages) they were up to 2 % slower.
     */
    int defaultPipelineItems() {
        return stateType == DType.BF16 ? 4 : 0;
    }

    /**
     * The fused per-head step (when it applies) as conv_heads_pipe with {@code items} consecutive
     * (sequence, head) items per block, copying the next item while it computes the current, or
     * with 0 as conv_heads, one item per block. Drops the captured graphs.
     */
    void setPipelineItems(int items) {
        try (Device.Scope _ = dev.enter()) {
            pipeItems = Math.max(0, items);
            dropGraphs();
        }
    }

    String tuning() {
        String oneLaunch = layersInOneLaunch(1) ? "; batch 1: layers in one launch" + (layersB1Grid > 0 ? " (" + layersB1Grid + " blocks)" : "") : "";
        return gemvTuning() + oneLaunch + "; split decode step from " + splitStepRows + " rows"
                + (fuseConv ? " (conv fused" + (pipeItems > 0 && pipeSupported() ? ", pipelined over " + pipeItems + " items" : "") + ")" : "") + "; two streams from "
                + (overlapRows == Integer.MAX_VALUE ? "never" : overlapRows + " rows, stagger " + overlapStagger
                + (overlapGemmSms > 0 ? ", products on " + overlapGemmSms + " SMs" : ""));
    }

    /**
     * The metadata of a pass for {@code n} rows (see {@link PassLayout}); Llamba's own fields: per row
     * its segment; per segment its first row, length and fresh flag; per scan chunk its segment,
     * index in the segment and scratch slot; per segment its first scan chunk.
     */
    static final class MetaLayout extends PassLayout {
        MetaLayout(int n, long base) {
            super(n, base, 8);
        }

        long rowSeg() {
            return own(0);
        }

        long segStart() {
            return own(1);
        }

        long segLen() {
            return own(2);
        }

        long segFresh() {
            return own(3);
        }

        long chunkSeg() {
            return own(4);
        }

        long chunkK() {
            return own(5);
        }

        long chunkSlot() {
            return own(6);
        }

        long segFirstChunk() {
            return own(7);
        }

        static long bytes(int n) {
            return new MetaLayout(n, 0).bytes();
        }
    }
}
