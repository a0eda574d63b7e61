package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.llama.LlamaConfig;

/**
 * Llama's weights resident on a device: matrices in the chosen format (F32 or BF16), norms in F32.
 * The q, k and v projections are stacked into one matrix (one product per layer, its output a row
 * of q, then k, then v), and gate and up are interleaved row by row as for Llamba, so that the
 * SwiGLU product pairs neighbours.
 */
final class LlamaCudaWeights extends CudaWeights {
    /** Device addresses of one layer's tensors. */
    record Layer(long inNorm, long qkv, long o, long postNorm, long gateUp, long down) {
    }

    final Layer[] layers;
    final long embedding;
    final long head;
    final long finalNorm;

    LlamaCudaWeights(Device dev, LlamaConfig c, DType matrixType) {
        super(dev, matrixType);
        boolean ok = false;
        try {
            int d = c.hiddenSize();
            int v = c.vocabSize();
            int qs = c.qSize();
            int kv = c.kvSize();
            embedding = matrix("model.embed_tokens.weight", v, d, 1).at(0);
            head = c.tieWordEmbeddings() ? embedding : matrix("lm_head.weight", v, d, 1).at(0);
            finalNorm = vector("model.norm.weight", d).at(0);
            layers = new Layer[c.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = "model.layers." + i + ".";
                long inNorm = vector(p + "input_layernorm.weight", d).at(0);
                DeviceBuffer qkv = sharedMatrix(p + "self_attn.{q,k,v}_proj.weight", qs + 2L * kv, d);
                stacked(p + "self_attn.q_proj.weight", qkv, 0, qs, d);
                stacked(p + "self_attn.k_proj.weight", qkv, qs, kv, d);
                stacked(p + "self_attn.v_proj.weight", qkv, qs + kv, kv, d);
                long o = matrix(p + "self_attn.o_proj.weight", d, qs, 1).at(0);
                long postNorm = vector(p + "post_attention_layernorm.weight", d).at(0);
                DeviceBuffer gu = matrix(p + "mlp.gate_proj.weight", c.intermediateSize(), d, 2);
                interleaved(p + "mlp.up_proj.weight", gu, c.intermediateSize(), d);
                long down = matrix(p + "mlp.down_proj.weight", d, c.intermediateSize(), 1).at(0);
                layers[i] = new Layer(inNorm, qkv.at(0), o, postNorm, gu.at(0), down);
            }
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }
}
