package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.model.DeviceSampling;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.TokenPick;
import io.llamba.engine.sampling.SamplingParams;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Map;

/**
 * What every model on the CUDA backend shares: the device and its scratch, a forward pass as
 * launches over up to {@link #MAX_PASS_TOKENS} token rows (longer batches run as several passes),
 * the matrix products (GEMV kernels that read each weight once for up to four rows, with the
 * neighbouring RMSNorm, residual add or SwiGLU fused; cuBLAS with FP32 accumulation above), the
 * head and device sampling, and decode passes captured as CUDA graphs, one per batch-size bucket,
 * replayed with new per-row metadata. An architecture supplies its metadata and its launches.
 */
abstract class CudaModel implements Model, DeviceSampling {
    private static final System.Logger LOG = System.getLogger(CudaModel.class.getName());

    /** Token rows per pass; longer batches run as several passes. Bounds the scratch memory. */
    public static final int MAX_PASS_TOKENS = 1024;
    /** Batch-size buckets of the decode graphs: a batch is padded to the next one. */
    static final int[] BUCKETS = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024};
    static final int SAMPLE_BLOCK = 1024;
    private static final int NS = 0, PS = 1, PA = 2, NW = 3;
    private static final String[] GEMV_TAGS = {"ns", "ps", "pa", "nw"};
    static final int STORE = 0, ADD = 1, SWIGLU = 2;

    protected final String name;
    protected final Device dev;
    private final boolean ownsDevice;
    private final Checkpoint checkpoint;
    protected final DType weightType;
    protected final int wCuda;
    protected final boolean graphsEnabled;
    private final float normEps;
    private final int vocab;

    /** Products of at most this many rows use the GEMV kernels, larger ones cuBLAS (measured faster from 2 rows). */
    private int gemvMaxRows = 1;
    /** GEMV threads per block and blocks per SM. */
    private int gemvBlock = 512;
    private int gemvBlocksPerSm = 2;
    /** Fewest 16-byte chunks per lane and row when K is split across warps. */
    private int gemvMinChunks = 4;

    private final List<DeviceBuffer> scratch = new ArrayList<>();
    protected final DeviceBuffer xn, gu, logits, tokOut, meta;
    protected final HostBuffer metaHost;
    private final int[] tokHost = new int[MAX_PASS_TOKENS];
    private final Map<Integer, Device.Graph> graphs = new HashMap<>();
    /** Rows of the metadata now on the device (a graph may only be replayed over its own bucket's). */
    private int metaRows = -1;
    protected final Kernel kEmbed, kNorm, kSwiglu, kBias, kSample;
    private final Kernel[][] kGemv = new Kernel[4][3];
    private boolean closed;

    /**
     * Allocates the scratch every architecture uses ({@code widest} values of a row in the
     * normalised input, {@code gateUp} values of the gate and up products, {@code vocab} logits)
     * and {@code metaBytes} of per-pass metadata, and finds the shared kernels. A subclass whose
     * own constructor fails after this must call {@link #release()}.
     */
    CudaModel(String name, Device dev, boolean ownsDevice, Checkpoint checkpoint, DType weights, boolean graphs, float normEps,
              int widest, int gateUp, int vocab, long metaBytes) {
        this.name = name;
        this.dev = dev;
        this.ownsDevice = ownsDevice;
        this.checkpoint = checkpoint;
        this.weightType = weights;
        this.wCuda = weights == DType.BF16 ? Device.R_16BF : Device.R_32F;
        this.graphsEnabled = graphs;
        this.normEps = normEps;
        this.vocab = vocab;
        HostBuffer mh = null;
        boolean ok = false;
        try (Device.Scope _ = dev.enter()) {
            int t = MAX_PASS_TOKENS;
            int wb = weights.bytes();
            xn = buffer((long) wb * t * widest, "normalised hidden states");
            gu = buffer((long) wb * t * gateUp, "gate and up output");
            logits = buffer(4L * t * vocab, "logits");
            tokOut = buffer(4L * t, "sampled tokens");
            meta = buffer(metaBytes, "pass metadata");
            mh = dev.allocateHost(metaBytes);
            String ws = suffix(weights);
            kEmbed = dev.kernel("embed_" + ws);
            kNorm = dev.kernel("rmsnorm_rows_" + ws);
            kSwiglu = dev.kernel("swiglu_rows_" + ws);
            kBias = dev.kernel("add_bias");
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
                for (DeviceBuffer b : scratch) {
                    dev.free(b);
                }
                if (mh != null) {
                    dev.free(mh);
                }
                if (ownsDevice) {
                    dev.close();
                }
            }
        }
        this.metaHost = mh;
    }

    /** Scratch device memory, zeroed, freed with the model. */
    protected DeviceBuffer buffer(long bytes, String what) {
        DeviceBuffer b = dev.allocate(bytes, what);
        scratch.add(b);
        dev.zero(b, 0, bytes);
        return b;
    }

    /** Frees what the base constructor took (for a subclass constructor that fails). */
    protected void release() {
        try (Device.Scope _ = dev.enter()) {
            for (DeviceBuffer b : scratch) {
                dev.free(b);
            }
            scratch.clear();
            dev.free(metaHost);
        }
        if (ownsDevice) {
            dev.close();
        }
    }

    static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }

    static String suffix(DType t) {
        return t == DType.BF16 ? "bf16" : "f32";
    }

    Device device() {
        return dev;
    }

    DType weightType() {
        return weightType;
    }

    @Override
    public boolean supportsDeviceSampling(SamplingParams params) {
        return !params.hasPenalties();
    }

    @Override
    public void forward(ForwardBatch batch) {
        forward(batch, null);
    }

    // ------------------------------------------------------------------ what an architecture supplies

    /** The entry's state, checked: one of this model's, its pool open, room for the entry's tokens. */
    protected abstract CudaState checkState(ForwardBatch.Entry e);

    /** Writes the pass's metadata into {@link #metaHost}; returns the bytes to copy to the device. */
    protected abstract long writeMeta(Pass p);

    /** Queues the pass's launches; {@code graph}: the decode graph of bucket {@code p.n()} is being captured. */
    protected abstract void launchPass(Pass p, boolean graph);

    /** Called after a pass: the states have advanced. */
    protected void afterPass(Pass p) {
    }

    // ------------------------------------------------------------------ passes

    /** A run of one entry's tokens inside a pass, at rows [row, row + length). */
    record Segment(int entryIndex, ForwardBatch.Entry entry, CudaState state, int from, int length, int row) {
    }

    /** A row whose logits are wanted: copied to {@code dest} and/or sampled into {@code pick}. */
    record LogitRow(int row, float[] dest, int destOffset, TokenPick pick) {
    }

    /**
     * One pass: its segments over {@code rows} token rows, padded to {@code n} rows for a decode graph
     * (every segment one token); the rows whose logits are wanted, by logit index (in a decode pass
     * logit row r is pass row r and every row gets logits; otherwise the wanted rows in order).
     */
    record Pass(List<Segment> segs, int rows, int n, boolean decode, LogitRow[] byIndex, int logitRows, boolean sample) {
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
        for (int i = 0; i < entries.size(); i++) {
            ForwardBatch.Entry e = entries.get(i);
            CudaState s = checkState(e);
            if (seen.put(s, Boolean.TRUE) != null) {
                throw new IllegalArgumentException("a state appears twice in one batch");
            }
            if (e.logits() != null && e.logits().length < (long) e.logitRows() * vocab) {
                throw new IllegalArgumentException("logits buffer holds " + e.logits().length + " floats, needs " + (long) e.logitRows() * vocab);
            }
            if (picks != null && picks[i] != null && !supportsDeviceSampling(picks[i].params())) {
                throw new IllegalArgumentException("penalties cannot be applied on the device; sample such sequences on the host");
            }
            for (int k = 0; k < e.length(); k++) {
                int tok = e.token(k);
                if (tok < 0 || tok >= vocab) {
                    throw new IllegalArgumentException("token id " + tok + " outside the vocabulary [0, " + vocab + ")");
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
            decode &= s.length() == 1;
        }
        List<LogitRow> wanted = new ArrayList<>();
        for (Segment s : segs) {
            boolean ends = s.from() + s.length() == s.entry().length();
            TokenPick pick = picks != null && ends ? picks[s.entryIndex()] : null;
            float[] dest = s.entry().logits();
            if (dest != null && s.entry().allPositions()) {
                for (int i = 0; i < s.length(); i++) {
                    wanted.add(new LogitRow(s.row() + i, dest, (s.from() + i) * vocab, i == s.length() - 1 ? pick : null));
                }
            } else if (ends && (dest != null || pick != null)) {
                wanted.add(new LogitRow(s.row() + s.length() - 1, dest, 0, pick));
            }
        }
        boolean useGraph = decode && graphsEnabled;
        int n = useGraph ? bucket(rows) : rows;
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
        Pass p = new Pass(segs, rows, n, decode, byIndex, logitRows, anyPick);

        long bytes = writeMeta(p);
        dev.copyToDevice(meta, 0, metaHost, 0, bytes);
        metaRows = useGraph ? n : -1;
        if (useGraph) {
            Device.Graph g = graphs.get(n);
            if (g == null) {
                g = dev.capture(() -> launchPass(p, true));
                graphs.put(n, g);
            }
            dev.launch(g);
        } else {
            launchPass(p, false);
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
                dev.copyToHost(lr.dest, lr.destOffset, logits, 4L * r * vocab, vocab);
            }
            if (lr.pick != null) {
                lr.pick.setToken(tokHost[r]);
            }
        }
        dev.synchronize(); // the pass is done: metadata memory may be rewritten
        for (Segment s : segs) {
            s.state().position += s.length();
        }
        afterPass(p);
    }

    // ------------------------------------------------------------------ metadata shared by every architecture

    /**
     * Where a pass's metadata lies for {@code n} rows from {@code base}: each row's token first; then
     * the architecture's own int fields, {@code n} ints each ({@link #own}); then per logit row its
     * source row and sampling parameters (mode, top-k, temperature, top-p, min-p); then, 8-byte
     * aligned, per segment its state's address and per logit row the seed and the step. Each
     * architecture's layout names its own fields; the sampling kernel reads the shared ones through
     * {@link #sampling}.
     */
    static class PassLayout {
        private final int n;
        private final long base;
        private final int ownFields;

        PassLayout(int n, long base, int ownFields) {
            this.n = n;
            this.base = base;
            this.ownFields = ownFields;
        }

        final int n() {
            return n;
        }

        final long tok() {
            return base;
        }

        /** The architecture's int field {@code field} (0 ≤ field < the number it declared). */
        final long own(int field) {
            return base + 4L * n * (1 + Objects.checkIndex(field, ownFields));
        }

        private long shared(int k) {
            return base + 4L * n * (1 + ownFields + k);
        }

        final long logitRow() {
            return shared(0);
        }

        final long mode() {
            return shared(1);
        }

        final long topK() {
            return shared(2);
        }

        final long temperature() {
            return shared(3);
        }

        final long topP() {
            return shared(4);
        }

        final long minP() {
            return shared(5);
        }

        final long segState() {
            return base + roundUp(shared(6) - base, 8);
        }

        final long seed() {
            return segState() + 8L * n;
        }

        final long step() {
            return seed() + 8L * n;
        }

        final long bytes() {
            return step() + 8L * n - base;
        }

        /** The shared offsets, relative to {@code base}. */
        final SamplingMeta sampling() {
            return new SamplingMeta(tok() - base, logitRow() - base, mode() - base, topK() - base, temperature() - base, topP() - base,
                    minP() - base, seed() - base, step() - base);
        }
    }

    /**
     * Byte offsets (from the start of the metadata) of what every architecture's pass needs per row:
     * the token, and per logit row its source row and sampling parameters.
     */
    record SamplingMeta(long tok, long logitRow, long mode, long topK, long temperature, long topP, long minP, long seed, long step) {
    }

    static void putInt(MemorySegment mem, long off, int i, int v) {
        mem.set(ValueLayout.JAVA_INT_UNALIGNED, off + 4L * i, v);
    }

    static void putFloat(MemorySegment mem, long off, int i, float v) {
        mem.set(ValueLayout.JAVA_FLOAT_UNALIGNED, off + 4L * i, v);
    }

    static void putLong(MemorySegment mem, long off, int i, long v) {
        mem.set(ValueLayout.JAVA_LONG_UNALIGNED, off + 8L * i, v);
    }

    /** Tokens of the pass's rows (token 0 for padding rows) and the logit rows' sampling parameters. */
    void writeTokensAndSampling(MemorySegment mem, SamplingMeta m, Pass p) {
        for (Segment s : p.segs()) {
            for (int i = 0; i < s.length(); i++) {
                putInt(mem, m.tok(), s.row() + i, s.entry().token(s.from() + i));
            }
        }
        for (int r = p.rows(); r < p.n(); r++) {
            putInt(mem, m.tok(), r, 0);
        }
        for (int r = 0; r < p.n(); r++) {
            LogitRow lr = r < p.byIndex().length ? p.byIndex()[r] : null;
            putInt(mem, m.logitRow(), r, lr != null ? lr.row : r < p.rows() ? r : 0);
            TokenPick pk = lr == null ? null : lr.pick;
            SamplingParams sp = pk == null ? null : pk.params();
            putInt(mem, m.mode(), r, sp == null ? 0 : sp.isGreedy() ? 1 : 2);
            putInt(mem, m.topK(), r, sp == null ? 0 : sp.topK());
            putFloat(mem, m.temperature(), r, sp == null ? 1f : (float) Math.max(sp.temperature(), 1e-6));
            putFloat(mem, m.topP(), r, sp == null ? 1f : (float) sp.topP());
            putFloat(mem, m.minP(), r, sp == null ? 0f : (float) sp.minP());
            putLong(mem, m.seed(), r, pk == null ? 0 : pk.seed());
            putLong(mem, m.step(), r, pk == null ? 0 : pk.step());
        }
    }

    // ------------------------------------------------------------------ launches every architecture uses

    int grid(long n) {
        return (int) Math.max(1, Math.min((n + 255) / 256, (long) dev.multiprocessors() * 16));
    }

    /** h[r] = embedding[tok[r]] for the pass's t rows ({@code tok}: the tokens' device address). */
    void embed(long embedding, int d, int t, long tok, long h) {
        dev.launch(kEmbed, t, 1, 256, 0, new KernelArgs().ptr(embedding).ptr(tok).i32(d).ptr(h));
    }

    void bias(long out, long b, int t, int n) {
        dev.launch(kBias, grid((long) t * n), 1, 256, 0, new KernelArgs().ptr(out).ptr(b).i32(t).i32(n).i32(n));
    }

    /**
     * The final RMSNorm, the head and sampling over the logit rows: in a decode pass the rows of h
     * themselves (through the fused GEMV when small), otherwise the rows listed in the metadata.
     */
    void headAndSample(Pass p, boolean graph, long head, long finalNorm, int d, long h, SamplingMeta m) {
        int logitRows = graph ? p.n() : p.logitRows();
        if (logitRows == 0) {
            return;
        }
        long base = meta.address();
        if (p.decode()) {
            decodeHeadAndSample(0, logitRows, graph || p.sample(), head, finalNorm, d, h, m);
            return;
        }
        dev.launch(kNorm, logitRows, 1, 256, 0, new KernelArgs().ptr(h).i32(d).ptr(base + m.logitRow()).ptr(finalNorm)
                .f32(normEps).ptr(xn.address()));
        linear(head, vocab, d, false, xn.address(), d, 0, STORE, logits.address(), vocab, logitRows);
        if (graph || p.sample()) {
            dev.launch(kSample, logitRows, 1, SAMPLE_BLOCK, 0, new KernelArgs().ptr(logits.address()).i64(vocab).i32(vocab)
                    .ptr(base + m.mode()).ptr(base + m.topK()).ptr(base + m.temperature()).ptr(base + m.topP()).ptr(base + m.minP())
                    .ptr(base + m.seed()).ptr(base + m.step()).ptr(tokOut.address()));
        }
    }

    /**
     * The head and sampling of decode rows [r0, r0 + rows) (logit row = pass row): {@code h} is the
     * hidden state of row r0; logits, sampled tokens, sampling parameters and scratch at row r0.
     */
    void decodeHeadAndSample(int r0, int rows, boolean sample, long head, long finalNorm, int d, long h, SamplingMeta m) {
        long base = meta.address();
        linear(head, vocab, d, true, h, d, finalNorm, STORE, logits.address() + 4L * r0 * vocab, vocab, rows, r0);
        if (sample) {
            dev.launch(kSample, rows, 1, SAMPLE_BLOCK, 0, new KernelArgs().ptr(logits.address() + 4L * r0 * vocab).i64(vocab).i32(vocab)
                    .ptr(base + m.mode() + 4L * r0).ptr(base + m.topK() + 4L * r0).ptr(base + m.temperature() + 4L * r0)
                    .ptr(base + m.topP() + 4L * r0).ptr(base + m.minP() + 4L * r0).ptr(base + m.seed() + 8L * r0)
                    .ptr(base + m.step() + 8L * r0).ptr(tokOut.address() + 4L * r0));
        }
    }

    /**
     * Launch choices, for tests and the benchmark: products of up to {@code maxRows} activation
     * rows use the GEMV kernels (0: always cuBLAS), with {@code blocksPerSm} blocks per SM and at
     * least {@code minChunks} 16-byte chunks per lane. Drops the captured graphs.
     */
    void tuneGemv(int maxRows, int block, int blocksPerSm, int minChunks) {
        try (Device.Scope _ = dev.enter()) {
            gemvMaxRows = maxRows;
            gemvBlock = block;
            gemvBlocksPerSm = blocksPerSm;
            gemvMinChunks = minChunks;
            dropGraphs();
        }
    }

    void dropGraphs() {
        graphs.values().forEach(dev::destroy);
        graphs.clear();
    }

    String gemvTuning() {
        return "GEMV up to " + gemvMaxRows + " rows, " + gemvBlock + " threads x " + gemvBlocksPerSm + " blocks/SM, >= " + gemvMinChunks
                + " chunks/lane";
    }

    int gemvMaxRows() {
        return gemvMaxRows;
    }

    int gemvBlock() {
        return gemvBlock;
    }

    int gemvBlocksPerSm() {
        return gemvBlocksPerSm;
    }

    int gemvMinChunks() {
        return gemvMinChunks;
    }

    /** GEMV blocks per SM for {@code smem} bytes of activations. */
    private int gemvBlocksPerSm(int smem) {
        return Math.max(1, Math.min(gemvBlocksPerSm, dev.sharedMemoryPerMultiprocessor() / (smem + 2048)));
    }

    /**
     * Warps per row pair of a GEMV over W {@code rows × k} with {@code smem} bytes of activations:
     * enough that every SM has work, each still with a full row of 16-byte loads per lane. The split
     * fixes the order of the sums, so every launch of the same product uses this one.
     */
    int gemvWarpsPerUnit(int rows, int k, int smem) {
        int warps = gemvBlock / 32;
        int units = (rows + 1) / 2;
        int perSm = gemvBlocksPerSm(smem);
        int vec = 16 / weightType.bytes();
        int wpu = 1;
        while (wpu < warps && (long) units * wpu < (long) dev.multiprocessors() * perSm * warps
                && k / vec / (2 * wpu) >= 32 * gemvMinChunks) {
            wpu *= 2;
        }
        return wpu;
    }

    /** Whether products of {@code t} activation rows with {@code k} columns take the GEMV kernels. */
    boolean usesGemv(int t, int k) {
        int tt = t <= 1 ? 1 : t <= 2 ? 2 : 4;
        return t <= gemvMaxRows && 4 * tt * k <= dev.maxSharedMemoryPerBlock() - 1024;
    }

    float normEps() {
        return normEps;
    }

    /**
     * out = x·Wᵀ for {@code t} rows of x, W {@code rows × k}. {@code norm}: x is h (f32), normalised
     * with {@code normW} first; otherwise x holds activations in the weight format. {@code epi}:
     * STORE (f32), ADD (f32 +=) or SWIGLU (W's rows are gate/up pairs; out = silu(g)·u in the weight format).
     */
    void linear(long wAddr, int rows, int k, boolean norm, long x, int ldx, long normW, int epi, long out, int ldo, int t) {
        linear(wAddr, rows, k, norm, x, ldx, normW, epi, out, ldo, t, 0);
    }

    /** As above, for rows that start at pass row {@code r0}: the scratch it needs (normalised input, gate/up products) is taken at that row. */
    void linear(long wAddr, int rows, int k, boolean norm, long x, int ldx, long normW, int epi, long out, int ldo, int t, int r0) {
        int tt = t <= 1 ? 1 : t <= 2 ? 2 : 4;
        int smem = 4 * tt * k;
        if (usesGemv(t, k)) {
            int mode = norm ? (epi == SWIGLU ? NW : NS) : (epi == ADD ? PA : PS);
            if ((norm && epi == ADD) || (!norm && epi == SWIGLU)) {
                throw new IllegalStateException("no GEMV kernel for this prologue and epilogue");
            }
            Kernel kern = kGemv[mode][tt == 1 ? 0 : tt == 2 ? 1 : 2];
            int warps = gemvBlock / 32;
            int units = (rows + 1) / 2;
            int perSm = gemvBlocksPerSm(smem);
            int wpu = gemvWarpsPerUnit(rows, k, smem);
            int upb = warps / wpu;
            int gridX = Math.max(1, Math.min((units + upb - 1) / upb, dev.multiprocessors() * perSm));
            dev.launch(kern, gridX, 1, gemvBlock, smem, new KernelArgs().ptr(wAddr).i32(rows).i32(k).ptr(x).i32(ldx).ptr(normW)
                    .f32(normEps).ptr(out).i32(ldo).i32(wpu));
            return;
        }
        long in = x;
        int ldIn = ldx;
        if (norm) {
            long xr = xn.address() + (long) weightType.bytes() * r0 * k;
            dev.launch(kNorm, t, 1, 256, 0, new KernelArgs().ptr(x).i32(k).ptr(0).ptr(normW).f32(normEps).ptr(xr));
            in = xr;
            ldIn = k;
        }
        if (epi == SWIGLU) {
            // gate/up products in the weight format: BF16 halves what SwiGLU reads (its output is BF16 anyway)
            long g = gu.address() + (long) weightType.bytes() * r0 * rows;
            dev.gemm(true, false, rows, t, k, wAddr, wCuda, k, in, wCuda, ldIn, 0f, g, wCuda, rows);
            long n = (long) t * (rows / 2);
            dev.launch(kSwiglu, grid(n / 4 + 1), 1, 256, 0, new KernelArgs().ptr(g).i64(n).ptr(out));
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

    boolean isClosed() {
        return closed;
    }

    /** Frees the subclass's own device memory (weights); called by {@link #close()} under the device scope. */
    protected abstract void closeWeights();

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Device.Scope _ = dev.enter()) {
            dev.synchronize();
            dropGraphs();
            for (DeviceBuffer b : scratch) {
                dev.free(b);
            }
            dev.free(metaHost);
            closeWeights();
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
}
