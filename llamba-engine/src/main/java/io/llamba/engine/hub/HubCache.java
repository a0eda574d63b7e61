package io.llamba.engine.hub;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * The Hugging Face hub cache, laid out exactly as huggingface_hub lays it out, so that files either
 * side downloaded are reused by the other:
 *
 * <pre>
 * {root}/models--{org}--{name}/
 *     blobs/{etag}                    file contents, named by the Hub's ETag (sha256 for LFS files, git blob sha1 otherwise)
 *     blobs/{etag}.incomplete         a download in progress (resumed with an HTTP range)
 *     snapshots/{commit}/{file}       relative symbolic link to ../../blobs/{etag}
 *     refs/{revision}                 the commit a branch or tag pointed to, no newline
 *     .no_exist/{commit}/{file}       empty: the file is known to be absent at that commit
 * {root}/.locks/models--{org}--{name}/{etag}.lock
 * </pre>
 *
 * A blob only ever appears complete and verified (it is renamed into place), so a crash never leaves
 * a corrupt file where a reader looks.
 */
public final class HubCache {
    private static final System.Logger LOG = System.getLogger("io.llamba.engine.hub");
    /** A name the server gives (commit, etag) must be one plain path segment. */
    private static final Pattern SAFE_SEGMENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,199}");
    private static final String CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n"
            + "# This file is a cache directory tag created by huggingface_hub.\n"
            + "# For information about cache directory tags, see:\n"
            + "#\thttps://bford.info/cachedir/\n";
    /** File locks are per process; threads of this JVM wait on these first. */
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path root;

    public HubCache(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    /** {@code models--org--name}. */
    public Path repoDir(String repoId) {
        return root.resolve(new RepoRef(repoId, RepoRef.DEFAULT_REVISION).cacheFolderName());
    }

    /** The commit a revision resolves to in the cache: itself when it is a commit hash, else what refs/{revision} says. */
    public Optional<String> commitOf(RepoRef ref) {
        if (ref.isCommit()) {
            return Optional.of(ref.revision());
        }
        Path refFile = repoDir(ref.repoId()).resolve("refs").resolve(ref.revision());
        try {
            if (Files.isRegularFile(refFile)) {
                String commit = Files.readString(refFile, StandardCharsets.UTF_8).strip();
                if (isSafeSegment(commit)) {
                    return Optional.of(commit);
                }
                LOG.log(System.Logger.Level.WARNING, "Ignoring {0}: it does not hold a commit hash", refFile);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "Ignoring unreadable {0}: {1}", refFile, e.getMessage());
        }
        return Optional.empty();
    }

    public Path snapshotDir(String repoId, String commit) {
        return repoDir(repoId).resolve("snapshots").resolve(requireSafe(commit, "commit"));
    }

    /** The snapshot entry of a file (a link to its blob); it may not exist. */
    public Path snapshotFile(String repoId, String commit, String file) {
        return snapshotDir(repoId, commit).resolve(requireSafeFilename(file));
    }

    /** The file at that commit, when the cache holds it (the link and its blob both exist). */
    public Optional<Path> cachedFile(String repoId, String commit, String file) {
        Path p = snapshotFile(repoId, commit, file);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** True when a client recorded that the file does not exist at that commit. */
    public boolean knownMissing(String repoId, String commit, String file) {
        return Files.isRegularFile(repoDir(repoId).resolve(".no_exist").resolve(requireSafe(commit, "commit"))
                .resolve(requireSafeFilename(file)));
    }

    public Path blob(String repoId, String etag) {
        return repoDir(repoId).resolve("blobs").resolve(requireSafe(etag, "ETag"));
    }

    public Path incompleteBlob(String repoId, String etag) {
        return repoDir(repoId).resolve("blobs").resolve(requireSafe(etag, "ETag") + ".incomplete");
    }

    /** Records that {@code revision} points at {@code commit} (nothing to do for a commit hash), atomically. */
    public void writeRef(RepoRef ref, String commit) throws IOException {
        requireSafe(commit, "commit");
        if (ref.revision().equals(commit)) {
            return;
        }
        Path refFile = repoDir(ref.repoId()).resolve("refs").resolve(ref.revision());
        if (Files.isRegularFile(refFile) && Files.readString(refFile, StandardCharsets.UTF_8).equals(commit)) {
            return;
        }
        Files.createDirectories(refFile.getParent());
        Path tmp = refFile.resolveSibling(refFile.getFileName() + "." + shortId() + ".tmp");
        try {
            Files.writeString(tmp, commit, StandardCharsets.UTF_8);
            move(tmp, refFile);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Records, as huggingface_hub does, that a file does not exist at a commit. */
    public void markMissing(String repoId, String commit, String file) {
        Path marker = repoDir(repoId).resolve(".no_exist").resolve(requireSafe(commit, "commit")).resolve(requireSafeFilename(file));
        try {
            Files.createDirectories(marker.getParent());
            if (!Files.exists(marker)) {
                Files.createFile(marker);
            }
        } catch (IOException e) {
            // Only an optimisation for offline use later; never worth failing a download for.
            LOG.log(System.Logger.Level.DEBUG, "Could not record that {0} is absent: {1}", file, e.getMessage());
        }
    }

    /**
     * Points {@code snapshots/{commit}/{file}} at the blob with a relative symbolic link (replacing
     * what was there atomically), or copies the blob where the file system has no links.
     */
    public Path link(String repoId, String commit, String file, String etag) throws IOException {
        Path blob = blob(repoId, etag);
        Path pointer = snapshotFile(repoId, commit, file);
        Files.createDirectories(pointer.getParent());
        Path target = pointer.getParent().relativize(blob);
        Path tmp = pointer.resolveSibling("." + pointer.getFileName() + "." + shortId() + ".tmp");
        try {
            try {
                Files.createSymbolicLink(tmp, target);
            } catch (UnsupportedOperationException | IOException e) {
                if (e instanceof FileAlreadyExistsException) {
                    throw (IOException) e;
                }
                // No symbolic links here (Windows without developer mode): huggingface_hub then keeps
                // a copy in the snapshot too.
                Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            move(tmp, pointer);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return pointer;
    }

    /** Tags the cache root for backup tools, as huggingface_hub does (once). */
    public void tagCacheDir() {
        Path tag = root.resolve("CACHEDIR.TAG");
        if (!Files.exists(tag)) {
            try {
                Files.createDirectories(root);
                Files.writeString(tag, CACHEDIR_TAG, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (IOException e) {
                // Cosmetic only.
            }
        }
    }

    /** An exclusive lock on one blob, across the threads of this JVM and across processes. */
    public AutoCloseable lockBlob(String repoId, String etag) throws IOException {
        Path lockFile = root.resolve(".locks").resolve(new RepoRef(repoId, RepoRef.DEFAULT_REVISION).cacheFolderName())
                .resolve(requireSafe(etag, "ETag") + ".lock");
        Files.createDirectories(lockFile.getParent());
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(lockFile, k -> new ReentrantLock());
        jvmLock.lock();
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                LOG.log(System.Logger.Level.INFO, "Waiting for another process downloading the same file (lock {0})", lockFile);
                lock = channel.lock();
            }
            FileLock held = lock;
            FileChannel ch = channel;
            return () -> {
                try {
                    held.release();
                    ch.close();
                } finally {
                    jvmLock.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            jvmLock.unlock();
            throw e;
        }
    }

    static boolean isSafeSegment(String s) {
        return s != null && SAFE_SEGMENT.matcher(s).matches();
    }

    static String requireSafe(String s, String what) {
        if (!isSafeSegment(s)) {
            throw new IllegalArgumentException("unusable " + what + " '" + s + "': expected letters, digits, '.', '_' or '-'");
        }
        return s;
    }

    /**
     * A repository file name must stay inside the snapshot: relative, '/'-separated, no '..', no
     * empty or hidden-dot segments, no backslash or drive letter (an index file could name anything).
     */
    static String filenameProblem(String file) {
        if (file == null || file.isEmpty()) {
            return "empty file name";
        }
        if (file.startsWith("/") || file.contains("\\") || file.contains(":") || file.length() > 1000) {
            return "file name '" + file + "' is not a relative path inside the repository";
        }
        for (String part : file.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                return "file name '" + file + "' is not a relative path inside the repository";
            }
        }
        for (int i = 0; i < file.length(); i++) {
            if (file.charAt(i) < 0x20) {
                return "file name '" + file.replaceAll("\\p{Cntrl}", "?") + "' holds a control character";
            }
        }
        return null;
    }

    static String requireSafeFilename(String file) {
        String problem = filenameProblem(file);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return file;
    }

    /** Renames over the target in one step (rename(2)); falls back to a plain replace where that is refused. */
    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String shortId() {
        return UUID.randomUUID().toString().substring(0, 8);
    }
}
