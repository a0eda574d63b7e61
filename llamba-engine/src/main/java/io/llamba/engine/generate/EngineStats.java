package io.llamba.engine.generate;

/**
 * A snapshot of the engine's load, for health and metrics.
 *
 * @param running           sequences holding a state slot
 * @param waiting           requests queued for a slot
 * @param capacity          state slots
 * @param queueLimit        the most requests that may wait
 * @param stateBytesInUse   bytes of the states held by running sequences
 * @param stateBytesCapacity bytes all slots would hold
 * @param promptTokens      prompt tokens prefilled since start
 * @param generatedTokens   tokens generated since start
 * @param completed         requests ended since start (any reason)
 * @param rejected          requests refused because the queue was full
 * @param failed            requests ended by an engine error
 */
public record EngineStats(int running, int waiting, int capacity, int queueLimit, long stateBytesInUse, long stateBytesCapacity,
                          long promptTokens, long generatedTokens, long completed, long rejected, long failed) {
}
