package io.llamba.engine.tokenizer;

/**
 * The byte-level BPE model proper: token bytes, merge rules, and the token of each single byte.
 *
 * <p>Both file formats reduce to the same rule: repeatedly merge the adjacent pair with the lowest
 * rank, leftmost first. Hugging Face ranks a pair by its line in {@code merges}; tiktoken ranks it by
 * the rank of the merged token, and the tiktoken loader derives the pair table from the vocabulary.
 *
 * @param tokens       bytes of every id (added tokens included), index over the model's own tokens
 * @param merges       pair rules
 * @param byteTokens   id of each single byte, -1 when the vocabulary lacks it
 * @param ignoreMerges a piece that is itself a token is emitted whole, before any merging (Llama 3 and
 *                     tiktoken do this; it is also what makes encoding fast)
 * @param unknownId    emitted for a byte without a token, or -1 to drop such bytes (Hugging Face with
 *                     no {@code unk_token})
 * @param fuseUnknown  consecutive unknown bytes give one {@code unknownId}
 * @param bytePairs    the merge value of every pair of single-byte tokens, indexed by
 *                     {@code first << 8 | second}: the first round of merging reads this 512 KiB
 *                     array instead of hashing
 */
record BpeModel(TokenTable tokens, MergeTable merges, int[] byteTokens, boolean ignoreMerges, int unknownId,
                boolean fuseUnknown, long[] bytePairs) {

    static BpeModel of(TokenTable tokens, MergeTable merges, int[] byteTokens, boolean ignoreMerges, int unknownId,
                       boolean fuseUnknown) {
        long[] pairs = new long[256 * 256];
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                pairs[a << 8 | b] = byteTokens[a] < 0 || byteTokens[b] < 0
                        ? MergeTable.NONE : merges.get(byteTokens[a], byteTokens[b]);
            }
        }
        return new BpeModel(tokens, merges, byteTokens, ignoreMerges, unknownId, fuseUnknown, pairs);
    }
}
