package io.llamba.engine.llamba;

import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;

/**
 * A Llamba {@code config.json}, with the defaults of the architecture and every derived size.
 * Unknown keys are ignored (Hugging Face configs carry many); known keys are type- and range-checked,
 * with errors naming the field.
 */
public record LlambaConfig(
        int vocabSize, int padVocabSizeMultiple, boolean tieEmbeddings,
        int dModel, int nLayer, float normEpsilon,
        int intermediateSize,
        int dState, int nVHeads, int nQkHeads, int expand, int dConv, boolean convSilu, boolean ssmBias, int chunkSize,
        int maxContext) {

    /** The teacher's context length; Llamba's state does not grow, this bounds what we accept. */
    public static final int DEFAULT_MAX_CONTEXT = 131072;

    public static LlambaConfig from(JsonObject json) {
        JsonObject mlp = json.optObject("mlp_cfg");
        JsonObject ssm = json.optObject("ssm_cfg");
        String act = mlp.optString("act_fn", "silu");
        if (!act.equals("silu")) {
            throw mlp.error("act_fn", "unsupported activation '" + act + "' (supported: silu)");
        }
        String convAct = ssm.optString("activation", "identity");
        if (!convAct.equals("identity") && !convAct.equals("silu")) {
            throw ssm.error("activation", "unsupported conv activation '" + convAct + "' (supported: identity, silu)");
        }
        // The architecture has no tensors for these; accepting them would silently ignore the flag.
        if (json.optBoolean("lm_head_bias", false)) {
            throw json.error("lm_head_bias", "true is not supported by the Llamba architecture (no lm_head.bias tensor)");
        }
        if (mlp.optBoolean("bias", false)) {
            throw mlp.error("bias", "true is not supported by the Llamba architecture (the MLP has no biases)");
        }
        LlambaConfig c = new LlambaConfig(
                positive(json, "vocab_size", json.getInt("vocab_size")),
                positive(json, "pad_vocab_size_multiple", json.optInt("pad_vocab_size_multiple", 8)),
                json.optBoolean("tie_embeddings", false),
                positive(json, "d_model", json.getInt("d_model")),
                positive(json, "n_layer", json.getInt("n_layer")),
                (float) json.optDouble("norm_epsilon", 1e-5),
                positive(mlp, "intermediate_size", mlp.getInt("intermediate_size")),
                positive(ssm, "d_state", ssm.getInt("d_state")),
                positive(ssm, "n_v_heads", ssm.getInt("n_v_heads")),
                positive(ssm, "n_qk_heads", ssm.getInt("n_qk_heads")),
                positive(ssm, "expand", ssm.optInt("expand", 1)),
                positive(ssm, "d_conv", ssm.optInt("d_conv", 4)),
                convAct.equals("silu"),
                ssm.optBoolean("bias", false),
                positive(ssm, "chunk_size", ssm.optInt("chunk_size", 128)),
                positive(json, "max_position_embeddings", json.optInt("max_position_embeddings", DEFAULT_MAX_CONTEXT)));
        if (!(c.normEpsilon > 0)) {
            throw json.error("norm_epsilon", "must be positive, got " + c.normEpsilon);
        }
        if (c.nVHeads % c.nQkHeads != 0) {
            throw ssm.error("n_v_heads", c.nVHeads + " is not a multiple of n_qk_heads " + c.nQkHeads);
        }
        if (c.innerSize() % c.nVHeads != 0) {
            throw ssm.error("n_v_heads", "expand·d_model = " + c.innerSize() + " is not a multiple of n_v_heads " + c.nVHeads);
        }
        long inProj = (long) c.innerSize() * 2 + 2L * c.nQkHeads * c.dState + c.nVHeads;
        if (inProj > Integer.MAX_VALUE / 4 || (long) c.paddedVocabSize() * c.dModel > Integer.MAX_VALUE * 8L) {
            throw new JsonException(json.origin() + ": configuration too large");
        }
        return c;
    }

    private static int positive(JsonObject o, String key, int v) {
        if (v <= 0) {
            throw o.error(key, "must be positive, got " + v);
        }
        return v;
    }

    /** Embedding rows: vocab_size rounded up to a multiple of pad_vocab_size_multiple. */
    public int paddedVocabSize() {
        return (vocabSize + padVocabSizeMultiple - 1) / padVocabSizeMultiple * padVocabSizeMultiple;
    }

    /** Di = expand · d_model. */
    public int innerSize() {
        return expand * dModel;
    }

    /** P: values per head. */
    public int headDim() {
        return innerSize() / nVHeads;
    }

    /** C = Di + 2·G·N: the conv channels (x, B and C). */
    public int convChannels() {
        return innerSize() + 2 * nQkHeads * dState;
    }

    /** Rows of in_proj: xBC, z, a. */
    public int inProjRows() {
        return convChannels() + innerSize() + nVHeads;
    }

    /** Floats of one layer's recurrent state: conv window C·(K-1) plus SSM H·P·N. */
    public long stateFloatsPerLayer() {
        return (long) convChannels() * (dConv - 1) + (long) nVHeads * headDim() * dState;
    }

    public long stateBytesPerSequence() {
        return stateFloatsPerLayer() * nLayer * Float.BYTES;
    }
}
