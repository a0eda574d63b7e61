package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.llama.LlamaArchitecture;
import io.llamba.engine.llama.LlamaConfig;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.ModelException;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.StatePool;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-3.x Transformer ({@code model_type} "llama") with every step on a CUDA device: weights
 * resident (F32 or BF16), the KV cache in device state slots (F32 or BF16), logits and sampling on
 * the device. A pass over up to {@link #MAX_PASS_TOKENS} token rows:
 *
 * <pre>
 *   embed, RoPE angles → per layer: q·k·v (RMSNorm fused, one stacked matrix) → RoPE, keys and values into the cache
 *         → attention → o_proj (+= h) → gate·up (RMSNorm, SwiGLU fused) → down (+= h)
 *         → head (final RMSNorm) → sample
 * </pre>
 *
 * The products, the head, sampling and the decode graphs are the CUDA backend's shared ones
 * ({@link CudaModel}), as Llamba uses them. Attention reads only the cache (every row's key and
 * value are written before it runs): single-token rows (decode) go to a kernel that splits a long
 * context over several blocks per kv head; prompt chunks to a tiled kernel (up to 64 query vectors
 * of a kv head's group against 64 keys at a time, causal within the chunk and over the cached
 * prefix). A sequence's cache is one slot sized for its pool's context limit, position-major
 * ({@code [position][layer][k|v][kv head][head_dim]}), so a snapshot copies one contiguous prefix.
 */
public final class LlamaCudaModel extends CudaModel {
    /** Keys per decode split at least (one split per ATT_CH-key chunk of the kernel, or more). */
    private static final int DECODE_MIN_KEYS = 128;
    /** Most splits of one decode row. */
    private static final int DECODE_MAX_SPLITS = 64;
    /** Keys per prefill split at least (eight 64-key chunks). */
    private static final int PREFILL_MIN_KEYS = 512;
    private static final int PREFILL_MAX_SPLITS = 16;
    /** Split records the pass may write (each holds every query head of one row). */
    private static final int PART_SLOTS = 4096;
    // The kernels' tile sizes (llama.cu).
    private static final int ATT_THREADS = 128, ATT_CH = 128, ATT_MAXG = 4;
    private static final int PF_THREADS = 256, PF_QV = 64, PF_KC = 64, PF_P = 68;
    private static final int MAX_HEAD_DIM = 128;

    private final LlamaConfig c;
    private final LlamaCudaWeights w;
    private final DType kvType;
    /** Cache elements of one position (every layer's keys and values) and of one layer's. */
    private final long perPos;
    private final long perLayer;
    private final long perPosBytes;
    private final int decodeSmem;
    private final int prefillSmem;
    private final float scale;
    private final ModelInfo info;

    private final DeviceBuffer h, qkv, att, act, cosT, sinT, invFreq, part, padState;
    private final Kernel kAngles, kRope, kDecode, kPrefill, kCombine;

    /** What the metadata of the last pass planned for its launches. */
    private record Plan(int decodeRows, int decodeSplits, int tiles, int prefillSplits, boolean combine) {
    }

    private Plan plan;

    /**
     * @param ck   weights to upload, or null for random weights made on the device from {@code seed}
     * @param json the configuration (for the random weights' distributions)
     */
    LlamaCudaModel(String name, JsonObject json, Device dev, boolean ownsDevice, DType weights, DType kv, Checkpoint ck, long seed,
                   boolean graphs) {
        this(name, LlamaConfig.from(json), json, dev, ownsDevice, weights, kv, ck, seed, graphs);
    }

    private LlamaCudaModel(String name, LlamaConfig c, JsonObject json, Device dev, boolean ownsDevice, DType weights, DType kv,
                           Checkpoint ck, long seed, boolean graphs) {
        super(name, dev, ownsDevice, ck, weights, graphs, c.rmsNormEps(), c.hiddenSize(), 2 * c.intermediateSize(), c.vocabSize(),
                MetaLayout.bytes(MAX_PASS_TOKENS));
        this.c = c;
        this.kvType = kv;
        int hd = c.headDim();
        this.perLayer = 2L * c.kvSize();
        this.perPos = perLayer * c.numLayers();
        this.perPosBytes = perPos * kv.bytes();
        // Lanes per key in the decode kernel, as it chooses them (llama.cu, attnDecode).
        int piece = 16 / kv.bytes();
        boolean pieces = hd % piece == 0 && hd / piece <= 32 && Integer.bitCount(hd / piece) == 1;
        int tpk = pieces ? hd / piece : 1;
        while (!pieces && tpk * Math.max(piece, 4) < hd) {
            tpk *= 2;
        }
        this.decodeSmem = 4 * (ATT_MAXG * ATT_CH + (ATT_THREADS / tpk) * ATT_MAXG * hd);
        this.prefillSmem = 4 * (2 * hd * PF_P + PF_KC * hd + PF_KC * PF_P);
        this.scale = (float) (1.0 / Math.sqrt(hd));

        LlamaCudaWeights wts = null;
        boolean ok = false;
        try (Device.Scope _ = dev.enter()) {
            checkSupported(dev);
            wts = new LlamaCudaWeights(dev, c, weights);
            if (ck != null) {
                wts.upload(ck);
            } else {
                wts.randomize(new LlamaArchitecture().tensorSpecs(json), seed);
            }
            int t = MAX_PASS_TOKENS;
            int wb = weights.bytes();
            int half = hd / 2;
            h = buffer(4L * t * c.hiddenSize(), "hidden states");
            qkv = buffer(4L * t * (c.qSize() + 2L * c.kvSize()), "q, k and v");
            att = buffer((long) wb * t * c.qSize(), "attention output");
            act = buffer((long) wb * t * c.intermediateSize(), "SwiGLU output");
            cosT = buffer(4L * t * half, "RoPE cosines");
            sinT = buffer(4L * t * half, "RoPE sines");
            invFreq = buffer(8L * half, "RoPE inverse frequencies");
            part = buffer(4L * PART_SLOTS * c.numHeads() * (hd + 2), "attention split records");
            padState = buffer(roundUp(perPosBytes, 256), "padding rows' cache position");
            ByteBuffer f = ByteBuffer.allocate(8 * half).order(ByteOrder.nativeOrder());
            for (double v : c.inverseFrequencies()) {
                f.putDouble(v);
            }
            dev.copyToDevice(invFreq, 0, f.array(), 0, f.capacity());
            dev.synchronize();
            String ws = suffix(weights), ks = suffix(kv);
            kAngles = dev.kernel("rope_angles");
            kRope = dev.kernel("rope_store_" + ks);
            kDecode = dev.kernel("attn_decode_" + ks + "_" + ws);
            kPrefill = dev.kernel("attn_prefill_" + ks + "_" + ws);
            kCombine = dev.kernel("attn_combine_" + ws);
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

        long d = c.hiddenSize();
        long params = (long) c.vocabSize() * d * (c.tieWordEmbeddings() ? 1 : 2) + d
                + (long) c.numLayers() * (d * (c.qSize() + 2L * c.kvSize()) + d * c.qSize() + 3L * c.intermediateSize() * d + 2 * d);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("num_attention_heads", c.numHeads());
        details.put("num_key_value_heads", c.numKvHeads());
        details.put("head_dim", hd);
        details.put("intermediate_size", c.intermediateSize());
        details.put("rope", c.rope().describe());
        details.put("tie_word_embeddings", c.tieWordEmbeddings());
        details.put("weight_dtype", weights.name());
        details.put("kv_cache", kv.name() + ", one device region per sequence sized at the pool's context limit");
        details.put("kv_cache_bytes_per_token", perPosBytes);
        details.put("cuda_graphs", graphs);
        details.put("max_pass_tokens", MAX_PASS_TOKENS);
        this.info = new ModelInfo(name, LlamaArchitecture.MODEL_TYPE, c.vocabSize(), c.hiddenSize(), c.numLayers(), params, w.bytes(),
                perPosBytes * c.maxPositionEmbeddings(), c.maxPositionEmbeddings(), "cuda",
                dev.description() + ", weights " + weights + ", KV cache " + kv, details);
    }

    /**
     * Loads a checkpoint onto CUDA device 0 (the caller has checked {@link CudaAvailability}).
     * Weights: as {@link LoadOptions#deviceWeights()} says, else BF16 for a BF16 checkpoint and F32
     * otherwise; the KV cache: as {@link LoadOptions#deviceState()} says, else the weights' format.
     */
    public static LlamaCudaModel load(String name, JsonObject json, Checkpoint ck, LoadOptions options) {
        byte[] fatbin = CudaAvailability.fatbin();
        if (fatbin == null) {
            throw new ModelException("this build of the engine has no GPU kernels (nvcc was not found when it was built)");
        }
        DType weights = options.deviceWeights();
        if (weights == null) {
            weights = ck.get("model.embed_tokens.weight").dtype() == DType.BF16 ? DType.BF16 : DType.F32;
        }
        DType kv = options.deviceState() == null ? weights : options.deviceState();
        CudaDevice dev = CudaDevice.open(0, fatbin);
        return new LlamaCudaModel(name, json, dev, true, weights, kv, ck, 0, true);
    }

    /** A model of {@code json}'s shape with random weights made on the device (benchmarks). */
    static LlamaCudaModel random(String name, JsonObject json, Device dev, DType weights, DType kv, long seed) {
        return new LlamaCudaModel(name, json, dev, false, weights, kv, null, seed, true);
    }

    private void checkSupported(Device d) {
        String why = null;
        int hd = c.headDim();
        if (hd > MAX_HEAD_DIM) {
            why = "head_dim " + hd + " > " + MAX_HEAD_DIM;
        } else if (c.groupSize() > PF_QV) {
            why = c.groupSize() + " query heads per kv head > " + PF_QV;
        } else if (prefillSmem > d.maxSharedMemoryPerBlock() - 1024) {
            why = "prefill attention needs " + prefillSmem + " bytes of shared memory; the device allows " + d.maxSharedMemoryPerBlock();
        } else if (decodeSmem > d.maxSharedMemoryPerBlock() - 1024) {
            why = "decode attention needs " + decodeSmem + " bytes of shared memory";
        }
        if (why != null) {
            throw new ModelException("this configuration is not supported by the CUDA kernels: " + why);
        }
    }

    LlamaConfig config() {
        return c;
    }

    DType kvType() {
        return kvType;
    }

    /** Bytes of one position of one sequence's cache (every layer's keys and values). */
    long kvBytesPerToken() {
        return perPosBytes;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public StatePool createStatePool(int capacity) {
        return createStatePool(capacity, c.maxPositionEmbeddings());
    }

    /** Slots whose KV cache holds up to {@code maxContext} tokens (at most the model's max_position_embeddings). */
    @Override
    public StatePool createStatePool(int capacity, int maxContext) {
        if (maxContext < 1) {
            throw new IllegalArgumentException("context limit must be at least 1 token, got " + maxContext);
        }
        int limit = Math.min(maxContext, c.maxPositionEmbeddings());
        return new CudaStatePool(this, capacity, roundUp(perPosBytes * limit, 256), limit, p -> p * perPosBytes,
                " at " + limit + " tokens of KV cache");
    }

    @Override
    protected CudaState checkState(ForwardBatch.Entry e) {
        if (!(e.state() instanceof CudaState s) || s.pool.model() != this) {
            throw new IllegalArgumentException("state is not a CUDA state of this model");
        }
        s.pool.checkOpen();
        if ((long) s.position + e.length() > s.pool.contextLimit()) {
            throw new IllegalArgumentException("a sequence at position " + s.position + " cannot take " + e.length()
                    + " more tokens: its KV cache holds at most " + s.pool.contextLimit() + " tokens (the context limit)");
        }
        return s;
    }

    @Override
    protected void closeWeights() {
        w.close();
    }

    // ------------------------------------------------------------------ metadata

    /** Splits of a decode row of {@code keys} keys when the pass has {@code rows} decode rows: enough blocks to fill the device. */
    private int decodeSplits(int rows) {
        long blocks = (long) c.numKvHeads() * ((c.groupSize() + ATT_MAXG - 1) / ATT_MAXG) * rows;
        return (int) Math.max(1, Math.min(DECODE_MAX_SPLITS, (4L * dev.multiprocessors() + blocks - 1) / blocks));
    }

    /** Query rows per prefill tile: the tile's vectors are rows × the query heads of a kv head. */
    private int tileRows() {
        return Math.max(1, PF_QV / c.groupSize());
    }

    @Override
    protected long writeMeta(Pass p) {
        MetaLayout m = new MetaLayout(p.n(), 0);
        MemorySegment mem = metaHost.segment();
        List<Segment> segs = p.segs();
        int n = p.n();
        // Rows: segment, position; single-token segments attend with the decode kernel, others in tiles.
        int decodeRows = 0;
        int tiles = 0;
        int rt = tileRows();
        for (int si = 0; si < segs.size(); si++) {
            Segment s = segs.get(si);
            putLong(mem, m.segState(), si, s.state().address());
            for (int i = 0; i < s.length(); i++) {
                putInt(mem, m.rowSeg(), s.row() + i, si);
                putInt(mem, m.rowPos(), s.row() + i, s.state().position + i);
            }
            if (s.length() == 1) {
                putInt(mem, m.decRows(), decodeRows++, s.row());
            } else {
                for (int i = 0; i < s.length(); i += rt) {
                    putInt(mem, m.tileRow0(), tiles, s.row() + i);
                    putInt(mem, m.tileRows(), tiles, Math.min(rt, s.length() - i));
                    tiles++;
                }
            }
        }
        for (int r = p.rows(); r < n; r++) { // padding rows of a decode graph: position 0 of a scratch cache
            int si = segs.size() + (r - p.rows());
            putLong(mem, m.segState(), si, padState.address());
            putInt(mem, m.rowSeg(), r, si);
            putInt(mem, m.rowPos(), r, 0);
            putInt(mem, m.decRows(), decodeRows++, r);
        }
        // Splits of the keys: decode rows as the device needs blocks; prompt tiles when there are few of them.
        int ds = decodeSplits(Math.max(1, decodeRows));
        int ps = 1;
        int prefillRows = 0;
        for (Segment s : segs) {
            prefillRows += s.length() > 1 ? s.length() : 0;
        }
        if (tiles > 0) {
            long blocks = (long) c.numKvHeads() * tiles;
            ps = (int) Math.max(1, Math.min(PREFILL_MAX_SPLITS, (2L * dev.multiprocessors() + blocks - 1) / blocks));
            ps = Math.max(1, Math.min(ps, (PART_SLOTS - decodeRows * ds) / Math.max(1, prefillRows)));
        }
        int slot = 0;
        boolean combine = false;
        for (Segment s : segs) {
            if (s.length() == 1) {
                int keys = s.state().position + 1;
                int ns = Math.min(ds, (keys + DECODE_MIN_KEYS - 1) / DECODE_MIN_KEYS);
                putInt(mem, m.rowSplits(), s.row(), ns);
                putInt(mem, m.rowPart(), s.row(), slot);
                if (ns > 1) {
                    slot += ns;
                    combine = true;
                }
            } else {
                for (int i = 0; i < s.length(); i += rt) {
                    int nr = Math.min(rt, s.length() - i);
                    int keys = s.state().position + i + nr;
                    int ns = Math.min(ps, (keys + PREFILL_MIN_KEYS - 1) / PREFILL_MIN_KEYS);
                    for (int j = 0; j < nr; j++) {
                        putInt(mem, m.rowSplits(), s.row() + i + j, ns);
                        putInt(mem, m.rowPart(), s.row() + i + j, slot);
                        if (ns > 1) {
                            slot += ns;
                            combine = true;
                        }
                    }
                }
            }
        }
        for (int r = p.rows(); r < n; r++) {
            putInt(mem, m.rowSplits(), r, 1);
            putInt(mem, m.rowPart(), r, 0);
        }
        if (slot > PART_SLOTS) {
            throw new IllegalStateException("attention split records overflow: " + slot + " > " + PART_SLOTS);
        }
        writeTokensAndSampling(mem, m.sampling(), p);
        plan = new Plan(decodeRows, ds, tiles, ps, combine);
        return m.bytes();
    }

    // ------------------------------------------------------------------ the launches of one pass

    @Override
    protected void launchPass(Pass p, boolean graph) {
        final int t = graph ? p.n() : p.rows();
        final Plan pl = graph ? new Plan(p.n(), decodeSplits(p.n()), 0, 1, true) : plan;
        final MetaLayout m = new MetaLayout(p.n(), meta.address());
        final int d = c.hiddenSize(), hd = c.headDim(), half = hd / 2, heads = c.numHeads(), kvh = c.numKvHeads();
        final int qs = c.qSize(), r = qs + 2 * c.kvSize(), inter = c.intermediateSize();
        final int hb = (c.groupSize() + ATT_MAXG - 1) / ATT_MAXG;
        embed(w.embedding, d, t, m.tok(), h.address());
        dev.launch(kAngles, grid((long) t * half), 1, 256, 0, new KernelArgs().ptr(m.rowPos()).ptr(invFreq.address()).i32(t).i32(half)
                .ptr(cosT.address()).ptr(sinT.address()));
        for (int l = 0; l < c.numLayers(); l++) {
            LlamaCudaWeights.Layer L = w.layers[l];
            long layerOff = l * perLayer;
            linear(L.qkv(), r, d, true, h.address(), d, L.inNorm(), STORE, qkv.address(), r, t);
            dev.launch(kRope, t, 1, 128, 0, new KernelArgs().ptr(qkv.address()).i32(r).ptr(cosT.address()).ptr(sinT.address())
                    .ptr(m.rowSeg()).ptr(m.rowPos()).ptr(m.segState()).i64(layerOff).i64(perPos).i32(heads).i32(kvh).i32(hd));
            if (pl.decodeRows() > 0) {
                dev.launch(kDecode, kvh * hb * pl.decodeSplits(), pl.decodeRows(), ATT_THREADS, decodeSmem, new KernelArgs()
                        .ptr(qkv.address()).i32(r).ptr(m.decRows()).ptr(m.rowSeg()).ptr(m.rowPos()).ptr(m.rowSplits()).ptr(m.rowPart())
                        .ptr(m.segState()).i64(layerOff).i64(perPos).i32(heads).i32(kvh).i32(hd).f32(scale).i32(pl.decodeSplits())
                        .ptr(part.address()).ptr(att.address()).i32(qs));
            }
            if (pl.tiles() > 0) {
                dev.launch(kPrefill, kvh * pl.prefillSplits(), pl.tiles(), PF_THREADS, prefillSmem, new KernelArgs()
                        .ptr(qkv.address()).i32(r).ptr(m.tileRow0()).ptr(m.tileRows()).ptr(m.rowSeg()).ptr(m.rowPos()).ptr(m.rowSplits())
                        .ptr(m.rowPart()).ptr(m.segState()).i64(layerOff).i64(perPos).i32(heads).i32(kvh).i32(hd).f32(scale)
                        .i32(pl.prefillSplits()).ptr(part.address()).ptr(att.address()).i32(qs));
            }
            if (pl.combine()) {
                dev.launch(kCombine, heads, t, 128, 0, new KernelArgs().ptr(m.rowSplits()).ptr(m.rowPart()).ptr(part.address()).i32(heads)
                        .i32(hd).ptr(att.address()).i32(qs));
            }
            linear(L.o(), d, qs, false, att.address(), qs, 0, ADD, h.address(), d, t);
            linear(L.gateUp(), 2 * inter, d, true, h.address(), d, L.postNorm(), SWIGLU, act.address(), inter, t);
            linear(L.down(), d, inter, false, act.address(), inter, 0, ADD, h.address(), d, t);
        }
        headAndSample(p, graph, w.head, w.finalNorm, d, h.address(), new MetaLayout(p.n(), 0).sampling());
    }

    /** Launch choices for tests: products of up to {@code maxRows} rows through the GEMV kernels. */
    void setGemvMaxRows(int rows) {
        tuneGemv(rows, gemvBlock(), gemvBlocksPerSm(), gemvMinChunks());
    }

    /**
     * The metadata of a pass for {@code n} rows (see {@link PassLayout}); Llama's own fields, per row:
     * its segment, position, key splits and first split record; the rows attending with the decode
     * kernel; the prompt tiles (first row, rows).
     */
    static final class MetaLayout extends PassLayout {
        MetaLayout(int n, long base) {
            super(n, base, 7);
        }

        long rowSeg() {
            return own(0);
        }

        long rowPos() {
            return own(1);
        }

        long rowSplits() {
            return own(2);
        }

        long rowPart() {
            return own(3);
        }

        long decRows() {
            return own(4);
        }

        long tileRow0() {
            return own(5);
        }

        long tileRows() {
            return own(6);
        }

        static long bytes(int n) {
            return new MetaLayout(n, 0).bytes();
        }
    }
}
