package io.llamba.engine.hub;

/**
 * What a HEAD of {@code /{repo}/resolve/{revision}/{file}} tells about a file.
 *
 * @param repoId the repository (after any rename redirect, the id asked for)
 * @param file the path of the file in the repository
 * @param commit the commit the revision resolved to ({@code X-Repo-Commit})
 * @param exists false when the repository has no such file at that commit (then only commit is set)
 * @param etag {@code X-Linked-Etag} or {@code ETag}, without quotes or W/: the sha256 of an LFS file, the git blob sha1 of another
 * @param size {@code X-Linked-Size} or {@code Content-Length}: the size of the file's content
 * @param lfs true when the file is stored in LFS (the Hub sent {@code X-Linked-Etag}), so its ETag is a sha256
 */
public record FileMetadata(String repoId, String file, String commit, boolean exists, String etag, long size, boolean lfs) {
}
