package io.llamba.engine.model;

import java.util.Map;

/**
 * What a loaded model is, for logs, health and metrics.
 *
 * @param name                   the model's name (its directory name, or a repository id)
 * @param architecture           the {@code model_type}, e.g. "llamba"
 * @param vocabSize              ids the model may produce: [0, vocabSize); padded rows excluded
 * @param hiddenSize             d_model
 * @param layers                 number of layers
 * @param parameters             parameters in the checkpoint (padded rows included)
 * @param weightBytes            bytes of weights as held by the backend
 * @param stateBytesPerSequence  bytes of one sequence's recurrent state (or cache at full context)
 * @param maxContext             longest sequence the engine accepts (prompt plus generated tokens)
 * @param backend                "cpu" or "cuda"
 * @param device                 what the backend runs on, in words
 * @param details                architecture-specific facts (heads, d_state, ...)
 */
public record ModelInfo(String name, String architecture, int vocabSize, int hiddenSize, int layers, long parameters,
                        long weightBytes, long stateBytesPerSequence, int maxContext, String backend, String device,
                        Map<String, Object> details) {
}
