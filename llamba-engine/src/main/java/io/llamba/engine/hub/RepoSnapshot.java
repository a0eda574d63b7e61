package io.llamba.engine.hub;

import java.nio.file.Path;
import java.util.List;

/**
 * Files of one repository commit, present in the cache.
 *
 * @param ref the repository and the revision asked for
 * @param commit the commit the revision resolved to
 * @param directory {@code snapshots/{commit}}: a model directory for the engine
 * @param files the files fetched or found, relative to the directory
 */
public record RepoSnapshot(RepoRef ref, String commit, Path directory, List<String> files) {
    public RepoSnapshot {
        files = List.copyOf(files);
    }
}
