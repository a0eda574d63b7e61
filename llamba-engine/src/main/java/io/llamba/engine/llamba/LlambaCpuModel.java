package io.llamba.engine.llamba;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.cpu.CpuKernels;
import io.llamba.engine.cpu.CpuMatrix;
import io.llamba.engine.cpu.Parallel;
import io.llamba.engine.model.ForwardBatch;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelInfo;
import io.llamba.engine.model.StatePool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llamba on the CPU. A forward pass runs a ragged batch of token runs through the layers together:
 * every projection is one matrix-matrix product over all tokens of the pass, while the conv and the
 * SSM recurrence run per sequence (over channels and heads in parallel), in order over its tokens.
 */
final class LlambaCpuModel implements Model {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Tokens per pass: bounds scratch memory (T × intermediate floats) whatever the prompt length. */
    static final int MAX_TOKENS_PER_PASS = 256;

    private final LlambaConfig c;
    private final Checkpoint checkpoint;
    private final Parallel parallel;
    private final CpuMatrix embedding;
    private final CpuMatrix head;
    private final float[] finalNorm;
    private final Layer[] layers;
    private final ModelInfo info;

    private record Layer(float[] inNorm, CpuMatrix inProj, float[] inProjBias, float[] zBias, float[] convW, float[] convB,
                         float[] dSkip, CpuMatrix outProj, float[] outProjBias, float[] postNorm,
                         CpuMatrix gate, CpuMatrix up, CpuMatrix down) {
    }

    /** A run of one entry's tokens inside a pass. */
    private record Segment(ForwardBatch.Entry entry, LlambaCpuState state, int from, int length, int row) {
        boolean wantsLogits() {
            return entry.logits() != null && (entry.allPositions() || from + length == entry.length());
        }
    }

    // Scratch, grown on demand; forward() runs on one thread at a time.
    private int capacity;
    private float[] x;
    private float[] xn;
    private float[] proj;
    private float[] conv;
    private float[] y;
    private float[] tmp;
    private float[] gateBuf;
    private float[] upBuf;
    private float[] logitRows;

    LlambaCpuModel(String name, LlambaConfig c, Checkpoint ck, int threads) {
        this.c = c;
        this.checkpoint = ck;
        int v = c.vocabSize();
        this.embedding = CpuMatrix.of(ck.get("backbone.embedding.weight"), v);
        this.head = c.tieEmbeddings() ? embedding : CpuMatrix.of(ck.get("lm_head.weight"), v);
        this.finalNorm = ck.get("backbone.final_layernorm.weight").toFloatArray();
        this.layers = new Layer[c.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            String p = "backbone.layers." + i + ".";
            layers[i] = new Layer(
                    ck.get(p + "input_layernorm.weight").toFloatArray(),
                    CpuMatrix.of(ck.get(p + "mixer.in_proj.weight")),
                    c.ssmBias() ? ck.get(p + "mixer.in_proj.bias").toFloatArray() : null,
                    c.ssmBias() ? null : ck.get(p + "mixer.z_bias").toFloatArray(),
                    ck.get(p + "mixer.conv1d.weight").toFloatArray(),
                    ck.get(p + "mixer.conv1d.bias").toFloatArray(),
                    ck.get(p + "mixer.D").toFloatArray(),
                    CpuMatrix.of(ck.get(p + "mixer.out_proj.weight")),
                    c.ssmBias() ? ck.get(p + "mixer.out_proj.bias").toFloatArray() : null,
                    ck.get(p + "post_attention_layernorm.weight").toFloatArray(),
                    CpuMatrix.of(ck.get(p + "mlp.gate_proj.weight")),
                    CpuMatrix.of(ck.get(p + "mlp.up_proj.weight")),
                    CpuMatrix.of(ck.get(p + "mlp.down_proj.weight")));
        }
        this.parallel = new Parallel(threads);
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
        details.put("weight_dtype", ck.get("backbone.embedding.weight").dtype().name());
        details.put("threads", threads);
        this.info = new ModelInfo(name, LlambaArchitecture.MODEL_TYPE, v, c.dModel(), c.nLayer(), params, ck.totalBytes(),
                c.stateBytesPerSequence(), c.maxContext(), "cpu",
                Runtime.getRuntime().availableProcessors() + " processors, " + threads + " threads, "
                        + System.getProperty("os.arch") + ", " + F.vectorBitSize() + "-bit vectors",
                details);
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    LlambaConfig config() {
        return c;
    }

    @Override
    public StatePool createStatePool(int capacity) {
        return new LlambaCpuStatePool(c, capacity);
    }

    @Override
    public void forward(ForwardBatch batch) {
        Map<LlambaCpuState, Boolean> seen = new IdentityHashMap<>();
        for (ForwardBatch.Entry e : batch.entries()) {
            if (!(e.state() instanceof LlambaCpuState s) || !s.config.equals(c)) {
                throw new IllegalArgumentException("state is not a Llamba CPU state of this model");
            }
            if (seen.put(s, Boolean.TRUE) != null) {
                throw new IllegalArgumentException("a state appears twice in one batch");
            }
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
        List<Segment> pass = new ArrayList<>();
        int passTokens = 0;
        for (ForwardBatch.Entry e : batch.entries()) {
            LlambaCpuState s = (LlambaCpuState) e.state();
            int done = 0;
            while (done < e.length()) {
                int take = Math.min(e.length() - done, MAX_TOKENS_PER_PASS - passTokens);
                pass.add(new Segment(e, s, done, take, passTokens));
                passTokens += take;
                done += take;
                if (passTokens == MAX_TOKENS_PER_PASS) {
                    runPass(pass, passTokens);
                    pass.clear();
                    passTokens = 0;
                }
            }
        }
        if (!pass.isEmpty()) {
            runPass(pass, passTokens);
        }
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
        tmp = new float[n * c.dModel()];
        gateBuf = new float[n * c.intermediateSize()];
        upBuf = new float[n * c.intermediateSize()];
        capacity = n;
    }

    private void runPass(List<Segment> segments, int t) {
        ensureScratch(t);
        final int d = c.dModel();
        for (Segment s : segments) {
            for (int i = 0; i < s.length; i++) {
                embedding.row(s.entry.token(s.from + i), x, (s.row + i) * d);
            }
        }
        for (int i = 0; i < layers.length; i++) {
            mixer(i, segments, t);
            mlp(layers[i], t);
        }
        logits(segments);
        for (Segment s : segments) {
            s.state.position += s.length;
        }
    }

    private void norm(float[] w, int t) {
        int d = c.dModel();
        float eps = c.normEpsilon();
        parallel.forRange(t, 16, (from, to) -> {
            for (int r = from; r < to; r++) {
                CpuKernels.rmsnorm(x, r * d, w, xn, r * d, d, eps);
            }
        });
    }

    private static void addBias(float[] out, int t, int stride, float[] bias) {
        if (bias == null) {
            return;
        }
        for (int r = 0; r < t; r++) {
            CpuKernels.add(out, r * stride, bias, 0, bias.length);
        }
    }

    private void mixer(int layerIndex, List<Segment> segments, int t) {
        final Layer l = layers[layerIndex];
        final int d = c.dModel();
        final int rIn = c.inProjRows();
        norm(l.inNorm, t);
        l.inProj.matmul(parallel, xn, t, proj, rIn);
        addBias(proj, t, rIn, l.inProjBias);

        // Causal depthwise conv, per segment over blocks of channels (channels are independent).
        final int ch = c.convChannels();
        final int k = c.dConv();
        final int blocks = (ch + 63) / 64;
        parallel.forRange(segments.size() * blocks, 1, (from, to) -> {
            for (int q = from; q < to; q++) {
                Segment s = segments.get(q / blocks);
                int j0 = (q % blocks) * 64;
                convBlock(l, s.state.conv[layerIndex], s, j0, Math.min(ch, j0 + 64), k, ch, rIn);
            }
        });

        // SSM recurrence and gating, per segment and head.
        final int h = c.nVHeads();
        parallel.forRange(segments.size() * h, 1, (from, to) -> {
            for (int q = from; q < to; q++) {
                Segment s = segments.get(q / h);
                ssmHead(l, s.state.ssm[layerIndex], s, q % h);
            }
        });

        l.outProj.matmul(parallel, y, t, tmp, d);
        addBias(tmp, t, d, l.outProjBias);
        CpuKernels.add(x, 0, tmp, 0, t * d);
    }

    /** c_t[j] = bias[j] + Σ_k w[j,k]·xBC_{t-K+1+k}[j], inputs before the window are zero; then the window moves. */
    private void convBlock(Layer l, float[] window, Segment s, int j0, int j1, int k, int ch, int rIn) {
        int km1 = k - 1;
        int len = s.length;
        boolean silu = c.convSilu();
        for (int j = j0; j < j1; j++) {
            float bias = l.convB[j];
            int wBase = j * k;
            for (int i = 0; i < len; i++) {
                float acc = bias;
                for (int q = 0; q < k; q++) {
                    int src = i + q - km1; // index among this segment's tokens; negative: from the window
                    float v = src >= 0 ? proj[(s.row + src) * rIn + j] : window[(km1 + src) * ch + j];
                    acc += l.convW[wBase + q] * v;
                }
                conv[(s.row + i) * ch + j] = silu ? CpuKernels.silu(acc) : acc;
            }
            // New window: the last K-1 inputs of (window ++ this segment's tokens).
            if (km1 > 0) {
                if (len >= km1) {
                    for (int q = 0; q < km1; q++) {
                        window[q * ch + j] = proj[(s.row + len - km1 + q) * rIn + j];
                    }
                } else {
                    for (int q = 0; q < km1 - len; q++) {
                        window[q * ch + j] = window[(q + len) * ch + j];
                    }
                    for (int q = 0; q < len; q++) {
                        window[(km1 - len + q) * ch + j] = proj[(s.row + q) * rIn + j];
                    }
                }
            }
        }
    }

    /** S ← decay·S + x ⊗ B; y = S·C + D·x; out = y ⊙ silu(z + z_bias), for one head over the segment's tokens. */
    private void ssmHead(Layer l, float[] state, Segment s, int h) {
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
        final int bound = F.loopBound(n);
        for (int i = 0; i < s.length; i++) {
            int row = s.row + i;
            int cv = row * ch;
            float decay = (float) Math.exp(-CpuKernels.softplus(proj[row * rIn + aOff]));
            for (int pi = 0; pi < p; pi++) {
                float xv = conv[cv + xOff + pi];
                int so = sBase + pi * n;
                FloatVector acc = FloatVector.zero(F);
                int ni = 0;
                for (; ni < bound; ni += F.length()) {
                    FloatVector sv = FloatVector.fromArray(F, state, so + ni);
                    FloatVector bv = FloatVector.fromArray(F, conv, cv + bOff + ni);
                    sv = sv.mul(decay).add(bv.mul(xv));
                    sv.intoArray(state, so + ni);
                    acc = sv.fma(FloatVector.fromArray(F, conv, cv + cOff + ni), acc);
                }
                float yv = acc.reduceLanes(VectorOperators.ADD);
                for (; ni < n; ni++) {
                    float sv = state[so + ni] * decay + xv * conv[cv + bOff + ni];
                    state[so + ni] = sv;
                    yv += sv * conv[cv + cOff + ni];
                }
                yv += dh * xv;
                float z = proj[row * rIn + zOff + pi] + (l.zBias != null ? l.zBias[xOff + pi] : 0f);
                y[row * di + xOff + pi] = yv * CpuKernels.silu(z);
            }
        }
    }

    private void mlp(Layer l, int t) {
        final int d = c.dModel();
        final int in = c.intermediateSize();
        norm(l.postNorm, t);
        l.gate.matmul(parallel, xn, t, gateBuf, in);
        l.up.matmul(parallel, xn, t, upBuf, in);
        parallel.forRange(t, 4, (from, to) -> {
            for (int r = from; r < to; r++) {
                CpuKernels.swiglu(gateBuf, r * in, upBuf, r * in, in);
            }
        });
        l.down.matmul(parallel, gateBuf, t, tmp, d);
        CpuKernels.add(x, 0, tmp, 0, t * d);
    }

    private void logits(List<Segment> segments) {
        final int d = c.dModel();
        final int v = c.vocabSize();
        int rows = 0;
        for (Segment s : segments) {
            if (s.wantsLogits()) {
                rows += s.entry.allPositions() ? s.length : 1;
            }
        }
        if (rows == 0) {
            return;
        }
        // Gather the hidden rows that need logits, normalised, into xn.
        int r = 0;
        for (Segment s : segments) {
            if (!s.wantsLogits()) {
                continue;
            }
            int first = s.entry.allPositions() ? 0 : s.length - 1;
            for (int i = first; i < s.length; i++) {
                CpuKernels.rmsnorm(x, (s.row + i) * d, finalNorm, xn, r * d, d, c.normEpsilon());
                r++;
            }
        }
        if (logitRows == null || logitRows.length < rows * v) {
            logitRows = new float[rows * v];
        }
        head.matmul(parallel, xn, rows, logitRows, v);
        r = 0;
        for (Segment s : segments) {
            if (!s.wantsLogits()) {
                continue;
            }
            if (s.entry.allPositions()) {
                System.arraycopy(logitRows, r * v, s.entry.logits(), s.from * v, s.length * v);
                r += s.length;
            } else {
                System.arraycopy(logitRows, r * v, s.entry.logits(), 0, v);
                r++;
            }
        }
    }

    @Override
    public void close() {
        parallel.close();
        checkpoint.close();
    }
}
