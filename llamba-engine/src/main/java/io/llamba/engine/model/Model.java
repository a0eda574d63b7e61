package io.llamba.engine.model;

/**
 * A model loaded onto a backend, ready to run batches. Thread-safety: {@link #forward} is called by
 * one thread at a time (the engine's step loop); everything else may be called from any thread.
 */
public interface Model extends AutoCloseable {
    ModelInfo info();

    /** Ids in [0, vocabSize) may be produced; padded embedding rows are excluded. */
    default int vocabSize() {
        return info().vocabSize();
    }

    /** A pool of {@code capacity} state slots for sequences of this model, up to its own context limit. */
    StatePool createStatePool(int capacity);

    /**
     * A pool of {@code capacity} slots for sequences of at most {@code maxContext} tokens (the engine
     * passes its context limit). A model whose per-sequence state grows with the context (a KV cache)
     * sizes and reports its slots from it; one with a fixed-size state needs not override this.
     */
    default StatePool createStatePool(int capacity, int maxContext) {
        return createStatePool(capacity);
    }

    /** Runs the batch: advances every entry's state and writes the logits it asks for. */
    void forward(ForwardBatch batch);

    @Override
    void close();
}
