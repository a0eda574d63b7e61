package io.llamba.engine.llama;

import io.llamba.engine.checkpoint.Checkpoint;
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

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llama on the CPU. A forward pass runs a ragged batch of token runs through the layers together:
 * every projection is one matrix-matrix product over all tokens of the pass; RoPE, the KV cache
 * writes and attention run per token (over kv heads in parallel), each token attending to its own
 * sequence's cache up to and including its position. Weight matrices are packed at load time into
 * off-heap memory in the checkpoint's format or a quantized one (the CPU backend's {@link CpuMatrix});
 * the embedding is read in place from the checkpoint.
 */
final class LlamaCpuModel implements Model {
    static final int MAX_TOKENS_PER_PASS = LlamaConfig.MAX_ROWS_PER_PASS;

    private final LlamaConfig c;
    private final Checkpoint checkpoint;
    private final Parallel parallel;
    /** Off-heap memory of the packed matrices, freed by {@link #close}. */
    private final Arena weights;
    private final WeightFormat format;
    private final MatmulScratch scratch = new MatmulScratch();
    private final TensorInfo embedding;
    private final CpuMatrix head;
    private final float[] finalNorm;
    private final Layer[] layers;
    private final double[] invFreq;
    private final float scale;
    private final ModelInfo info;
    /** Per worker thread: attention scores of one group of heads. */
    private final ThreadLocal<float[]> scoreScratch = ThreadLocal.withInitial(() -> new float[0]);

    private record Layer(float[] inNorm, CpuMatrix q, CpuMatrix k, CpuMatrix v, CpuMatrix o, float[] postNorm,
                         CpuMatrix gate, CpuMatrix up, CpuMatrix down) {
    }

    /** A run of one entry's tokens inside a pass, at rows [row, row+length) of the scratch. */
    private record Segment(ForwardBatch.Entry entry, LlamaCpuState state, int from, int length, int row) {
        boolean wantsLogits() {
            return entry.logits() != null && (entry.allPositions() || from + length == entry.length());
        }
    }

    // Scratch, grown on demand; forward() runs on one thread at a time.
    private int capacity;
    private float[] x;
    private float[] xn;
    private float[] q;
    private float[] k;
    private float[] v;
    private float[] att;
    private float[] tmp;
    private float[] gateBuf;
    private float[] upBuf;
    private float[] cos;
    private float[] sin;
    private float[] logitRows;
    private LlamaCpuState[] rowState;
    private int[] rowPos;

    LlamaCpuModel(String name, LlamaConfig c, Checkpoint ck, int threads, Quantization quantization) {
        this.c = c;
        this.checkpoint = ck;
        this.embedding = ck.get("model.embed_tokens.weight");
        this.format = WeightFormat.of(embedding.dtype(), quantization);
        this.parallel = new Parallel(threads);
        this.weights = Arena.ofShared();
        try {
            this.head = pack(WeightSource.of(c.tieWordEmbeddings() ? embedding : ck.get("lm_head.weight"), c.vocabSize()));
            this.finalNorm = ck.get("model.norm.weight").toFloatArray();
            this.layers = new Layer[c.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = "model.layers." + i + ".";
                layers[i] = new Layer(
                        ck.get(p + "input_layernorm.weight").toFloatArray(),
                        pack(WeightSource.of(ck.get(p + "self_attn.q_proj.weight"))),
                        pack(WeightSource.of(ck.get(p + "self_attn.k_proj.weight"))),
                        pack(WeightSource.of(ck.get(p + "self_attn.v_proj.weight"))),
                        pack(WeightSource.of(ck.get(p + "self_attn.o_proj.weight"))),
                        ck.get(p + "post_attention_layernorm.weight").toFloatArray(),
                        pack(WeightSource.of(ck.get(p + "mlp.gate_proj.weight"))),
                        pack(WeightSource.of(ck.get(p + "mlp.up_proj.weight"))),
                        pack(WeightSource.of(ck.get(p + "mlp.down_proj.weight"))));
            }
        } catch (RuntimeException | Error e) {
            parallel.close();
            weights.close();
            throw e;
        }
        this.invFreq = c.inverseFrequencies();
        this.scale = (float) (1.0 / Math.sqrt(c.headDim()));
        long params = ck.tensors().values().stream().mapToLong(TensorInfo::elementCount).sum();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("num_attention_heads", c.numHeads());
        details.put("num_key_value_heads", c.numKvHeads());
        details.put("head_dim", c.headDim());
        details.put("intermediate_size", c.intermediateSize());
        details.put("rope", c.rope().describe());
        details.put("tie_word_embeddings", c.tieWordEmbeddings());
        details.put("weight_dtype", embedding.dtype().name());
        details.put("weight_format", format.label());
        details.put("kv_cache", "float32, paged in blocks of " + LlamaCpuStatePool.BLOCK_TOKENS + " positions");
        details.put("kv_cache_bytes_per_token", c.kvBytes(1));
        details.put("threads", threads);
        this.info = new ModelInfo(name, LlamaArchitecture.MODEL_TYPE, c.vocabSize(), c.hiddenSize(), c.numLayers(), params,
                ck.totalBytes(), c.kvBytes(c.maxPositionEmbeddings()), c.maxPositionEmbeddings(), "cpu",
                Runtime.getRuntime().availableProcessors() + " processors, " + threads + " threads, "
                        + System.getProperty("os.arch") + ", " + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors, "
                        + format.label() + " weights",
                details);
    }

    private CpuMatrix pack(WeightSource src) {
        return CpuMatrix.pack(src, format, weights, parallel);
    }

    /** Y = X·Wᵀ over the pass's t rows, with the model's scratch. */
    private void matmul(CpuMatrix m, float[] in, int t, float[] out, int stride) {
        m.matmul(parallel, scratch, in, t, out, stride, false);
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    LlamaConfig config() {
        return c;
    }

    @Override
    public StatePool createStatePool(int capacity) {
        return createStatePool(capacity, c.maxPositionEmbeddings());
    }

    /** Slots whose KV cache holds up to {@code maxContext} tokens (at most the model's max_position_embeddings). */
    @Override
    public StatePool createStatePool(int capacity, int maxContext) {
        return new LlamaCpuStatePool(c, capacity, Math.min(maxContext, c.maxPositionEmbeddings()));
    }

    @Override
    public void forward(ForwardBatch batch) {
        Map<LlamaCpuState, Boolean> seen = new IdentityHashMap<>();
        for (ForwardBatch.Entry e : batch.entries()) {
            if (!(e.state() instanceof LlamaCpuState s) || !s.config.equals(c)) {
                throw new IllegalArgumentException("state is not a Llama CPU state of this model");
            }
            if (seen.put(s, Boolean.TRUE) != null) {
                throw new IllegalArgumentException("a state appears twice in one batch");
            }
            if (e.logits() != null && e.logits().length < (long) e.logitRows() * c.vocabSize()) {
                throw new IllegalArgumentException("logits buffer holds " + e.logits().length + " floats, needs "
                        + (long) e.logitRows() * c.vocabSize());
            }
            if ((long) s.position + e.length() > s.contextLimit()) {
                throw new IllegalArgumentException("a sequence at position " + s.position + " cannot take " + e.length()
                        + " more tokens: its KV cache holds at most " + s.contextLimit() + " tokens (the context limit)");
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
            LlamaCpuState s = (LlamaCpuState) e.state();
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
        x = new float[t * c.hiddenSize()];
        xn = new float[t * c.hiddenSize()];
        q = new float[t * c.qSize()];
        k = new float[t * c.kvSize()];
        v = new float[t * c.kvSize()];
        att = new float[t * c.qSize()];
        tmp = new float[t * c.hiddenSize()];
        gateBuf = new float[t * c.intermediateSize()];
        upBuf = new float[t * c.intermediateSize()];
        cos = new float[t * c.headDim() / 2];
        sin = new float[t * c.headDim() / 2];
        rowState = new LlamaCpuState[t];
        rowPos = new int[t];
        capacity = t;
    }

    private void runPass(List<Segment> segments, int t) {
        ensureScratch(t);
        final int d = c.hiddenSize();
        final int half = c.headDim() / 2;
        for (Segment s : segments) {
            s.state.ensureCapacity(s.state.position + s.length);
            for (int i = 0; i < s.length; i++) {
                int r = s.row + i;
                CpuKernels.tensorRow(embedding, s.entry.token(s.from + i), d, x, r * d);
                rowState[r] = s.state;
                rowPos[r] = s.state.position + i;
            }
        }
        // The angles of every row's position, shared by all layers; computed in double as p·inv_freq.
        parallel.forRange(t, 16, (from, to) -> {
            for (int r = from; r < to; r++) {
                for (int i = 0; i < half; i++) {
                    double a = rowPos[r] * invFreq[i];
                    cos[r * half + i] = (float) Math.cos(a);
                    sin[r * half + i] = (float) Math.sin(a);
                }
            }
        });
        for (int i = 0; i < layers.length; i++) {
            attention(i, t);
            mlp(layers[i], t);
        }
        logits(segments);
        for (Segment s : segments) {
            s.state.position += s.length;
        }
    }

    private void norm(float[] w, int t) {
        int d = c.hiddenSize();
        float eps = c.rmsNormEps();
        parallel.forRange(t, 16, (from, to) -> {
            for (int r = from; r < to; r++) {
                CpuKernels.rmsnorm(x, r * d, w, xn, r * d, d, eps);
            }
        });
    }

    private void attention(int layerIndex, int t) {
        final Layer l = layers[layerIndex];
        final int hd = c.headDim();
        final int qs = c.qSize();
        final int kvs = c.kvSize();
        final int heads = c.numHeads();
        final int kvHeads = c.numKvHeads();
        final int group = c.groupSize();
        norm(l.inNorm, t);
        matmul(l.q, xn, t, q, qs);
        matmul(l.k, xn, t, k, kvs);
        matmul(l.v, xn, t, v, kvs);
        parallel.forRange(t, 8, (from, to) -> {
            for (int r = from; r < to; r++) {
                LlamaCpuKernels.rope(q, r * qs, heads, hd, cos, sin, r * (hd / 2));
                LlamaCpuKernels.rope(k, r * kvs, kvHeads, hd, cos, sin, r * (hd / 2));
                LlamaCpuKernels.store(rowState[r], layerIndex, rowPos[r], k, v, r * kvs, kvHeads, hd);
            }
        });
        // Every token of the pass has its keys in the cache now; each attends up to its own position.
        parallel.forRange(t * kvHeads, 1, (from, to) -> {
            for (int item = from; item < to; item++) {
                int r = item / kvHeads;
                int g = item % kvHeads;
                int n = rowPos[r] + 1;
                int need = group * LlamaCpuKernels.paddedLength(n);
                float[] scores = scoreScratch.get();
                if (scores.length < need) {
                    scores = new float[Math.max(need, scores.length * 2)];
                    scoreScratch.set(scores);
                }
                int off = r * qs + g * group * hd;
                LlamaCpuKernels.attend(q, off, group, hd, rowState[r], layerIndex, g, n, scale, scores, att, off);
            }
        });
        matmul(l.o, att, t, tmp, c.hiddenSize());
        CpuKernels.add(x, 0, tmp, 0, t * c.hiddenSize());
    }

    private void mlp(Layer l, int t) {
        final int d = c.hiddenSize();
        final int in = c.intermediateSize();
        norm(l.postNorm, t);
        matmul(l.gate, xn, t, gateBuf, in);
        matmul(l.up, xn, t, upBuf, in);
        parallel.forRange(t, 4, (from, to) -> {
            for (int r = from; r < to; r++) {
                LlamaCpuKernels.swiglu(gateBuf, r * in, upBuf, r * in, in);
            }
        });
        matmul(l.down, gateBuf, t, tmp, d);
        CpuKernels.add(x, 0, tmp, 0, t * d);
    }

    private void logits(List<Segment> segments) {
        final int d = c.hiddenSize();
        final int vocab = c.vocabSize();
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
                CpuKernels.rmsnorm(x, (s.row + i) * d, finalNorm, xn, r * d, d, c.rmsNormEps());
                r++;
            }
        }
        if (logitRows == null || logitRows.length < rows * vocab) {
            logitRows = new float[rows * vocab];
        }
        matmul(head, xn, rows, logitRows, vocab);
        r = 0;
        for (Segment s : segments) {
            if (!s.wantsLogits()) {
                continue;
            }
            if (s.entry.allPositions()) {
                System.arraycopy(logitRows, r * vocab, s.entry.logits(), s.from * vocab, s.length * vocab);
                r += s.length;
            } else {
                System.arraycopy(logitRows, r * vocab, s.entry.logits(), 0, vocab);
                r++;
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
