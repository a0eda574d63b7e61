package io.llamba.engine.llamba;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.Floats;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.cpu.CpuKernels;
import io.llamba.engine.cpu.CpuMatrix;
import io.llamba.engine.cpu.MatmulScratch;
import io.llamba.engine.cpu.Parallel;
import io.llamba.engine.cpu.WeightFormat;
import io.llamba.engine.cpu.WeightSource;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.Quantization;
import io.llamba.engine.model.StatePool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llamba on the CPU. A forward pass runs a ragged batch of token runs through the layers together:
 * every projection is one matrix product over all tokens of the pass (the MLP's gate and up in one
 * gated product whose epilogue applies SwiGLU; out_proj and down add into the residual stream in
 * theirs), while the conv and the SSM recurrence run per sequence (over channels and heads in
 * parallel), in order over its tokens. Weight matrices are repacked (and, if asked, quantized) into
 * off-heap memory at load time; the embedding is read in place from the checkpoint.
 *
 * <p>The hot path allocates nothing: scratch arrays grow to the largest pass, parallel steps are
 * reused task objects, and the batch is walked by index.
 */
final class LlambaCpuModel implements Model {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Tokens per pass: bounds scratch memory (T × intermediate floats) whatever the prompt length. */
    static final int MAX_TOKENS_PER_PASS = 256;
    /** Channels per unit of parallel conv work. */
    private static final int CONV_CHANNELS = 256;

    private final LlambaConfig c;
    private final Checkpoint checkpoint;
    private final Arena weights;
    private final Parallel parallel;
    private final MatmulScratch scratch = new MatmulScratch();
    private final TensorInfo embedding;
    private final CpuMatrix head;
    private final float[] finalNorm;
    private final Layer[] layers;
    private final ModelInfo info;
    private final WeightFormat format;
    private final long packNanos;

    private record Layer(float[] inNorm, CpuMatrix inProj, float[] inProjBias, float[] zBias, float[] convWt, float[] convB,
                         float[] dSkip, CpuMatrix outProj, float[] outProjBias, float[] postNorm, CpuMatrix gateUp, CpuMatrix down) {
    }

    // The segments of the current pass (runs of one entry's tokens), in arrays reused across passes.
    private ForwardBatch.Entry[] segEntry = new ForwardBatch.Entry[8];
    private LlambaCpuState[] segState = new LlambaCpuState[8];
    private int[] segFrom = new int[8];
    private int[] segLength = new int[8];
    private int[] segRow = new int[8];
    private int segments;
    private long passCounter;

    // Scratch, grown on demand; forward() runs on one thread at a time.
    private int capacity;
    private float[] x;
    private float[] xn;
    private float[] proj;
    private float[] conv;
    private float[] y;
    private float[] act;
    private float[] logitRows = new float[0];

    // Parallel steps, reused: their fields say what the current call works on.
    private final NormStep normStep = new NormStep();
    private final ConvStep convStep = new ConvStep();
    private final SsmStep ssmStep = new SsmStep();

    LlambaCpuModel(String name, LlambaConfig c, Checkpoint ck, int threads, Quantization quantization) {
        this.c = c;
        this.checkpoint = ck;
        int v = c.vocabSize();
        this.embedding = ck.get("backbone.embedding.weight");
        this.format = WeightFormat.of(embedding.dtype(), quantization);
        this.parallel = new Parallel(threads);
        this.weights = Arena.ofShared();
        try {
            long t0 = System.nanoTime();
            this.head = pack(WeightSource.of(c.tieEmbeddings() ? embedding : ck.get("lm_head.weight"), v));
            this.finalNorm = ck.get("backbone.final_layernorm.weight").toFloatArray();
            this.layers = new Layer[c.nLayer()];
            for (int i = 0; i < layers.length; i++) {
                String p = "backbone.layers." + i + ".";
                layers[i] = new Layer(
                        ck.get(p + "input_layernorm.weight").toFloatArray(),
                        pack(WeightSource.of(ck.get(p + "mixer.in_proj.weight"))),
                        c.ssmBias() ? ck.get(p + "mixer.in_proj.bias").toFloatArray() : null,
                        c.ssmBias() ? null : ck.get(p + "mixer.z_bias").toFloatArray(),
                        transposeConv(ck.get(p + "mixer.conv1d.weight").toFloatArray()),
                        ck.get(p + "mixer.conv1d.bias").toFloatArray(),
                        ck.get(p + "mixer.D").toFloatArray(),
                        pack(WeightSource.of(ck.get(p + "mixer.out_proj.weight"))),
                        c.ssmBias() ? ck.get(p + "mixer.out_proj.bias").toFloatArray() : null,
                        ck.get(p + "post_attention_layernorm.weight").toFloatArray(),
                        pack(WeightSource.gated(ck.get(p + "mlp.gate_proj.weight"), ck.get(p + "mlp.up_proj.weight"))),
                        pack(WeightSource.of(ck.get(p + "mlp.down_proj.weight"))));
            }
            this.packNanos = System.nanoTime() - t0;
        } catch (RuntimeException | Error e) {
            parallel.close();
            weights.close();
            throw e;
        }
        long params = ck.tensors().values().stream().mapToLong(TensorInfo::elementCount).sum();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("d_state", c.dState());
        details.put("n_v_heads", c.nVHeads());
        details.put("n_qk_heads", c.nQkHeads());
        details.put("head_dim", c.headDim());
        details.put("expand", c.expand());
        details.put("d_conv", c.dConv());
        details.put("intermediate_size", c.intermediateSize());
        details.put("tie_embeddings", c.tieEmbeddings());
        details.put("weight_dtype", embedding.dtype().name());
        details.put("weight_format", format.label());
        details.put("pack_seconds", packNanos / 1e9);
        // For benchmarks: what one token costs. A token reads every packed matrix once (and one
        // embedding row); its products multiply every matrix weight once, the head's only where
        // logits are asked for.
        long headWeights = head.weights();
        long matrixWeights = matrices().stream().mapToLong(CpuMatrix::weights).sum();
        details.put("decode_bytes_per_token", matrices().stream().mapToLong(CpuMatrix::bytes).sum()
                + (long) c.dModel() * embedding.dtype().bytes());
        details.put("layer_weights", matrixWeights - headWeights);
        details.put("head_weights", headWeights);
        details.put("threads", threads);
        this.info = new ModelInfo(name, LlambaArchitecture.MODEL_TYPE, v, c.dModel(), c.nLayer(), params, weightBytes(),
                c.stateBytesPerSequence(), c.maxContext(), "cpu",
                Runtime.getRuntime().availableProcessors() + " processors, " + threads + " threads, "
                        + System.getProperty("os.arch") + ", " + F.vectorBitSize() + "-bit vectors, " + format.label() + " weights",
                details);
    }

    private CpuMatrix pack(WeightSource src) {
        return CpuMatrix.pack(src, format, weights, parallel);
    }

    /** conv1d.weight is C × 1 × K; the vectorised conv reads it as K × C (a tap's weights for all channels side by side). */
    private float[] transposeConv(float[] w) {
        int ch = c.convChannels();
        int k = c.dConv();
        float[] t = new float[w.length];
        for (int j = 0; j < ch; j++) {
            for (int q = 0; q < k; q++) {
                t[q * ch + j] = w[j * k + q];
            }
        }
        return t;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    LlambaConfig config() {
        return c;
    }

    /** The matrices a token multiplies, for benchmarks: per layer in_proj, out_proj, gate+up, down; then the head. */
    List<CpuMatrix> matrices() {
        List<CpuMatrix> all = new ArrayList<>();
        for (Layer l : layers) {
            all.add(l.inProj);
            all.add(l.outProj);
            all.add(l.gateUp);
            all.add(l.down);
        }
        all.add(head);
        return all;
    }

    private long weightBytes() {
        long bytes = matrices().stream().mapToLong(CpuMatrix::bytes).sum();
        return c.tieEmbeddings() ? bytes : bytes + embedding.data().byteSize();
    }

    @Override
    public StatePool createStatePool(int capacity) {
        return new LlambaCpuStatePool(c, capacity);
    }

    @Override
    public void forward(ForwardBatch batch) {
        long pass = ++passCounter;
        for (int k = 0; k < batch.size(); k++) {
            ForwardBatch.Entry e = batch.entry(k);
            if (!(e.state() instanceof LlambaCpuState s) || !s.config.equals(c)) {
                throw new IllegalArgumentException("state is not a Llamba CPU state of this model");
            }
            if (s.pass == pass) {
                throw new IllegalArgumentException("a state appears twice in one batch");
            }
            s.pass = pass;
            if (e.logits() != null && e.logits().length < (long) e.logitRows() * c.vocabSize()) {
                throw new IllegalArgumentException("logits buffer holds " + e.logits().length + " floats, needs "
                        + (long) e.logitRows() * c.vocabSize());
            }
            for (int i = 0; i < e.length(); i++) {
                int tok = e.token(i);
                if (tok < 0 || tok >= c.vocabSize()) {
                    throw new IllegalArgumentException("token id " + tok + " outside the vocabulary [0, " + c.vocabSize() + ")");
                }
            }
        }
        // Split into passes of at most MAX_TOKENS_PER_PASS tokens; a long entry spans passes in order.
        segments = 0;
        int passTokens = 0;
        for (int k = 0; k < batch.size(); k++) {
            ForwardBatch.Entry e = batch.entry(k);
            int done = 0;
            while (done < e.length()) {
                int take = Math.min(e.length() - done, MAX_TOKENS_PER_PASS - passTokens);
                addSegment(e, done, take, passTokens);
                passTokens += take;
                done += take;
                if (passTokens == MAX_TOKENS_PER_PASS) {
                    runPass(passTokens);
                    segments = 0;
                    passTokens = 0;
                }
            }
        }
        if (segments > 0) {
            runPass(passTokens);
        }
    }

    private void addSegment(ForwardBatch.Entry e, int from, int length, int row) {
        if (segments == segEntry.length) {
            int n = segments * 2;
            segEntry = java.util.Arrays.copyOf(segEntry, n);
            segState = java.util.Arrays.copyOf(segState, n);
            segFrom = java.util.Arrays.copyOf(segFrom, n);
            segLength = java.util.Arrays.copyOf(segLength, n);
            segRow = java.util.Arrays.copyOf(segRow, n);
        }
        segEntry[segments] = e;
        segState[segments] = (LlambaCpuState) e.state();
        segFrom[segments] = from;
        segLength[segments] = length;
        segRow[segments] = row;
        segments++;
    }

    private boolean wantsLogits(int s) {
        ForwardBatch.Entry e = segEntry[s];
        return e.logits() != null && (e.allPositions() || segFrom[s] + segLength[s] == e.length());
    }

    private void ensureScratch(int t) {
        if (t <= capacity) {
            return;
        }
        int n = Math.max(t, 1);
        x = new float[n * c.dModel()];
        xn = new float[n * c.dModel()];
        proj = new float[n * c.inProjRows()];
        conv = new float[n * c.convChannels()];
        y = new float[n * c.innerSize()];
        act = new float[n * c.intermediateSize()];
        capacity = n;
    }

    private void runPass(int t) {
        ensureScratch(t);
        final int d = c.dModel();
        for (int s = 0; s < segments; s++) {
            for (int i = 0; i < segLength[s]; i++) {
                embed(segEntry[s].token(segFrom[s] + i), x, (segRow[s] + i) * d);
            }
        }
        for (int i = 0; i < layers.length; i++) {
            mixer(i, t);
            mlp(layers[i], t);
        }
        logits();
        for (int s = 0; s < segments; s++) {
            segState[s].position += segLength[s];
            segEntry[s] = null;
            segState[s] = null;
        }
    }

    /** Embedding row {@code token}, read in place from the checkpoint (exact, whatever the weight format). */
    private void embed(int token, float[] out, int off) {
        CpuKernels.tensorRow(embedding, token, c.dModel(), out, off);
    }

    private void norm(float[] w, int t) {
        normStep.w = w;
        if (t < 4) {
            normStep.run(0, t);
        } else {
            parallel.forRange(t, 4, normStep);
        }
    }

    private static void addBias(float[] out, int t, int stride, float[] bias) {
        if (bias == null) {
            return;
        }
        for (int r = 0; r < t; r++) {
            CpuKernels.add(out, r * stride, bias, 0, bias.length);
        }
    }

    private void mixer(int layerIndex, int t) {
        final Layer l = layers[layerIndex];
        final int d = c.dModel();
        final int rIn = c.inProjRows();
        norm(l.inNorm, t);
        l.inProj.matmul(parallel, scratch, xn, t, proj, rIn, false);
        addBias(proj, t, rIn, l.inProjBias);

        convStep.layer = l;
        convStep.layerIndex = layerIndex;
        convStep.blocks = (c.convChannels() + CONV_CHANNELS - 1) / CONV_CHANNELS;
        parallel.forRange(segments * convStep.blocks, 1, convStep);

        ssmStep.layer = l;
        ssmStep.layerIndex = layerIndex;
        parallel.forRange(segments * c.nVHeads(), 1, ssmStep);

        l.outProj.matmul(parallel, scratch, y, t, x, d, true);
        addBias(x, t, d, l.outProjBias);
    }

    private void mlp(Layer l, int t) {
        final int d = c.dModel();
        norm(l.postNorm, t);
        l.gateUp.matmul(parallel, scratch, xn, t, act, c.intermediateSize(), false);
        l.down.matmul(parallel, scratch, act, t, x, d, true);
    }

    private void logits() {
        final int d = c.dModel();
        final int v = c.vocabSize();
        int rows = 0;
        int only = -1;
        for (int s = 0; s < segments; s++) {
            if (wantsLogits(s)) {
                rows += segEntry[s].allPositions() ? segLength[s] : 1;
                only = s;
            }
        }
        if (rows == 0) {
            return;
        }
        // Gather the hidden rows that need logits, normalised, into xn.
        int r = 0;
        for (int s = 0; s < segments; s++) {
            if (!wantsLogits(s)) {
                continue;
            }
            int first = segEntry[s].allPositions() ? 0 : segLength[s] - 1;
            for (int i = first; i < segLength[s]; i++) {
                CpuKernels.rmsnorm(x, (segRow[s] + i) * d, finalNorm, xn, r * d, d, c.normEpsilon());
                r++;
            }
        }
        if (rows == 1 && !segEntry[only].allPositions()) {
            head.matmul(parallel, scratch, xn, 1, segEntry[only].logits(), v, false);
            return;
        }
        if (logitRows.length < rows * v) {
            logitRows = new float[rows * v];
        }
        head.matmul(parallel, scratch, xn, rows, logitRows, v, false);
        r = 0;
        for (int s = 0; s < segments; s++) {
            if (!wantsLogits(s)) {
                continue;
            }
            ForwardBatch.Entry e = segEntry[s];
            if (e.allPositions()) {
                System.arraycopy(logitRows, r * v, e.logits(), segFrom[s] * v, segLength[s] * v);
                r += segLength[s];
            } else {
                System.arraycopy(logitRows, r * v, e.logits(), 0, v);
                r++;
            }
        }
    }

    /** RMSNorm of token rows {@code [from, to)} of x into xn. */
    private final class NormStep implements Parallel.Range {
        float[] w;

        @Override
        public void run(int from, int to) {
            int d = c.dModel();
            for (int r = from; r < to; r++) {
                CpuKernels.rmsnorm(x, r * d, w, xn, r * d, d, c.normEpsilon());
            }
        }
    }

    /** The causal depthwise conv, per segment and block of channels (channels are independent). */
    private final class ConvStep implements Parallel.Range {
        Layer layer;
        int layerIndex;
        int blocks;

        @Override
        public void run(int from, int to) {
            int ch = c.convChannels();
            for (int q = from; q < to; q++) {
                int s = q / blocks;
                int j0 = (q % blocks) * CONV_CHANNELS;
                convBlock(layer, segState[s].conv[layerIndex], s, j0, Math.min(ch, j0 + CONV_CHANNELS));
            }
        }
    }

    /**
     * c_t[j] = bias[j] + Σ_k w[j,k]·xBC_{t-K+1+k}[j] (inputs before the window are zero), vectorised over
     * channels, the taps summed in order with fused multiply-adds; then the window moves.
     */
    private void convBlock(Layer l, float[] window, int s, int j0, int j1) {
        final int ch = c.convChannels();
        final int rIn = c.inProjRows();
        final int k = c.dConv();
        final int km1 = k - 1;
        final int len = segLength[s];
        final int row0 = segRow[s];
        final boolean silu = c.convSilu();
        final float[] wt = l.convWt;
        final float[] bias = l.convB;
        int vEnd = j0 + (j1 - j0) / L * L;
        for (int i = 0; i < len; i++) {
            int out = (row0 + i) * ch;
            for (int j = j0; j < vEnd; j += L) {
                FloatVector acc = FloatVector.fromArray(F, bias, j);
                for (int q = 0; q < k; q++) {
                    int src = i + q - km1; // index among this segment's tokens; negative: from the window
                    FloatVector v = src >= 0 ? FloatVector.fromArray(F, proj, (row0 + src) * rIn + j)
                            : FloatVector.fromArray(F, window, (km1 + src) * ch + j);
                    acc = FloatVector.fromArray(F, wt, q * ch + j).fma(v, acc);
                }
                acc.intoArray(conv, out + j);
            }
            for (int j = vEnd; j < j1; j++) {
                float acc = bias[j];
                for (int q = 0; q < k; q++) {
                    int src = i + q - km1;
                    float v = src >= 0 ? proj[(row0 + src) * rIn + j] : window[(km1 + src) * ch + j];
                    acc = Math.fma(wt[q * ch + j], v, acc);
                }
                conv[out + j] = acc;
            }
            if (silu) {
                CpuKernels.silu(conv, out + j0, j1 - j0);
            }
        }
        // New window: the last K-1 inputs of (window ++ this segment's tokens), oldest first.
        int n = j1 - j0;
        for (int q = 0; q < km1; q++) {
            int src = len - km1 + q; // index among this segment's tokens of the input that lands in slot q
            if (src >= 0) {
                System.arraycopy(proj, (row0 + src) * rIn + j0, window, q * ch + j0, n);
            } else {
                System.arraycopy(window, (q + len) * ch + j0, window, q * ch + j0, n);
            }
        }
    }

    /** The SSM recurrence and gating, per segment and head, in order over the segment's tokens. */
    private final class SsmStep implements Parallel.WorkerRange {
        Layer layer;
        int layerIndex;

        @Override
        public void run(int worker, int from, int to) {
            int h = c.nVHeads();
            float[] gate = parallel.buffer(worker, c.headDim());
            for (int q = from; q < to; q++) {
                int s = q / h;
                ssmHead(layer, segState[s].ssm[layerIndex], s, q % h, gate);
            }
        }
    }

    /**
     * For one head over the segment's tokens: S ← decay·S + x ⊗ B; y = S·C + D·x; out = y ⊙ silu(z + z_bias).
     * S is held as N rows of P, so the step runs over vectors of P values with B[n] and C[n] broadcast:
     * every sum is a chain in a fixed order, no lane reduction.
     */
    private void ssmHead(Layer l, float[] state, int s, int h, float[] gate) {
        final int p = c.headDim();
        final int n = c.dState();
        final int ch = c.convChannels();
        final int di = c.innerSize();
        final int rIn = c.inProjRows();
        final int g = h / (c.nVHeads() / c.nQkHeads());
        final int xOff = h * p;
        final int bOff = di + g * n;
        final int cOff = di + c.nQkHeads() * n + g * n;
        final int zOff = ch + h * p;
        final int aOff = ch + di + h;
        final int sBase = h * p * n;
        final float dh = l.dSkip[h];
        final float[] zBias = l.zBias;
        final int vEnd = p / L * L;
        for (int i = 0; i < segLength[s]; i++) {
            int row = segRow[s] + i;
            int cv = row * ch;
            int zv = row * rIn + zOff;
            int yv = row * di + xOff;
            float decay = (float) Math.exp(-CpuKernels.softplus(proj[row * rIn + aOff]));
            FloatVector decayV = FloatVector.broadcast(F, decay);
            for (int pv = 0; pv < vEnd; pv += L) {
                FloatVector xv = FloatVector.fromArray(F, conv, cv + xOff + pv);
                FloatVector acc = FloatVector.zero(F);
                for (int ni = 0, so = sBase + pv; ni < n; ni++, so += p) {
                    FloatVector sv = FloatVector.fromArray(F, state, so).fma(decayV, xv.mul(conv[cv + bOff + ni]));
                    sv.intoArray(state, so);
                    acc = sv.fma(FloatVector.broadcast(F, conv[cv + cOff + ni]), acc);
                }
                xv.fma(FloatVector.broadcast(F, dh), acc).intoArray(y, yv + pv);
            }
            for (int pi = vEnd; pi < p; pi++) {
                float xv = conv[cv + xOff + pi];
                float acc = 0;
                for (int ni = 0, so = sBase + pi; ni < n; ni++, so += p) {
                    float sv = Math.fma(state[so], decay, xv * conv[cv + bOff + ni]);
                    state[so] = sv;
                    acc = Math.fma(sv, conv[cv + cOff + ni], acc);
                }
                y[yv + pi] = Math.fma(xv, dh, acc);
            }
            // Gating: y ⊙ silu(z + z_bias), the gate computed in this thread's buffer.
            for (int pi = 0; pi < p; pi++) {
                gate[pi] = proj[zv + pi] + (zBias != null ? zBias[xOff + pi] : 0f);
            }
            CpuKernels.silu(gate, 0, p);
            for (int pi = 0; pi < p; pi++) {
                y[yv + pi] *= gate[pi];
            }
        }
    }

    @Override
    public void close() {
        parallel.close();
        weights.close();
        checkpoint.close();
    }
}
