package io.llamba.engine.llama;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.cuda.BackendChoice;
import io.llamba.engine.cuda.LlamaCudaModel;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelArchitecture;
import io.llamba.engine.model.TensorSpec;
import io.llamba.engine.model.TensorSpec.Constant;
import io.llamba.engine.model.TensorSpec.Normal;

import java.util.ArrayList;
import java.util.List;

/**
 * The Llama-3.x Transformer plugin ({@code model_type} "llama": Hugging Face {@code LlamaForCausalLM}
 * checkpoints such as Llama-3.2-1B-Instruct), served beside Llamba through the same SPI so that an
 * application moves between the two by changing only the model it points at.
 */
public final class LlamaArchitecture implements ModelArchitecture {
    public static final String MODEL_TYPE = "llama";

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public List<TensorSpec> tensorSpecs(JsonObject json) {
        LlamaConfig c = LlamaConfig.from(json);
        int d = c.hiddenSize();
        int layers = c.numLayers();
        float std = (float) (1.0 / Math.sqrt(d));
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(TensorSpec.of("model.embed_tokens.weight", new Normal(1f), c.vocabSize(), d));
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            specs.add(TensorSpec.of(p + "input_layernorm.weight", new Constant(1f), d));
            specs.add(TensorSpec.of(p + "self_attn.q_proj.weight", new Normal(std), c.qSize(), d));
            specs.add(TensorSpec.of(p + "self_attn.k_proj.weight", new Normal(std), c.kvSize(), d));
            specs.add(TensorSpec.of(p + "self_attn.v_proj.weight", new Normal(std), c.kvSize(), d));
            specs.add(TensorSpec.of(p + "self_attn.o_proj.weight", new Normal((float) (1.0 / Math.sqrt(c.qSize())) / layers), d, c.qSize()));
            specs.add(TensorSpec.of(p + "post_attention_layernorm.weight", new Constant(1f), d));
            specs.add(TensorSpec.of(p + "mlp.gate_proj.weight", new Normal(std), c.intermediateSize(), d));
            specs.add(TensorSpec.of(p + "mlp.up_proj.weight", new Normal(std), c.intermediateSize(), d));
            specs.add(TensorSpec.of(p + "mlp.down_proj.weight", new Normal((float) (1.0 / Math.sqrt(c.intermediateSize())) / layers),
                    d, c.intermediateSize()));
        }
        specs.add(TensorSpec.of("model.norm.weight", new Constant(1f), d));
        if (!c.tieWordEmbeddings()) {
            specs.add(TensorSpec.of("lm_head.weight", new Normal(std), c.vocabSize(), d));
        }
        return specs;
    }

    /** CPU or CUDA as {@link BackendChoice} decides, as for every architecture. */
    @Override
    public Model load(String name, JsonObject json, Checkpoint checkpoint, LoadOptions options) {
        LlamaConfig config = LlamaConfig.from(json);
        return BackendChoice.load(name, options, () -> LlamaCudaModel.load(name, json, checkpoint, options),
                () -> new LlamaCpuModel(name, config, checkpoint, options.effectiveThreads(), options.quantization()));
    }
}
