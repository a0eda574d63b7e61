package io.llamba.engine.hub;

import io.llamba.engine.hub.HubException.Kind;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Turns a model or tokenizer setting ({@code --model}, {@code spring.ai.llamba.model}) into files:
 * an existing local path is used as it is; anything else must be a Hub repository id with an optional
 * revision ({@code cartesia-ai/Llamba-1B}, {@code cartesia-ai/Llamba-1B@main}) and only the files the
 * engine needs are fetched into the cache:
 *
 * <ul>
 *   <li>a model: config.json, then model.safetensors or else model.safetensors.index.json and every
 *       shard it names;</li>
 *   <li>a tokenizer: tokenizer.json and, when present, tokenizer_config.json.</li>
 * </ul>
 *
 * Llamba repositories ship no tokenizer, so a Llamba model's default tokenizer is its teacher's
 * (Llama-3.x-Instruct, {@link #defaultTokenizerRepo}); Meta's repositories are gated, and when that
 * default cannot be fetched (no token, license not accepted, offline) the Llama 3 tokenizer bundled with
 * the engine, which has the same vocabulary and special tokens, is used with a warning.
 *
 * <p>The {@link PullStrategy} of the options decides when the Hub is asked; offline mode overrides it
 * with the cache only. All files of one snapshot come from one commit: the first answer's commit is
 * pinned for the rest, and {@code refs/{revision}} moves to it only once every file is in place.
 */
public final class ModelResolver implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.llamba.engine.hub");

    public static final String CONFIG_FILE = "config.json";
    public static final String SINGLE_WEIGHTS_FILE = "model.safetensors";
    public static final String WEIGHTS_INDEX_FILE = "model.safetensors.index.json";
    public static final String TOKENIZER_FILE = "tokenizer.json";
    public static final String TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
    /** The value of a tokenizer setting that picks the bundled Llama 3 tokenizer. */
    public static final String BUNDLED_TOKENIZER = "bundled";

    private final HubOptions options;
    private final HubCache cache;
    private HubClient client;

    public ModelResolver(HubOptions options) {
        this.options = options;
        this.cache = new HubCache(options.cacheDir());
    }

    public HubOptions options() {
        return options;
    }

    /**
     * The repository a setting names, or empty when it is an existing local file or directory.
     *
     * @throws IllegalArgumentException when it is neither (the message says both)
     */
    public static Optional<RepoRef> hubReference(String spec) {
        return hubReference(spec, "file or directory");
    }

    private static Optional<RepoRef> hubReference(String spec, String what) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty model or tokenizer setting");
        }
        try {
            if (Files.exists(Path.of(spec))) {
                return Optional.empty();
            }
        } catch (InvalidPathException e) {
            // Not a path on this system; maybe a repository id.
        }
        try {
            return Optional.of(RepoRef.parse(spec));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + spec + "': " + what + " not found, and not a Hugging Face repository id"
                    + " (organisation/name or organisation/name@revision): " + e.getMessage());
        }
    }

    /**
     * The teacher's Instruct repository for the released Llamba models, whose repositories ship no
     * tokenizer: Llamba-1B → meta-llama/Llama-3.2-1B-Instruct, Llamba-3B → meta-llama/Llama-3.2-3B-Instruct,
     * Llamba-8B → meta-llama/Llama-3.1-8B-Instruct (by the repository name, so forks named alike match).
     */
    public static Optional<RepoRef> defaultTokenizerRepo(RepoRef model) {
        String name = model.name().toLowerCase(Locale.ROOT);
        if (name.startsWith("llamba-1b")) {
            return Optional.of(RepoRef.parse("meta-llama/Llama-3.2-1B-Instruct"));
        }
        if (name.startsWith("llamba-3b")) {
            return Optional.of(RepoRef.parse("meta-llama/Llama-3.2-3B-Instruct"));
        }
        if (name.startsWith("llamba-8b")) {
            return Optional.of(RepoRef.parse("meta-llama/Llama-3.1-8B-Instruct"));
        }
        return Optional.empty();
    }

    /** The model directory a setting names: the local directory itself, or the snapshot of its model files. */
    public Path resolveModel(String spec) throws IOException {
        Optional<RepoRef> ref = hubReference(spec, "model directory");
        return ref.isEmpty() ? Path.of(spec) : pullModel(ref.get(), spec).directory();
    }

    /**
     * The model and its tokenizer. {@code tokenizerSpec}: null for the default (a local model
     * directory's tokenizer.json, else for a Hub model its teacher's tokenizer, else the bundled one),
     * {@value #BUNDLED_TOKENIZER}, a local file or directory, or a repository id.
     */
    public ResolvedModel resolve(String modelSpec, String tokenizerSpec) throws IOException {
        Optional<RepoRef> modelRef = hubReference(modelSpec, "model directory");
        Path modelDir;
        Optional<RepoSnapshot> snapshot = Optional.empty();
        if (modelRef.isEmpty()) {
            modelDir = Path.of(modelSpec);
        } else {
            snapshot = Optional.of(pullModel(modelRef.get(), modelSpec));
            modelDir = snapshot.get().directory();
        }
        if (tokenizerSpec != null) {
            Path t = resolveTokenizer(tokenizerSpec);
            return new ResolvedModel(modelDir, snapshot, t, t == null ? "bundled Llama 3" : tokenizerSpec);
        }
        Path inModel = modelDir.resolve(TOKENIZER_FILE);
        if (Files.isRegularFile(inModel)) {
            return new ResolvedModel(modelDir, snapshot, inModel, inModel.toString());
        }
        if (snapshot.isEmpty()) {
            return new ResolvedModel(modelDir, snapshot, null, "bundled Llama 3");
        }
        return withDefaultTokenizer(snapshot.get());
    }

    /** A tokenizer setting: null for {@value #BUNDLED_TOKENIZER}, else a local path or the snapshot of a repository's tokenizer files. */
    public Path resolveTokenizer(String spec) throws IOException {
        if (spec.equals(BUNDLED_TOKENIZER) && !Files.exists(Path.of(spec))) {
            return null;
        }
        Optional<RepoRef> ref = hubReference(spec, "tokenizer file or directory");
        return ref.isEmpty() ? Path.of(spec) : pullTokenizer(ref.get(), spec).directory();
    }

    /**
     * A Hub model with its default tokenizer: the snapshot's own tokenizer.json if cached, else the
     * teacher's for a Llamba model (the bundled Llama 3 tokenizer, with a warning, when that cannot be
     * fetched), else the repository's own tokenizer.json if it has one, else the bundled one.
     */
    public ResolvedModel withDefaultTokenizer(RepoSnapshot model) throws IOException {
        Path modelDir = model.directory();
        Path inModel = modelDir.resolve(TOKENIZER_FILE);
        if (Files.isRegularFile(inModel)) {
            return new ResolvedModel(modelDir, Optional.of(model), inModel, model.ref().toString());
        }
        Optional<RepoRef> teacher = defaultTokenizerRepo(model.ref());
        if (teacher.isPresent()) {
            try {
                RepoSnapshot t = pullTokenizer(teacher.get());
                return new ResolvedModel(modelDir, Optional.of(model), t.directory(), teacher.get().toString());
            } catch (HubException e) {
                if (e.kind() == Kind.CHECKSUM_MISMATCH) {
                    throw e;
                }
                LOG.log(System.Logger.Level.WARNING, "{0} ships no tokenizer and its default, {1}, is not available: {2}."
                        + " Using the Llama 3 tokenizer bundled with the engine (same vocabulary and special tokens).",
                        model.ref(), teacher.get(), e.getMessage());
                return new ResolvedModel(modelDir, Optional.of(model), null, "bundled Llama 3");
            }
        }
        // Another repository may ship its own tokenizer: look for it at the model's commit.
        RepoSnapshot own = pull(model.ref().withRevision(model.commit()), ModelResolver::optionalTokenizerFiles, "tokenizer files");
        if (own.files().contains(TOKENIZER_FILE)) {
            return new ResolvedModel(modelDir, Optional.of(model), own.directory().resolve(TOKENIZER_FILE), model.ref().toString());
        }
        LOG.log(System.Logger.Level.INFO, "{0} has no tokenizer.json; using the bundled Llama 3 tokenizer", model.ref());
        return new ResolvedModel(modelDir, Optional.of(model), null, "bundled Llama 3");
    }

    /** Fetches (as the pull strategy allows) config.json and the weights of a model repository. */
    public RepoSnapshot pullModel(RepoRef ref) throws IOException {
        return pull(ref, ModelResolver::modelFiles, "model files");
    }

    /** Fetches (as the pull strategy allows) tokenizer.json and tokenizer_config.json of a repository. */
    public RepoSnapshot pullTokenizer(RepoRef ref) throws IOException {
        return pull(ref, ModelResolver::tokenizerFiles, "tokenizer files");
    }

    private RepoSnapshot pullModel(RepoRef ref, String spec) throws IOException {
        return explainNotLocal(spec, () -> pullModel(ref));
    }

    private RepoSnapshot pullTokenizer(RepoRef ref, String spec) throws IOException {
        return explainNotLocal(spec, () -> pullTokenizer(ref));
    }

    private interface Pull {
        RepoSnapshot run() throws IOException;
    }

    /** A setting that names no local path and no repository of the Hub may be a mistyped path: say both. */
    private static RepoSnapshot explainNotLocal(String spec, Pull pull) throws IOException {
        try {
            return pull.run();
        } catch (HubException e) {
            if (e.kind() != Kind.REPOSITORY_NOT_FOUND) {
                throw e;
            }
            throw new HubException(e.kind(), e.repoId(), e.file(), e.status(), "'" + spec + "' is no local file or directory,"
                    + " and as a Hub repository: " + e.getMessage(), e);
        }
    }

    // ---- which files ----

    /** Where files come from: the cache at one commit, or the Hub. */
    private interface FileSource {
        /** The file, or empty when the repository has none. */
        Optional<Path> optional(String file) throws IOException, NotCached;

        default Path required(String file) throws IOException, NotCached {
            return optional(file).orElseThrow(() -> new HubException(Kind.ENTRY_NOT_FOUND, repo().repoId(), file, 404,
                    repo() + ": the repository has no " + file + " (at commit " + commit() + ")"));
        }

        RepoRef repo();

        String commit();
    }

    private interface Selection {
        List<String> files(FileSource source) throws IOException, NotCached;
    }

    private static List<String> modelFiles(FileSource src) throws IOException, NotCached {
        List<String> files = new ArrayList<>();
        src.required(CONFIG_FILE);
        files.add(CONFIG_FILE);
        if (src.optional(SINGLE_WEIGHTS_FILE).isPresent()) {
            files.add(SINGLE_WEIGHTS_FILE);
            return files;
        }
        Path index = src.required(WEIGHTS_INDEX_FILE);
        files.add(WEIGHTS_INDEX_FILE);
        for (String shard : shardsOf(index, src.repo())) {
            src.required(shard);
            files.add(shard);
        }
        return files;
    }

    private static List<String> tokenizerFiles(FileSource src) throws IOException, NotCached {
        List<String> files = new ArrayList<>();
        src.required(TOKENIZER_FILE);
        files.add(TOKENIZER_FILE);
        if (src.optional(TOKENIZER_CONFIG_FILE).isPresent()) {
            files.add(TOKENIZER_CONFIG_FILE);
        }
        return files;
    }

    private static List<String> optionalTokenizerFiles(FileSource src) throws IOException, NotCached {
        List<String> files = new ArrayList<>();
        if (src.optional(TOKENIZER_FILE).isPresent()) {
            files.add(TOKENIZER_FILE);
            if (src.optional(TOKENIZER_CONFIG_FILE).isPresent()) {
                files.add(TOKENIZER_CONFIG_FILE);
            }
        }
        return files;
    }

    /** The distinct shard files an index's weight_map names, each checked to be a plain file of the repository. */
    static List<String> shardsOf(Path index, RepoRef repo) throws IOException {
        JsonObject weightMap;
        try {
            JsonObject json = Json.parseObject(Files.readString(index), repo + ": " + WEIGHTS_INDEX_FILE);
            weightMap = json.getObject("weight_map");
        } catch (JsonException e) {
            throw new HubException(Kind.BAD_RESPONSE, repo.repoId(), WEIGHTS_INDEX_FILE, 0, e.getMessage(), e);
        }
        TreeSet<String> shards = new TreeSet<>();
        for (String tensor : weightMap.keys()) {
            if (!(weightMap.raw(tensor) instanceof String shard)) {
                throw new HubException(Kind.BAD_RESPONSE, repo.repoId(), WEIGHTS_INDEX_FILE, 0, repo + ": "
                        + WEIGHTS_INDEX_FILE + ": weight_map entry for " + tensor + " is not a file name");
            }
            String problem = HubCache.filenameProblem(shard);
            if (problem != null) {
                throw new HubException(Kind.BAD_RESPONSE, repo.repoId(), WEIGHTS_INDEX_FILE, 0, repo + ": "
                        + WEIGHTS_INDEX_FILE + ": weight_map entry for " + tensor + ": " + problem);
            }
            shards.add(shard);
        }
        if (shards.isEmpty()) {
            throw new HubException(Kind.BAD_RESPONSE, repo.repoId(), WEIGHTS_INDEX_FILE, 0, repo + ": " + WEIGHTS_INDEX_FILE
                    + ": empty weight_map");
        }
        return List.copyOf(shards);
    }

    // ---- where from: the pull strategy ----

    /** A file the cache cannot answer for. */
    private static final class NotCached extends Exception {
        final String file;

        NotCached(String file) {
            super(file, null, false, false);
            this.file = file;
        }
    }

    private RepoSnapshot pull(RepoRef ref, Selection selection, String what) throws IOException {
        PullStrategy strategy = options.pullStrategy();
        boolean cacheOnly = options.offline() || strategy == PullStrategy.NEVER;
        Optional<String> cachedCommit = Optional.empty();
        NotCached missing = null;
        if (cacheOnly || strategy == PullStrategy.WHEN_MISSING) {
            cachedCommit = cache.commitOf(ref);
            if (cachedCommit.isPresent()) {
                try {
                    return fromCache(ref, cachedCommit.get(), selection, cacheOnly);
                } catch (NotCached e) {
                    missing = e;
                }
            }
            if (cacheOnly) {
                throw notInCache(ref, what, cachedCommit, missing);
            }
        }
        try {
            HubSource source = new HubSource(ref);
            List<String> files;
            try {
                files = selection.files(source);
            } catch (NotCached e) {
                throw new IllegalStateException("the Hub source never reports a file as uncached", e);
            }
            cache.writeRef(ref, source.commit);
            return new RepoSnapshot(ref, source.commit, cache.snapshotDir(ref.repoId(), source.commit), files);
        } catch (HubException e) {
            if (strategy == PullStrategy.ALWAYS && e.kind() != Kind.REVISION_NOT_FOUND && e.kind() != Kind.ENTRY_NOT_FOUND
                    && e.kind() != Kind.CHECKSUM_MISMATCH) {
                Optional<String> commit = cache.commitOf(ref);
                if (commit.isPresent()) {
                    try {
                        RepoSnapshot s = fromCache(ref, commit.get(), selection, true);
                        LOG.log(System.Logger.Level.WARNING, "{0}: {1}. Using the cached snapshot {2}", ref, e.getMessage(), commit.get());
                        return s;
                    } catch (NotCached ignored) {
                        // Nothing usable cached: report the Hub's error.
                    }
                }
            }
            throw e;
        }
    }

    private RepoSnapshot fromCache(RepoRef ref, String commit, Selection selection, boolean lenient) throws IOException, NotCached {
        List<String> files = selection.files(new CacheSource(ref, commit, lenient));
        return new RepoSnapshot(ref, commit, cache.snapshotDir(ref.repoId(), commit), files);
    }

    private HubException notInCache(RepoRef ref, String what, Optional<String> commit, NotCached missing) {
        String detail = commit.isEmpty()
                ? "no snapshot of revision " + ref.revision() + " is cached"
                : "snapshot " + commit.get() + " lacks " + missing.file;
        String why = options.offline() ? "offline mode is on (HF_HUB_OFFLINE)" : "the pull strategy is never";
        return new HubException(Kind.NOT_IN_CACHE, ref.repoId(), missing == null ? null : missing.file, 0, ref + ": the "
                + what + " are not in the Hugging Face cache " + cache.root() + " (" + detail + ") and " + why
                + "; download them first, e.g. with the CLI's pull command, while online");
    }

    /** Files of one cached commit. Lenient: a file neither cached nor known absent counts as absent (offline, nothing better to know). */
    private final class CacheSource implements FileSource {
        private final RepoRef ref;
        private final String commit;
        private final boolean lenient;

        CacheSource(RepoRef ref, String commit, boolean lenient) {
            this.ref = ref;
            this.commit = commit;
            this.lenient = lenient;
        }

        @Override
        public Optional<Path> optional(String file) throws NotCached {
            Optional<Path> p = cache.cachedFile(ref.repoId(), commit, file);
            if (p.isPresent()) {
                return p;
            }
            if (lenient || cache.knownMissing(ref.repoId(), commit, file)) {
                return Optional.empty();
            }
            throw new NotCached(file);
        }

        @Override
        public Path required(String file) throws NotCached {
            Optional<Path> p = cache.cachedFile(ref.repoId(), commit, file);
            if (p.isEmpty()) {
                throw new NotCached(file);
            }
            return p.get();
        }

        @Override
        public RepoRef repo() {
            return ref;
        }

        @Override
        public String commit() {
            return commit;
        }
    }

    /** Files from the Hub; the first answer pins the commit for the others. */
    private final class HubSource implements FileSource {
        private final RepoRef ref;
        private String commit;

        HubSource(RepoRef ref) {
            this.ref = ref;
        }

        @Override
        public Optional<Path> optional(String file) throws IOException {
            RepoRef at = commit == null ? ref : ref.withRevision(commit);
            FileMetadata m = client().metadata(at, file);
            if (m.commit() != null && commit == null) {
                commit = m.commit();
            }
            if (!m.exists()) {
                return Optional.empty();
            }
            return Optional.of(client().download(m));
        }

        @Override
        public RepoRef repo() {
            return ref;
        }

        @Override
        public String commit() {
            return commit == null ? ref.revision() : commit;
        }
    }

    private synchronized HubClient client() {
        if (client == null) {
            client = new HubClient(options);
        }
        return client;
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
            client = null;
        }
    }
}
