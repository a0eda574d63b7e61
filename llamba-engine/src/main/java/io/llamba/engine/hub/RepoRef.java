package io.llamba.engine.hub;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A Hugging Face model repository and a revision: {@code org/name} or {@code org/name@revision}
 * (a branch, tag or commit hash; {@code main} by default). Repository ids follow the Hub's rules:
 * letters, digits, '-', '_' and '.', a name of at most 96 characters, no "--" or "..", no ".git" ending.
 */
public record RepoRef(String repoId, String revision) {
    public static final String DEFAULT_REVISION = "main";

    private static final Pattern REPO_ID = Pattern.compile(
            "(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?/)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public RepoRef {
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(revision, "revision");
        String problem = repoIdProblem(repoId);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        problem = revisionProblem(revision);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** {@code org/name} or {@code org/name@revision}; a bad id or revision is an IllegalArgumentException naming it. */
    public static RepoRef parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        int at = spec.indexOf('@');
        if (at < 0) {
            return new RepoRef(spec, DEFAULT_REVISION);
        }
        String revision = spec.substring(at + 1);
        if (revision.isEmpty()) {
            throw new IllegalArgumentException("'" + spec + "': empty revision after '@'");
        }
        return new RepoRef(spec.substring(0, at), revision);
    }

    /** The reference {@code spec} names, if it is a well-formed repository id (with optional revision). */
    public static Optional<RepoRef> tryParse(String spec) {
        try {
            return Optional.of(parse(spec));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    public RepoRef withRevision(String newRevision) {
        return new RepoRef(repoId, newRevision);
    }

    /** True when the revision is a full commit hash, which never moves. */
    public boolean isCommit() {
        return isCommitHash(revision);
    }

    public static boolean isCommitHash(String revision) {
        return COMMIT.matcher(revision).matches();
    }

    /** The part after the slash (the whole id when there is no organisation). */
    public String name() {
        return repoId.substring(repoId.indexOf('/') + 1);
    }

    /** The cache folder name, as huggingface_hub writes it: {@code models--org--name}. */
    public String cacheFolderName() {
        return "models--" + repoId.replace("/", "--");
    }

    @Override
    public String toString() {
        return revision.equals(DEFAULT_REVISION) ? repoId : repoId + "@" + revision;
    }

    static String repoIdProblem(String id) {
        if (id.isEmpty()) {
            return "empty repository id";
        }
        if (id.chars().filter(c -> c == '/').count() > 1) {
            return "repository id '" + id + "' must be 'name' or 'organisation/name'";
        }
        if (!REPO_ID.matcher(id).matches()) {
            return "repository id '" + id + "' may use only letters, digits, '-', '_' and '.', must not start or end"
                    + " with '-' or '.', and the name is at most 96 characters";
        }
        if (id.contains("--") || id.contains("..")) {
            return "repository id '" + id + "' must not contain '--' or '..'";
        }
        if (id.endsWith(".git")) {
            return "repository id '" + id + "' must not end with '.git'";
        }
        return null;
    }

    /** Revisions become file names under refs/ (a branch may hold '/', like refs/pr/1), so no escaping from it. */
    static String revisionProblem(String revision) {
        if (revision.isEmpty()) {
            return "empty revision";
        }
        if (revision.length() > 255) {
            return "revision longer than 255 characters";
        }
        for (int i = 0; i < revision.length(); i++) {
            char c = revision.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\' || c == ':') {
                return "revision '" + revision + "' holds a character not allowed in a git reference";
            }
        }
        for (String part : revision.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..") || part.startsWith(".")) {
                return "revision '" + revision + "' is not a valid git reference";
            }
        }
        return null;
    }
}
