package io.llamba.engine.cuda;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.llamba.LlambaConfig;

/**
 * Llamba's weights resident on a device: matrices in the chosen format (F32 or BF16), vectors and
 * the conv in F32. Gate and up projections share one matrix with their rows interleaved
 * (gate₀, up₀, gate₁, ...), so one product yields both and SwiGLU pairs neighbours. Only the
 * vocabSize rows of the embedding and head that can be used are uploaded.
 */
final class LlambaCudaWeights extends CudaWeights {
    /** Device addresses of one layer's tensors (0 where the configuration has none). */
    record Layer(long inNorm, long inProj, long inBias, long zBias, long convW, long convB, long dSkip, long outProj,
                 long outBias, long postNorm, long gateUp, long down) {
    }

    final Layer[] layers;
    final long embedding;
    final long head;
    final long finalNorm;

    LlambaCudaWeights(Device dev, LlambaConfig c, DType matrixType) {
        super(dev, matrixType);
        boolean ok = false;
        try {
            int d = c.dModel();
            int v = c.vocabSize();
            embedding = matrix("backbone.embedding.weight", v, d, 1).at(0);
            head = c.tieEmbeddings() ? embedding : matrix("lm_head.weight", v, d, 1).at(0);
            finalNorm = vector("backbone.final_layernorm.weight", d).at(0);
            layers = new Layer[c.nLayer()];
            for (int i = 0; i < layers.length; i++) {
                String p = "backbone.layers." + i + ".";
                long inNorm = vector(p + "input_layernorm.weight", d).at(0);
                long inProj = matrix(p + "mixer.in_proj.weight", c.inProjRows(), d, 1).at(0);
                long inBias = c.ssmBias() ? vector(p + "mixer.in_proj.bias", c.inProjRows()).at(0) : 0;
                long zBias = c.ssmBias() ? 0 : vector(p + "mixer.z_bias", c.innerSize()).at(0);
                long conv = f32(p + "mixer.conv1d.weight", c.convChannels(), c.dConv()).at(0);
                long convB = vector(p + "mixer.conv1d.bias", c.convChannels()).at(0);
                long dSkip = vector(p + "mixer.D", c.nVHeads()).at(0);
                long outProj = matrix(p + "mixer.out_proj.weight", d, c.innerSize(), 1).at(0);
                long outBias = c.ssmBias() ? vector(p + "mixer.out_proj.bias", d).at(0) : 0;
                long postNorm = vector(p + "post_attention_layernorm.weight", d).at(0);
                DeviceBuffer gu = matrix(p + "mlp.gate_proj.weight", c.intermediateSize(), d, 2);
                interleaved(p + "mlp.up_proj.weight", gu, c.intermediateSize(), d);
                long down = matrix(p + "mlp.down_proj.weight", d, c.intermediateSize(), 1).at(0);
                layers[i] = new Layer(inNorm, inProj, inBias, zBias, conv, convB, dSkip, outProj, outBias, postNorm, gu.at(0), down);
            }
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }
}
