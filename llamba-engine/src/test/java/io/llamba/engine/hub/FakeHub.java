package io.llamba.engine.hub;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP server that answers like the Hugging Face Hub for what the client asks: HEAD and
 * GET of {@code /{repo}/resolve/{revision}/{file}} with X-Repo-Commit, ETag (git blob sha1) for
 * files kept in git, a 302 to a "CDN" with X-Linked-Etag (sha256) and X-Linked-Size for LFS files,
 * byte ranges on the CDN, the Hub's X-Error-Code answers (RepoNotFound, GatedRepo, RevisionNotFound,
 * EntryNotFound), relative redirects for renamed repositories, and injectable faults: 429 with
 * Retry-After, cut or stalled bodies, corrupted bytes. The CDN is the same server reached through
 * another host name ("localhost" instead of "127.0.0.1"), so the client must drop the token there.
 */
final class FakeHub implements AutoCloseable {
    /** One file of a commit. */
    record Entry(byte[] content, boolean lfs) {
        String etag() {
            return lfs ? sha256(content) : gitSha1(content);
        }
    }

    /** A request as the server saw it. */
    record Request(String method, String host, String path, String range, String authorization) {
    }

    private static final class Repo {
        final Map<String, String> refs = new ConcurrentHashMap<>();
        final Map<String, Map<String, Entry>> commits = new ConcurrentHashMap<>();
        String token;
        boolean gated;
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(4);
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, String> renamed = new ConcurrentHashMap<>();
    private final Map<String, Entry> cdn = new ConcurrentHashMap<>();
    private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());

    /** Faults for the next requests. */
    private final AtomicInteger tooManyRequests = new AtomicInteger();
    private volatile int retryAfterSeconds;
    private final AtomicInteger serverErrors = new AtomicInteger();
    private final Map<String, List<Long>> cutsByFile = new ConcurrentHashMap<>();
    private final Map<String, Long> stallByFile = new ConcurrentHashMap<>();
    private volatile long stallMillis;
    private final Map<String, byte[]> corruptByFile = new ConcurrentHashMap<>();
    private volatile boolean ignoreRanges;
    private final Map<String, Long> headerDelayByFile = new ConcurrentHashMap<>();

    FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(executor);
        server.start();
    }

    /** The Hub endpoint, for HF_ENDPOINT. */
    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private String cdnBase() {
        return "http://localhost:" + server.getAddress().getPort() + "/cdn/";
    }

    /** Adds a commit of a repository and points the branch at it. */
    void publish(String repoId, String branch, String commit, Map<String, Entry> files) {
        Repo r = repos.computeIfAbsent(repoId, k -> new Repo());
        r.commits.put(commit, new LinkedHashMap<>(files));
        r.refs.put(branch, commit);
        for (Entry e : files.values()) {
            if (e.lfs()) {
                cdn.put(e.etag(), e);
            }
        }
    }

    /** Requests must carry this token; without it, 401 (GatedRepo when gated, else RepoNotFound, as the Hub answers). */
    void protect(String repoId, String token, boolean gated) {
        Repo r = repos.get(repoId);
        r.token = token;
        r.gated = gated;
    }

    void rename(String oldId, String newId) {
        renamed.put(oldId, newId);
    }

    void tooManyRequests(int count, int retryAfter) {
        retryAfterSeconds = retryAfter;
        tooManyRequests.set(count);
    }

    void serverErrors(int count) {
        serverErrors.set(count);
    }

    /** The next GETs of this file's bytes stop after these many bytes of the body (one per GET). */
    void cut(String file, long... afterBytes) {
        List<Long> list = Collections.synchronizedList(new ArrayList<>());
        for (long b : afterBytes) {
            list.add(b);
        }
        cutsByFile.put(file, list);
    }

    /** The next GET of this file's bytes pauses after {@code afterBytes} for {@code millis}. */
    void stall(String file, long afterBytes, long millis) {
        stallMillis = millis;
        stallByFile.put(file, afterBytes);
    }

    /** Serves these bytes for the file while announcing the real file's size and hash. */
    void corrupt(String file, byte[] served) {
        corruptByFile.put(file, served);
    }

    /** The next GET of this file's bytes waits this long before answering at all. */
    void delayHeaders(String file, long millis) {
        headerDelayByFile.put(file, millis);
    }

    void ignoreRanges(boolean ignore) {
        ignoreRanges = ignore;
    }

    List<Request> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    void clearRequests() {
        requests.clear();
    }

    long count(String method, String pathSuffix) {
        return requests().stream().filter(r -> r.method().equals(method) && r.path().endsWith(pathSuffix)).count();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            Headers h = ex.getRequestHeaders();
            requests.add(new Request(ex.getRequestMethod(), h.getFirst("Host"), URLDecoder.decode(path, StandardCharsets.UTF_8),
                    h.getFirst("Range"), h.getFirst("Authorization")));
            if (tooManyRequests.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                ex.getResponseHeaders().set("Retry-After", Integer.toString(retryAfterSeconds));
                empty(ex, 429);
                return;
            }
            if (serverErrors.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                empty(ex, 503);
                return;
            }
            if (path.startsWith("/cdn/")) {
                serveCdn(ex, path.substring(5));
            } else {
                serveResolve(ex, path);
            }
        }
        // An exception (a cut on purpose) leaves the handler, and the server drops the connection.
    }

    private void serveResolve(HttpExchange ex, String rawPath) throws IOException {
        // /{org}/{name}/resolve/{revision}/{file...}
        String[] parts = rawPath.substring(1).split("/", 5);
        if (parts.length < 5 || !parts[2].equals("resolve")) {
            empty(ex, 404);
            return;
        }
        String repoId = parts[0] + "/" + parts[1];
        String revision = URLDecoder.decode(parts[3], StandardCharsets.UTF_8);
        String file = URLDecoder.decode(parts[4], StandardCharsets.UTF_8);
        if (renamed.containsKey(repoId)) {
            ex.getResponseHeaders().set("Location", "/" + renamed.get(repoId) + "/resolve/" + parts[3] + "/" + parts[4]);
            empty(ex, 307);
            return;
        }
        Repo repo = repos.get(repoId);
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (repo == null && auth != null) {
            // Signed in, the Hub admits that the repository does not exist.
            ex.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
            ex.getResponseHeaders().set("X-Error-Message", "Repository not found");
            empty(ex, 404);
            return;
        }
        if (repo == null || repo.token != null && !("Bearer " + repo.token).equals(auth)) {
            boolean gated = repo != null && repo.gated;
            ex.getResponseHeaders().set("X-Error-Code", gated ? "GatedRepo" : "RepoNotFound");
            ex.getResponseHeaders().set("X-Error-Message", gated ? "Access to model " + repoId + " is restricted."
                    : "Repository not found");
            empty(ex, 401);
            return;
        }
        String commit = repo.commits.containsKey(revision) ? revision : repo.refs.get(revision);
        if (commit == null) {
            ex.getResponseHeaders().set("X-Error-Code", "RevisionNotFound");
            ex.getResponseHeaders().set("X-Error-Message", "Invalid rev id: " + revision);
            empty(ex, 404);
            return;
        }
        ex.getResponseHeaders().set("X-Repo-Commit", commit);
        Entry e = repo.commits.get(commit).get(file);
        if (e == null) {
            ex.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
            ex.getResponseHeaders().set("X-Error-Message", "Entry not found");
            empty(ex, 404);
            return;
        }
        if (e.lfs()) {
            ex.getResponseHeaders().set("X-Linked-Etag", "\"" + e.etag() + "\"");
            ex.getResponseHeaders().set("X-Linked-Size", Long.toString(e.content().length));
            ex.getResponseHeaders().set("ETag", "\"" + e.etag() + "\"");
            ex.getResponseHeaders().set("Location", cdnBase() + e.etag() + "?X-Amz-Signature=abc");
            empty(ex, 302);
            return;
        }
        ex.getResponseHeaders().set("ETag", "\"" + e.etag() + "\"");
        sendBytes(ex, file, e.content(), false);
    }

    private void serveCdn(HttpExchange ex, String name) throws IOException {
        Entry e = cdn.get(name);
        if (e == null) {
            empty(ex, 404);
            return;
        }
        ex.getResponseHeaders().set("ETag", "\"" + e.etag() + "\"");
        String file = fileNameOf(e);
        sendBytes(ex, file, e.content(), true);
    }

    private String fileNameOf(Entry e) {
        for (Repo r : repos.values()) {
            for (Map<String, Entry> files : r.commits.values()) {
                for (Map.Entry<String, Entry> f : files.entrySet()) {
                    if (f.getValue() == e) {
                        return f.getKey();
                    }
                }
            }
        }
        return "?";
    }

    /** The body (or its range), with the injected faults for this file. */
    private void sendBytes(HttpExchange ex, String file, byte[] content, boolean ranges) throws IOException {
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Integer.toString(content.length));
            ex.sendResponseHeaders(200, -1);
            return;
        }
        Long delay = headerDelayByFile.remove(file);
        if (delay != null) {
            sleep(delay);
        }
        byte[] served = corruptByFile.getOrDefault(file, content);
        long from = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        int status = 200;
        if (range != null && ranges && !ignoreRanges) {
            from = Long.parseLong(range.substring("bytes=".length(), range.indexOf('-')));
            if (from >= served.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + served.length);
                empty(ex, 416);
                return;
            }
            status = 206;
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (served.length - 1) + "/" + served.length);
        }
        long length = served.length - from;
        ex.sendResponseHeaders(status, length);
        OutputStream out = ex.getResponseBody();
        List<Long> cuts = cutsByFile.get(file);
        Long cut = cuts == null || cuts.isEmpty() ? null : cuts.removeFirst();
        Long stall = stallByFile.remove(file);
        long limit = cut == null ? length : Math.min(length, cut);
        long sent = 0;
        while (sent < limit) {
            int n = (int) Math.min(1 << 16, limit - sent);
            if (stall != null && sent < stall && sent + n >= stall) {
                n = (int) (stall - sent);
                out.write(served, (int) (from + sent), n);
                out.flush();
                sent += n;
                sleep(stallMillis);
                stall = null;
                continue;
            }
            out.write(served, (int) (from + sent), n);
            sent += n;
        }
        out.flush();
        if (cut != null && cut < length) {
            // Drop the connection mid-body, as a network cut would.
            throw new IOException("cut on purpose");
        }
    }

    private static void empty(HttpExchange ex, int status) throws IOException {
        ex.sendResponseHeaders(status, -1);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String sha256(byte[] b) {
        return hex("SHA-256", new byte[0], b);
    }

    static String gitSha1(byte[] b) {
        return hex("SHA-1", ("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII), b);
    }

    private static String hex(String algorithm, byte[] prefix, byte[] b) {
        try {
            MessageDigest d = MessageDigest.getInstance(algorithm);
            d.update(prefix);
            return HexFormat.of().formatHex(d.digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
