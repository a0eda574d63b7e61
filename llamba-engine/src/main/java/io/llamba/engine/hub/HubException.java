package io.llamba.engine.hub;

import java.io.IOException;

/**
 * A download from the Hugging Face Hub failed. The message names the repository, the file where one
 * is involved, and what to do; {@link #kind()} lets callers react (fall back to the cache, to another
 * tokenizer, ...).
 */
public final class HubException extends IOException {
    /** Why the download failed. */
    public enum Kind {
        /** 401/404 RepoNotFound: no such repository, or private/gated and no (valid) token was sent. */
        REPOSITORY_NOT_FOUND,
        /** The repository is gated: its license must be accepted on the Hub and a token of that account sent. */
        GATED,
        /** 403: the token has no access to the repository. */
        FORBIDDEN,
        /** The revision (branch, tag or commit) does not exist in the repository. */
        REVISION_NOT_FOUND,
        /** The repository has no such file at the revision. */
        ENTRY_NOT_FOUND,
        /** 429 and the retries (or the wait the server asked for) ran out. */
        RATE_LIMITED,
        /** 5xx and the retries ran out. */
        SERVER_ERROR,
        /** The Hub or its CDN could not be reached, or a download kept being cut. */
        NETWORK,
        /** The Hub answered something this client cannot use (missing headers, bad ranges, ...). */
        BAD_RESPONSE,
        /** The downloaded bytes do not match the size or hash the Hub announced; the partial file was deleted. */
        CHECKSUM_MISMATCH,
        /** Offline mode (or pull strategy never) and the files are not in the cache. */
        NOT_IN_CACHE
    }

    private final Kind kind;
    private final String repoId;
    private final String file;
    private final int status;

    public HubException(Kind kind, String repoId, String file, int status, String message) {
        this(kind, repoId, file, status, message, null);
    }

    public HubException(Kind kind, String repoId, String file, int status, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.repoId = repoId;
        this.file = file;
        this.status = status;
    }

    public Kind kind() {
        return kind;
    }

    /** The repository id the failure is about. */
    public String repoId() {
        return repoId;
    }

    /** The file in the repository, or null when the failure is about the repository as a whole. */
    public String file() {
        return file;
    }

    /** The HTTP status, or 0 when there was no response. */
    public int status() {
        return status;
    }

    /** True for access problems (no token, gated, forbidden, unknown repository). */
    public boolean isAccessProblem() {
        return kind == Kind.REPOSITORY_NOT_FOUND || kind == Kind.GATED || kind == Kind.FORBIDDEN;
    }
}
