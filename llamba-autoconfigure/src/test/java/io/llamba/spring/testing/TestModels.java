package io.llamba.spring.testing;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.model.RandomCheckpoint;

import java.io.IOException;
import java.nio.file.Path;

/** Tiny real Llamba checkpoints (random weights) with the byte-level test tokenizer, written into a directory. */
public final class TestModels {
    private TestModels() {
    }

    /** A two-layer Llamba of width 32 over the test tokenizer's vocabulary: a few hundred KB, milliseconds per token. */
    public static Path tinyLlamba(Path dir) throws IOException {
        String config = """
                {"model_type": "llamba", "vocab_size": %d, "d_model": 32, "n_layer": 2, "tie_embeddings": true,
                 "mlp_cfg": {"intermediate_size": 64}, "ssm_cfg": {"d_state": 8, "n_v_heads": 4, "n_qk_heads": 2}}"""
                .formatted(TestTokenizer.VOCAB);
        RandomCheckpoint.write(Json.parseObject(config, "config"), DType.BF16, dir, 7, Long.MAX_VALUE);
        TestTokenizer.write(dir);
        return dir;
    }
}
