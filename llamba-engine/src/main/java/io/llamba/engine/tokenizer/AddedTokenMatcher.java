package io.llamba.engine.tokenizer;

import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * Finds added tokens in text: the leftmost occurrence, longest on ties (Hugging Face uses
 * leftmost-longest Aho-Corasick; for the Llama 3 set no token is a prefix of another, so tiktoken's
 * regex alternation agrees). A bitmap of first characters skips most of the text at one load per
 * char; a char trie confirms candidates. Immutable.
 */
final class AddedTokenMatcher {
    /** A token found at {@code start}. */
    record Hit(int start, AddedToken token) {
    }

    private static final class Node {
        private TreeMap<Character, Node> building = new TreeMap<>(); // only while constructing
        private char[] keys; // sorted
        private Node[] children;
        private AddedToken token;

        Node child(char c) {
            int k = Arrays.binarySearch(keys, c);
            return k >= 0 ? children[k] : null;
        }

        /** Turns the build-time map into sorted arrays, for the whole subtree. */
        void freeze() {
            keys = new char[building.size()];
            children = new Node[building.size()];
            int k = 0;
            for (Map.Entry<Character, Node> e : building.entrySet()) {
                keys[k] = e.getKey();
                children[k++] = e.getValue();
                e.getValue().freeze();
            }
            building = null;
        }
    }

    private final long[] firstChars = new long[0x10000 / 64];
    private final Node root = new Node();

    /** Null when there is nothing to match, so callers skip the search altogether. */
    static AddedTokenMatcher of(Collection<AddedToken> tokens) {
        return tokens.isEmpty() ? null : new AddedTokenMatcher(tokens);
    }

    private AddedTokenMatcher(Collection<AddedToken> tokens) {
        for (AddedToken t : tokens) {
            String s = t.content();
            if (s.isEmpty()) {
                continue;
            }
            Node node = root;
            for (int i = 0; i < s.length(); i++) {
                node = node.building.computeIfAbsent(s.charAt(i), c -> new Node());
            }
            node.token = t;
            char first = s.charAt(0);
            firstChars[first >>> 6] |= 1L << first;
        }
        root.freeze();
    }

    /** The first added token at or after {@code from}, or null. */
    Hit find(String text, int from) {
        for (int i = from, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if ((firstChars[c >>> 6] & (1L << c)) == 0) {
                continue;
            }
            AddedToken best = null;
            Node node = root;
            for (int j = i; j < n; j++) {
                node = node.child(text.charAt(j));
                if (node == null) {
                    break;
                }
                if (node.token != null) {
                    best = node.token;
                }
            }
            if (best != null) {
                return new Hit(i, best);
            }
        }
        return null;
    }
}
