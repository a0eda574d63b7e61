package io.llamba.engine.llamba;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.cuda.BackendChoice;
import io.llamba.engine.cuda.LlambaCudaModel;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelArchitecture;
import io.llamba.engine.model.TensorSpec;
import io.llamba.engine.model.TensorSpec.Constant;
import io.llamba.engine.model.TensorSpec.Normal;
import io.llamba.engine.model.TensorSpec.Uniform;

import java.util.ArrayList;
import java.util.List;

/** The Llamba architecture plugin ({@code model_type} "llamba"). */
public final class LlambaArchitecture implements ModelArchitecture {
    public static final String MODEL_TYPE = "llamba";

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public List<TensorSpec> tensorSpecs(JsonObject json) {
        LlambaConfig c = LlambaConfig.from(json);
        int d = c.dModel();
        int di = c.innerSize();
        int h = c.nVHeads();
        int in = c.inProjRows();
        float std = (float) (1.0 / Math.sqrt(d));
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(TensorSpec.padded("backbone.embedding.weight", new Normal(1f), c.vocabSize(), c.paddedVocabSize(), d));
        for (int i = 0; i < c.nLayer(); i++) {
            String p = "backbone.layers." + i + ".";
            specs.add(TensorSpec.of(p + "input_layernorm.weight", new Constant(1f), d));
            specs.add(TensorSpec.of(p + "mixer.in_proj.weight", new Normal(std), in, d));
            if (c.ssmBias()) {
                specs.add(TensorSpec.of(p + "mixer.in_proj.bias", new Normal(0.02f), in));
            } else {
                specs.add(TensorSpec.of(p + "mixer.z_bias", new Normal(0.02f), di));
            }
            specs.add(TensorSpec.of(p + "mixer.conv1d.weight", new Normal((float) (1.0 / Math.sqrt(c.dConv()))), c.convChannels(), 1, c.dConv()));
            specs.add(TensorSpec.of(p + "mixer.conv1d.bias", new Normal(0.02f), c.convChannels()));
            specs.add(TensorSpec.of(p + "mixer.D", new Uniform(0.5f, 1.5f), h));
            specs.add(TensorSpec.of(p + "mixer.out_proj.weight", new Normal((float) (1.0 / Math.sqrt(di)) / c.nLayer()), d, di));
            if (c.ssmBias()) {
                specs.add(TensorSpec.of(p + "mixer.out_proj.bias", new Normal(0.02f), d));
            }
            specs.add(TensorSpec.of(p + "post_attention_layernorm.weight", new Constant(1f), d));
            specs.add(TensorSpec.of(p + "mlp.gate_proj.weight", new Normal(std), c.intermediateSize(), d));
            specs.add(TensorSpec.of(p + "mlp.up_proj.weight", new Normal(std), c.intermediateSize(), d));
            specs.add(TensorSpec.of(p + "mlp.down_proj.weight", new Normal((float) (1.0 / Math.sqrt(c.intermediateSize())) / c.nLayer()),
                    d, c.intermediateSize()));
        }
        specs.add(TensorSpec.of("backbone.final_layernorm.weight", new Constant(1f), d));
        if (!c.tieEmbeddings()) {
            specs.add(TensorSpec.padded("lm_head.weight", new Normal(std), c.vocabSize(), c.paddedVocabSize(), d));
        }
        return specs;
    }

    /** CPU or CUDA as {@link BackendChoice} decides, as for every architecture. */
    @Override
    public Model load(String name, JsonObject json, Checkpoint checkpoint, LoadOptions options) {
        LlambaConfig config = LlambaConfig.from(json);
        return BackendChoice.load(name, options, () -> LlambaCudaModel.load(name, json, checkpoint, options),
                () -> new LlambaCpuModel(name, config, checkpoint, options.effectiveThreads(), options.quantization()));
    }
}
