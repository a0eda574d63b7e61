package io.llamba.engine.cache;

/**
 * The identity of a token prefix: its length and a 256-bit digest of its tokens. Equal keys almost
 * surely mean equal prefixes; the cache still compares the tokens before it trusts a match.
 */
record PrefixKey(int length, long h0, long h1, long h2, long h3) {
}
