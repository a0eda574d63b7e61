package io.llamba.engine.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The demo model bundled with the engine: a tiny Llamba trained by the project
 * ({@code llamba-engine/tools/demo-model}), used whenever no model is configured. The engine loads
 * models from directories, so {@link #directory()} extracts the bundled files once into a cache
 * directory named after their content hash and returns it.
 *
 * <p>Extraction is safe under concurrency, across threads and processes: the files are written to
 * a fresh temporary directory beside the target, which is then renamed into place atomically; a
 * process that loses the race uses the winner's directory. A directory found with missing or
 * truncated files is moved aside and extracted again.
 *
 * <p>The cache root is the system property {@code llamba.cache.dir}, else the environment variable
 * {@code LLAMBA_CACHE_DIR}, else {@code $XDG_CACHE_HOME/llamba}, else {@code ~/.cache/llamba}.
 */
public final class DemoModel {
    /** Classpath folder of the bundled model. */
    public static final String RESOURCE_DIR = "/io/llamba/engine/demo/";
    /** The bundled files, a Hugging Face style model directory. */
    public static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "README.md");

    private static volatile Path defaultDirectory;

    private DemoModel() {
    }

    /** The demo model's directory in the default cache root, extracted on first use. */
    public static Path directory() {
        Path d = defaultDirectory;
        if (d == null) {
            synchronized (DemoModel.class) {
                d = defaultDirectory;
                if (d == null) {
                    d = directory(cacheRoot());
                    defaultDirectory = d;
                }
            }
        }
        return d;
    }

    /** The default cache root (see the class comment). */
    public static Path cacheRoot() {
        String prop = System.getProperty("llamba.cache.dir");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv("LLAMBA_CACHE_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "llamba");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "llamba");
    }

    /**
     * The demo model's directory under {@code cacheRoot} ({@code demo-<content hash>}), extracted
     * there unless a complete copy already exists.
     *
     * @throws UncheckedIOException naming the directory when it cannot be written
     */
    public static Path directory(Path cacheRoot) {
        Bundle bundle = Bundle.INSTANCE;
        Path target = cacheRoot.resolve("demo-" + bundle.hash);
        try {
            for (int attempt = 0; attempt < 4; attempt++) {
                if (bundle.isCompleteIn(target)) {
                    return target;
                }
                if (Files.exists(target)) {
                    moveAsideAndDelete(target);
                }
                extract(bundle, cacheRoot, target);
            }
            throw new IOException("the directory keeps being incomplete (is something else writing there?)");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the demo model to " + target + ": " + describe(e), e);
        }
    }

    private static void extract(Bundle bundle, Path cacheRoot, Path target) throws IOException {
        Files.createDirectories(cacheRoot);
        Path tmp = Files.createTempDirectory(cacheRoot, "." + target.getFileName() + "-");
        try {
            for (String name : bundle.sizes.keySet()) {
                try (InputStream in = Bundle.open(name)) {
                    Files.copy(in, tmp.resolve(name));
                }
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the file system does not rename directories atomically", e);
            } catch (FileSystemException e) {
                // Another thread or process renamed its copy into place first: use that one.
                if (!Files.isDirectory(target)) {
                    throw e;
                }
            }
        } finally {
            deleteTree(tmp);
        }
    }

    private static void moveAsideAndDelete(Path broken) throws IOException {
        Path aside = broken.resolveSibling("." + broken.getFileName() + "-broken-" + ProcessHandle.current().pid() + "-"
                + System.nanoTime());
        try {
            Files.move(broken, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            return; // someone else moved it already
        }
        deleteTree(aside);
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> s = Files.walk(root)) {
            paths = new ArrayList<>(s.sorted(Comparator.reverseOrder()).toList());
        }
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    /** The SHA-256 (first 16 hex digits) of the bundled files, which names the cache directory. */
    public static String contentHash() {
        return Bundle.INSTANCE.hash;
    }

    /** The bundled files' sizes and hash, read once from the classpath. */
    private static final class Bundle {
        static final Bundle INSTANCE = new Bundle();

        final Map<String, Long> sizes = new LinkedHashMap<>();
        final String hash;

        private Bundle() {
            MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            byte[] buf = new byte[1 << 16];
            for (String name : FILES) {
                long size = 0;
                sha.update((name + "\0").getBytes(StandardCharsets.UTF_8));
                try (InputStream in = open(name)) {
                    for (int n; (n = in.read(buf)) > 0; size += n) {
                        sha.update(buf, 0, n);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read classpath resource " + RESOURCE_DIR + name + ": " + e.getMessage(), e);
                }
                sha.update(("\0" + size + "\0").getBytes(StandardCharsets.UTF_8));
                sizes.put(name, size);
            }
            hash = HexFormat.of().formatHex(sha.digest(), 0, 8);
        }

        static InputStream open(String name) {
            InputStream in = DemoModel.class.getResourceAsStream(RESOURCE_DIR + name);
            if (in == null) {
                throw new IllegalStateException("the demo model is not bundled: classpath resource " + RESOURCE_DIR + name + " is missing");
            }
            return in;
        }

        /** Every file present with its size (a renamed-in directory is complete; this catches later damage). */
        boolean isCompleteIn(Path dir) throws IOException {
            try {
                for (Map.Entry<String, Long> f : sizes.entrySet()) {
                    Path p = dir.resolve(f.getKey());
                    if (!Files.isRegularFile(p) || Files.size(p) != f.getValue()) {
                        return false;
                    }
                }
                return true;
            } catch (NoSuchFileException e) {
                return false; // being moved aside by another process
            }
        }
    }
}
