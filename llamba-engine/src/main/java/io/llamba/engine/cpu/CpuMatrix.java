package io.llamba.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;

/**
 * A weight matrix of {@code rows × cols} (PyTorch layout: y = x·Wᵀ, so row r holds output r's weights),
 * repacked at load time into off-heap memory in the layout its kernels stream. Each format is one
 * subclass, the one place that knows its bits.
 *
 * <p>Layout: rows are grouped in tiles of {@link #TILE} = 2 panels of {@link #PANEL} rows, a panel
 * being as many rows as a float vector has lanes. Inside a tile the weights are column-major: for each
 * input column i, the tile's rows side by side, so one vector load gives one column of a panel and a
 * product is a chain of fused multiply-adds of such columns by broadcast activations, without
 * horizontal sums. Columns are padded to whole blocks of 32 with zeros, rows to whole tiles.
 *
 * <p>One token (decoding) streams the packed weights through a per-format fused loop, four tiles at
 * a time; a few tokens (2 to 4, {@link #fewTokens}) do the same two tiles at a time. More tokens
 * (prefill, batched decoding) run register-tiled kernels per tile and group of tokens: BF16 widens
 * its packed tile in registers, the other formats widen each tile once into a thread's float buffer
 * for the shared kernels of {@link TileKernels}. Every path computes every output as the same
 * sequential chain over i: a row's result does not depend on the batch it is in, which the serving
 * core relies on.
 *
 * <p>A gated matrix ({@link WeightSource#gated}) packs two matrices so that a tile holds panel p of
 * each; its output row r is {@code silu(a_r·x) · (b_r·x)} (the MLP's SwiGLU), computed in the epilogue.
 */
public abstract sealed class CpuMatrix permits F32Matrix, Bf16Matrix, F16Matrix, Q8Matrix, Q4Matrix {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Rows per panel: the lanes of a float vector (16 with AVX-512, 8 with AVX2). */
    public static final int PANEL = F.length();
    /** Rows per tile, the unit of work of every kernel. */
    public static final int TILE = 2 * PANEL;
    /** Columns per block of the quantized formats, and the padding unit of every format. */
    public static final int BLOCK = 32;

    protected final String name;
    protected final WeightFormat format;
    protected final int rows;
    protected final int cols;
    protected final int colsPadded;
    protected final int blocks;
    protected final int tiles;
    protected final boolean gated;

    protected CpuMatrix(WeightSource src, WeightFormat format) {
        this.name = src.name();
        this.format = format;
        this.rows = src.rows();
        this.cols = src.cols();
        this.colsPadded = (cols + BLOCK - 1) / BLOCK * BLOCK;
        this.blocks = colsPadded / BLOCK;
        this.gated = src.gated();
        this.tiles = gated ? (rows + PANEL - 1) / PANEL : (rows + TILE - 1) / TILE;
    }

    /**
     * Packs {@code src} into {@code format}, converting or quantizing as needed, with memory from
     * {@code arena}; tiles are packed in parallel on {@code parallel}.
     */
    public static CpuMatrix pack(WeightSource src, WeightFormat format, Arena arena, Parallel parallel) {
        CpuMatrix m = switch (format) {
            case F32 -> new F32Matrix(src, arena);
            case BF16 -> new Bf16Matrix(src, arena);
            case F16 -> new F16Matrix(src, arena);
            case Q8_0 -> new Q8Matrix(src, arena);
            case Q4_0 -> new Q4Matrix(src, arena);
        };
        parallel.forRange(m.tiles, 1, (worker, from, to) -> {
            float[] buf = parallel.buffer(worker, m.packBufferFloats());
            for (int tile = from; tile < to; tile++) {
                m.packTile(src, tile, buf);
            }
        });
        return m;
    }

    public String name() {
        return name;
    }

    public WeightFormat format() {
        return format;
    }

    /** Output rows (for a gated matrix, rows of each of its two matrices). */
    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public boolean gated() {
        return gated;
    }

    /** Bytes of packed weights (and scales): what one pass over the matrix reads from memory. */
    public abstract long bytes();

    /** Weights this matrix multiplies per token (padding excluded); a product costs twice that in FLOPs. */
    public long weights() {
        return (gated ? 2L : 1L) * rows * cols;
    }

    /** Copies row {@code row}'s weights, as the kernels see them, into {@code out[outOff ..+cols)} (embedding look-up). */
    public abstract void row(int row, float[] out, int outOff);

    /** Floats of a thread's buffer that {@link #packTile} needs. */
    int packBufferFloats() {
        return cols;
    }

    /** Writes tile {@code tile} of the packed layout from the source rows. */
    abstract void packTile(WeightSource src, int tile, float[] buf);

    /**
     * One token times tile {@code tile}: writes the tile's 2P results into {@code buf} and returns where;
     * the rest of {@code buf} ({@link #decodeBufferFloats} floats) is scratch.
     */
    abstract int decodeTile(MatmulScratch in, int tile, float[] buf);

    /** Floats of a thread's buffer that {@link #decodeTile} needs. */
    int decodeBufferFloats() {
        return TILE;
    }

    /**
     * One token times tiles {@code tile} and {@code tile + 1} in one interleaved loop, results at
     * {@code buf[0 ..TILE)} and {@code buf[TILE ..2·TILE)}, or -1 when the format has no such loop. Two
     * streams of weights in flight at once keep more memory requests outstanding than one (the
     * hardware prefetcher runs a fixed distance ahead of each stream); the arithmetic per output is
     * the same as {@link #decodeTile}'s.
     */
    int decodeTilePair(MatmulScratch in, int tile, float[] buf) {
        return -1;
    }

    /** Floats of a thread's buffer that {@link #decodeTilePair} needs. */
    int decodePairBufferFloats() {
        return 0;
    }

    /** Tiles {@link #decodeTilePair} computes at once. */
    int decodeGroup() {
        return 2;
    }

    /**
     * Widens tile {@code tile} into {@code buf[i·TILE + lane]} (and, for block formats, their scales after),
     * for the multi-token kernels; not called when {@link #tileBufferFloats} is 0.
     */
    void dequantizeTile(int tile, float[] buf) {
        throw new UnsupportedOperationException(format + " multiplies its packed tiles directly");
    }

    /** Floats of a thread's buffer that a widened tile needs, or 0 when the kernels read the packed tile. */
    int tileBufferFloats() {
        return colsPadded * TILE;
    }

    /**
     * The most token rows {@link #decodeFew} takes: a few tokens (small decoding batches) stream the
     * weights once like one token does, instead of widening tiles into a buffer, whose bursts of
     * loads and computation do not overlap. 0 when the format has no such loop.
     */
    int fewTokens() {
        return 0;
    }

    /**
     * {@code t} token rows (row-major, {@code in.stride} apart) times tiles {@code tile} and
     * {@code second} (the same tile when one is left): the result of tile j (0, 1), token k at
     * {@code buf[(j·t + k)·TILE ..)}. Per output the same chain of operations as every other path.
     */
    void decodeFew(MatmulScratch in, int tile, int second, int t, float[] buf) {
        throw new UnsupportedOperationException(format + " has no few-token loop");
    }

    /** Token rows per call of this format's multi-token kernel (see {@link TileKernels}). */
    int maxTokens() {
        return TileKernels.MAX_TOKENS;
    }

    /** The multi-token kernel: {@code tokens} packed token rows from token {@code s} times tile {@code tile}, widened in {@code buf}. */
    void tileKernel(MatmulScratch in, int tile, int tokens, int s, float[] buf, float[] out, int o) {
        TileKernels.plain(tokens, buf, colsPadded, in.x, s * colsPadded, out, o);
    }

    /**
     * Brings the activations into the form the kernels read. One token: the row itself, padded to whole
     * blocks if needed. Several: packed per group of tokens that one kernel call takes (see
     * {@link TileKernels#width} and {@link #maxTokens}), column-major inside a group, so that a kernel's broadcasts are at
     * fixed offsets from one index: token s+k of a group of n starting at s, column i, is at
     * {@code s·colsPadded + i·n + k}. Padding columns are zero.
     */
    void prepare(MatmulScratch in, float[] x, int t) {
        if (t == 1) {
            if (cols == colsPadded) {
                in.x = x;
            } else {
                float[] p = in.padded(colsPadded);
                System.arraycopy(x, 0, p, 0, cols);
                java.util.Arrays.fill(p, cols, colsPadded, 0f);
                in.x = p;
            }
            return;
        }
        if (t <= fewTokens()) {
            // The few-token loops read plain rows, padded to whole blocks.
            in.stride = colsPadded;
            if (cols == colsPadded) {
                in.x = x;
                return;
            }
            float[] p = in.padded(t * colsPadded);
            for (int s = 0; s < t; s++) {
                System.arraycopy(x, s * cols, p, s * colsPadded, cols);
                java.util.Arrays.fill(p, s * colsPadded + cols, (s + 1) * colsPadded, 0f);
            }
            in.x = p;
            return;
        }
        in.x = in.padded(t * colsPadded);
        prepareInParallel(in, t);
    }

    /** Runs {@link #prepareTokens} over all tokens, on the team when there are enough of them. */
    final void prepareInParallel(MatmulScratch in, int t) {
        if (t >= 16) {
            in.phase = MatmulScratch.PREPARE;
            in.parallel.forRange(t, 4, in);
        } else {
            prepareTokens(in, 0, 0, t);
        }
    }

    /** Packs token rows {@code [from, to)} of the source into {@code in.x} (see {@link #prepare}). */
    void prepareTokens(MatmulScratch in, int worker, int from, int to) {
        float[] src = in.source;
        float[] dst = in.x;
        for (int j = from; j < to; j++) {
            int s = groupStart(j, in.tokens);
            int n = TileKernels.width(in.tokens - s, maxTokens());
            int base = s * colsPadded + (j - s);
            for (int i = 0; i < cols; i++) {
                dst[base + i * n] = src[j * cols + i];
            }
            for (int i = cols; i < colsPadded; i++) {
                dst[base + i * n] = 0f;
            }
        }
    }

    /** The first token of the kernel group that token {@code j} of {@code t} falls in. */
    final int groupStart(int j, int t) {
        int s = 0;
        while (true) {
            int n = TileKernels.width(t - s, maxTokens());
            if (j < s + n) {
                return s;
            }
            s += n;
        }
    }

    /**
     * Y = X·Wᵀ for {@code t} token rows: {@code x} holds t rows of {@code cols} floats, {@code y} t
     * rows of {@code yStride} with output r at column r; with {@code accumulate} the product is added
     * to what {@code y} holds (a residual connection). Runs on {@code parallel}'s threads.
     */
    public final void matmul(Parallel parallel, MatmulScratch in, float[] x, int t, float[] y, int yStride, boolean accumulate) {
        if (t < 1) {
            return;
        }
        if (x.length < (long) t * cols) {
            throw new IllegalArgumentException(name + ": " + t + " input rows of " + cols + " need " + (long) t * cols
                    + " floats, got " + x.length);
        }
        if (yStride < rows || y.length < (long) (t - 1) * yStride + rows) {
            throw new IllegalArgumentException(name + ": output of " + t + " rows of " + rows + " (stride " + yStride
                    + ") does not fit in " + y.length + " floats");
        }
        in.parallel = parallel;
        in.matrix = this;
        in.source = x;
        in.tokens = t;
        prepare(in, x, t);
        in.y = y;
        in.yStride = yStride;
        in.accumulate = accumulate;
        in.phase = MatmulScratch.TILES;
        // One token: units of decodeGroup() tiles (one pass of the interleaved loop), at least ~64 KB
        // of weights per chunk to amortise the hand-out. Several tokens are compute-bound: units of a
        // tile, plenty of work each.
        int unit = t == 1 ? decodeGroup() : t <= fewTokens() ? 2 : 1;
        int units = (tiles + unit - 1) / unit;
        int grain = t == 1 ? (int) Math.max(1, (65536L * units) / Math.max(1, bytes())) : 1;
        in.unit = unit;
        try {
            parallel.forRange(units, grain, in);
        } finally {
            in.matrix = null;
            in.source = null;
            in.y = null;
        }
    }

    /** {@link #matmul(Parallel, MatmulScratch, float[], int, float[], int, boolean)} with a scratch of its own (tests, tools). */
    public final void matmul(Parallel parallel, float[] x, int t, float[] y, int yStride) {
        matmul(parallel, new MatmulScratch(), x, t, y, yStride, false);
    }

    /** Tiles of units {@code [fromUnit, toUnit)} (see {@link #matmul}). */
    final void runTiles(MatmulScratch in, int worker, int fromUnit, int toUnit) {
        int t = in.tokens;
        int from = fromUnit * in.unit;
        int to = Math.min(tiles, toUnit * in.unit);
        if (t == 1) {
            float[] buf = in.parallel.buffer(worker, Math.max(decodeBufferFloats(), decodePairBufferFloats()));
            int tile = from;
            int group = decodeGroup();
            for (; tile + group <= to; tile += group) {
                if (decodeTilePair(in, tile, buf) < 0) {
                    break;
                }
                for (int k = 0; k < group; k++) {
                    epilogue(in, buf, k * TILE, 1, tile + k, 0);
                }
            }
            for (; tile < to; tile++) {
                int o = decodeTile(in, tile, buf);
                epilogue(in, buf, o, 1, tile, 0);
            }
            return;
        }
        if (t <= fewTokens()) {
            // The results of two tiles, then two tiles of scratch (a block's scales).
            float[] buf = in.parallel.buffer(worker, (2 * t + 2) * TILE);
            for (int tile = from; tile < to; tile += 2) {
                boolean pair = tile + 1 < to;
                decodeFew(in, tile, pair ? tile + 1 : tile, t, buf);
                epilogue(in, buf, 0, t, tile, 0);
                if (pair) {
                    epilogue(in, buf, t * TILE, t, tile + 1, 0);
                }
            }
            return;
        }
        int outOff = tileBufferFloats();
        float[] buf = in.parallel.buffer(worker, outOff + TileKernels.MAX_TOKENS * TILE);
        boolean widen = outOff > 0;
        for (int tile = from; tile < to; tile++) {
            if (widen) {
                dequantizeTile(tile, buf);
            }
            for (int s = 0; s < t; ) {
                int n = TileKernels.width(t - s, maxTokens());
                tileKernel(in, tile, n, s, buf, buf, outOff);
                epilogue(in, buf, outOff, n, tile, s);
                s += n;
            }
        }
    }

    /** Writes (or adds) the results of {@code n} tokens from token {@code s} for one tile into y. */
    private void epilogue(MatmulScratch in, float[] out, int o, int n, int tile, int s) {
        float[] y = in.y;
        int ys = in.yStride;
        boolean add = in.accumulate;
        if (!gated) {
            int r0 = tile * TILE;
            int valid = Math.min(TILE, rows - r0);
            for (int k = 0; k < n; k++) {
                int yo = (s + k) * ys + r0;
                int oo = o + k * TILE;
                if (valid == TILE) {
                    FloatVector a = FloatVector.fromArray(F, out, oo);
                    FloatVector b = FloatVector.fromArray(F, out, oo + PANEL);
                    if (add) {
                        a = a.add(FloatVector.fromArray(F, y, yo));
                        b = b.add(FloatVector.fromArray(F, y, yo + PANEL));
                    }
                    a.intoArray(y, yo);
                    b.intoArray(y, yo + PANEL);
                } else {
                    for (int j = 0; j < valid; j++) {
                        y[yo + j] = add ? y[yo + j] + out[oo + j] : out[oo + j];
                    }
                }
            }
        } else {
            int r0 = tile * PANEL;
            int valid = Math.min(PANEL, rows - r0);
            for (int k = 0; k < n; k++) {
                int yo = (s + k) * ys + r0;
                int oo = o + k * TILE;
                CpuKernels.silu(out, oo, PANEL);
                FloatVector v = FloatVector.fromArray(F, out, oo).mul(FloatVector.fromArray(F, out, oo + PANEL));
                if (valid == PANEL) {
                    if (add) {
                        v = v.add(FloatVector.fromArray(F, y, yo));
                    }
                    v.intoArray(y, yo);
                } else {
                    // The same vector arithmetic as a full panel, stored lane by lane.
                    v.intoArray(out, oo);
                    for (int j = 0; j < valid; j++) {
                        y[yo + j] = add ? y[yo + j] + out[oo + j] : out[oo + j];
                    }
                }
            }
        }
    }

    /** Source row of packed row {@code j} of {@code tile}, for {@link #row}: the tile and lane of output row r. */
    final int tileOf(int row) {
        if (gated) {
            throw new UnsupportedOperationException(name + ": a gated matrix has no single rows");
        }
        if (row < 0 || row >= rows) {
            throw new IndexOutOfBoundsException(name + ": row " + row + " outside [0, " + rows + ")");
        }
        return row / TILE;
    }

    @Override
    public String toString() {
        return name + " " + format.label() + " [" + rows + ", " + cols + "]" + (gated ? " gated" : "");
    }
}
