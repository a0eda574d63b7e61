package io.llamba.engine.llama;

import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;

/**
 * A Hugging Face Llama {@code config.json} ({@code model_type} "llama"), with transformers' defaults
 * for absent keys and every derived size. Unknown keys are ignored (Hugging Face configs carry many);
 * known keys are type- and range-checked, with errors naming the field. Both ways transformers
 * writes RoPE settings are read: {@code rope_scaling} plus {@code rope_theta} (files on the Hub), and
 * {@code rope_parameters} with {@code rope_theta} inside (transformers 5).
 */
public record LlamaConfig(
        int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
        int numHeads, int numKvHeads, int headDim, float rmsNormEps,
        Rope rope, int maxPositionEmbeddings, boolean tieWordEmbeddings) {

    /** transformers' LlamaConfig defaults. */
    public static final double DEFAULT_RMS_NORM_EPS = 1e-6;
    public static final double DEFAULT_ROPE_THETA = 10000.0;
    public static final int DEFAULT_MAX_POSITION_EMBEDDINGS = 2048;

    /**
     * RoPE frequencies: {@code theta^(-2i/d)}, and for {@code llama3} the frequency scaling of
     * Llama 3.1 (a wavelength longer than {@code originalContext/lowFreqFactor} is stretched by
     * {@code factor}, one shorter than {@code originalContext/highFreqFactor} is kept, and those in
     * between are interpolated).
     */
    public record Rope(double theta, boolean llama3, double factor, double lowFreqFactor, double highFreqFactor,
                       int originalMaxPositionEmbeddings) {
        public static Rope plain(double theta) {
            return new Rope(theta, false, 1, 1, 1, 0);
        }

        public String describe() {
            return llama3 ? "llama3 (theta " + theta + ", factor " + factor + ", low " + lowFreqFactor + ", high "
                    + highFreqFactor + ", original context " + originalMaxPositionEmbeddings + ")" : "default (theta " + theta + ")";
        }
    }

    public static LlamaConfig from(JsonObject json) {
        String act = json.optString("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw json.error("hidden_act", "unsupported activation '" + act + "' (supported: silu)");
        }
        // The plugin binds no bias tensors; accepting these flags would silently ignore them.
        for (String flag : new String[]{"attention_bias", "mlp_bias"}) {
            if (json.optBoolean(flag, false)) {
                throw json.error(flag, "true is not supported by the Llama plugin (no bias tensors)");
            }
        }
        int hidden = positive(json, "hidden_size", json.getInt("hidden_size"));
        int heads = positive(json, "num_attention_heads", json.getInt("num_attention_heads"));
        int kvHeads = json.has("num_key_value_heads") ? positive(json, "num_key_value_heads", json.getInt("num_key_value_heads")) : heads;
        if (heads % kvHeads != 0) {
            throw json.error("num_key_value_heads", kvHeads + " does not divide num_attention_heads " + heads);
        }
        int headDim;
        if (json.has("head_dim")) {
            headDim = positive(json, "head_dim", json.getInt("head_dim"));
        } else if (hidden % heads != 0) {
            throw json.error("num_attention_heads", "hidden_size " + hidden + " is not a multiple of " + heads + " and head_dim is absent");
        } else {
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw json.error(json.has("head_dim") ? "head_dim" : "num_attention_heads", "head_dim " + headDim + " must be even (RoPE rotates pairs)");
        }
        double eps = json.optDouble("rms_norm_eps", DEFAULT_RMS_NORM_EPS);
        if (!(eps > 0)) {
            throw json.error("rms_norm_eps", "must be positive, got " + eps);
        }
        LlamaConfig c = new LlamaConfig(
                positive(json, "vocab_size", json.getInt("vocab_size")),
                hidden,
                positive(json, "intermediate_size", json.getInt("intermediate_size")),
                positive(json, "num_hidden_layers", json.getInt("num_hidden_layers")),
                heads, kvHeads, headDim, (float) eps,
                rope(json),
                positive(json, "max_position_embeddings", json.optInt("max_position_embeddings", DEFAULT_MAX_POSITION_EMBEDDINGS)),
                json.optBoolean("tie_word_embeddings", false));
        long widest = Math.max(Math.max((long) heads * headDim, c.intermediateSize), c.hiddenSize);
        if (widest * MAX_ROWS_PER_PASS > Integer.MAX_VALUE / 2 || (long) c.vocabSize * c.hiddenSize > Integer.MAX_VALUE * 8L) {
            throw new JsonException(json.origin() + ": configuration too large");
        }
        return c;
    }

    /** Rows one CPU pass computes at once; bounds scratch sizes (checked above against int overflow). */
    static final int MAX_ROWS_PER_PASS = 256;

    private static Rope rope(JsonObject json) {
        // transformers 5: rope_parameters {rope_type, rope_theta, ...}; earlier: rope_scaling (or null) + rope_theta.
        String key = json.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
        JsonObject r = json.optObject(key);
        double theta = r.has("rope_theta") ? r.getDouble("rope_theta") : json.optDouble("rope_theta", DEFAULT_ROPE_THETA);
        if (!(theta > 1)) {
            throw (r.has("rope_theta") ? r : json).error("rope_theta", "must be greater than 1, got " + theta);
        }
        String typeKey = r.has("rope_type") ? "rope_type" : "type";
        String type = r.optString(typeKey, "default");
        return switch (type) {
            case "default" -> Rope.plain(theta);
            case "llama3" -> {
                double factor = r.getDouble("factor");
                double low = r.getDouble("low_freq_factor");
                double high = r.getDouble("high_freq_factor");
                int original = r.getInt("original_max_position_embeddings");
                if (!(factor >= 1)) {
                    throw r.error("factor", "must be at least 1, got " + factor);
                }
                if (!(low > 0)) {
                    throw r.error("low_freq_factor", "must be positive, got " + low);
                }
                if (!(high > low)) {
                    throw r.error("high_freq_factor", "must be greater than low_freq_factor " + low + ", got " + high);
                }
                positive(r, "original_max_position_embeddings", original);
                yield new Rope(theta, true, factor, low, high, original);
            }
            default -> throw r.error(typeKey, "unsupported RoPE type '" + type + "' (supported: default, llama3)");
        };
    }

    private static int positive(JsonObject o, String key, int v) {
        if (v <= 0) {
            throw o.error(key, "must be positive, got " + v);
        }
        return v;
    }

    /** Query width: heads · head_dim (not always hidden_size). */
    public int qSize() {
        return numHeads * headDim;
    }

    /** Key (and value) width: kv heads · head_dim. */
    public int kvSize() {
        return numKvHeads * headDim;
    }

    /** Query heads sharing one key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** KV cache floats per token: keys and values of every layer. */
    public long kvFloatsPerToken() {
        return 2L * numLayers * kvSize();
    }

    /** Bytes of one sequence's float32 KV cache at {@code tokens} tokens. */
    public long kvBytes(long tokens) {
        return kvFloatsPerToken() * Float.BYTES * tokens;
    }

    /** The RoPE inverse frequency of each rotated pair i < head_dim/2, in double. */
    public double[] inverseFrequencies() {
        int half = headDim / 2;
        double[] f = new double[half];
        for (int i = 0; i < half; i++) {
            double base = Math.pow(rope.theta, -2.0 * i / headDim);
            f[i] = rope.llama3 ? llama3Scaled(base) : base;
        }
        return f;
    }

    private double llama3Scaled(double f) {
        double wavelen = 2 * Math.PI / f;
        double original = rope.originalMaxPositionEmbeddings;
        if (wavelen < original / rope.highFreqFactor) {
            return f;
        }
        if (wavelen > original / rope.lowFreqFactor) {
            return f / rope.factor;
        }
        double s = (original / wavelen - rope.lowFreqFactor) / (rope.highFreqFactor - rope.lowFreqFactor);
        return (1 - s) * f / rope.factor + s * f;
    }
}
