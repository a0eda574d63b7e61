package io.llamba.engine.hub;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The checksum the Hub's ETag announces for a file: sha256 of the content for LFS files (64 hex
 * digits), the git blob id {@code sha1("blob " + size + "\0" + content)} for files kept in git
 * (40 hex digits). Fed incrementally while the bytes arrive.
 */
final class ContentHash {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SHA1 = Pattern.compile("[0-9a-f]{40}");

    private final String algorithm;
    private final String expected;
    private final long size;
    private MessageDigest digest;

    private ContentHash(String algorithm, String expected, long size) {
        this.algorithm = algorithm;
        this.expected = expected;
        this.size = size;
        reset();
    }

    /** The check a file's metadata allows, or null when its ETag is no hash this client knows (then only the size is checked). */
    static ContentHash forFile(FileMetadata m) {
        String etag = m.etag().toLowerCase(Locale.ROOT);
        if (SHA256.matcher(etag).matches()) {
            return new ContentHash("SHA-256", etag, m.size());
        }
        if (!m.lfs() && SHA1.matcher(etag).matches()) {
            return new ContentHash("SHA-1", etag, m.size());
        }
        return null;
    }

    /** Starts over (the server ignored a range and sent the file from its first byte). */
    void reset() {
        try {
            digest = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is part of every Java runtime", e);
        }
        if (algorithm.equals("SHA-1")) {
            digest.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
        }
    }

    void update(ByteBuffer bytes) {
        digest.update(bytes);
    }

    void update(byte[] bytes, int off, int len) {
        digest.update(bytes, off, len);
    }

    String name() {
        return algorithm.equals("SHA-1") ? "git blob sha1" : "sha256";
    }

    String expected() {
        return expected;
    }

    /** The hex digest of everything fed so far (once; the digest is finished). */
    String actual() {
        return HexFormat.of().formatHex(digest.digest());
    }
}
