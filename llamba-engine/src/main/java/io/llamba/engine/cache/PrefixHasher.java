package io.llamba.engine.cache;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Digests token prefixes; one pass over the tokens yields the keys of several prefix lengths. */
interface PrefixHasher {
    /**
     * The keys of {@code tokens[0, lengths[i])} for each of {@code lengths}, which ascend and lie
     * within {@code [0, tokens.length]}.
     */
    PrefixKey[] keys(int[] tokens, int[] lengths);

    default PrefixKey key(int[] tokens, int length) {
        return keys(tokens, new int[]{length})[0];
    }

    /**
     * SHA-256 over the tokens as little-endian 32-bit integers. The digest runs once over the
     * longest prefix; at each shorter length a clone of the running digest is finished, so k keys
     * cost one pass plus k finishes rather than k passes.
     */
    PrefixHasher SHA_256 = (tokens, lengths) -> {
        MessageDigest md = sha256();
        byte[] buf = new byte[4096];
        PrefixKey[] keys = new PrefixKey[lengths.length];
        int fed = 0;
        for (int k = 0; k < lengths.length; k++) {
            int target = lengths[k];
            while (fed < target) {
                int n = Math.min(target - fed, buf.length / 4);
                for (int i = 0; i < n; i++) {
                    int t = tokens[fed + i];
                    buf[4 * i] = (byte) t;
                    buf[4 * i + 1] = (byte) (t >>> 8);
                    buf[4 * i + 2] = (byte) (t >>> 16);
                    buf[4 * i + 3] = (byte) (t >>> 24);
                }
                md.update(buf, 0, 4 * n);
                fed += n;
            }
            byte[] d = k == lengths.length - 1 ? md.digest() : finishCopy(md, tokens, target);
            keys[k] = new PrefixKey(target, word(d, 0), word(d, 8), word(d, 16), word(d, 24));
        }
        return keys;
    };

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this Java runtime lacks SHA-256, which every Java SE runtime must provide", e);
        }
    }

    /** Finishes a copy of the running digest; re-digests the prefix on providers that cannot clone. */
    private static byte[] finishCopy(MessageDigest md, int[] tokens, int length) {
        try {
            return ((MessageDigest) md.clone()).digest();
        } catch (CloneNotSupportedException e) {
            MessageDigest fresh = sha256();
            byte[] b = new byte[4];
            for (int i = 0; i < length; i++) {
                int t = tokens[i];
                b[0] = (byte) t;
                b[1] = (byte) (t >>> 8);
                b[2] = (byte) (t >>> 16);
                b[3] = (byte) (t >>> 24);
                fresh.update(b);
            }
            return fresh.digest();
        }
    }

    private static long word(byte[] d, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (d[off + i] & 0xff);
        }
        return v;
    }
}
