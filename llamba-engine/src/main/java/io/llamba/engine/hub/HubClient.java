package io.llamba.engine.hub;

import io.llamba.engine.hub.HubException.Kind;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Flow;

/**
 * Downloads single files of Hub repositories into the {@link HubCache}, speaking the protocol of
 * huggingface_hub's {@code hf_hub_download}:
 *
 * <ol>
 *   <li>{@code HEAD {endpoint}/{repo}/resolve/{revision}/{file}}, following only relative redirects
 *       (a renamed repository): {@code X-Repo-Commit} gives the commit, {@code X-Linked-Etag} or
 *       {@code ETag} the blob name and checksum, {@code X-Linked-Size} or {@code Content-Length} the
 *       size. A 404 with {@code X-Error-Code: EntryNotFound} means the file is absent.</li>
 *   <li>If the blob is not cached, {@code GET} of the same path pinned to the commit, following
 *       redirects to the CDN (without the Authorization header once the host changes), with
 *       {@code Range: bytes=N-} to resume a {@code .incomplete} file.</li>
 *   <li>The bytes are checked against the size and the hash (sha256 of LFS files, git blob sha1 of
 *       the others), renamed into {@code blobs/} and linked from {@code snapshots/{commit}/}.</li>
 * </ol>
 *
 * 429 and 5xx answers are retried (honouring {@code Retry-After}, bounded); a cut or stalled download
 * is resumed where it stopped, a bounded number of times in a row without progress.
 */
public final class HubClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.llamba.engine.hub");
    private static final int MAX_REDIRECTS = 10;
    private static final String USER_AGENT = "llamba-engine/0.1; java/" + Runtime.version().feature();

    private final HubOptions options;
    private final HubCache cache;
    private final HttpClient http;

    public HubClient(HubOptions options) {
        this.options = options;
        this.cache = new HubCache(options.cacheDir());
        // HTTP/1.1: one large file at a time gains nothing from HTTP/2, whose flow-control windows
        // would cap a single stream's speed.
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(options.connectTimeout())
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    public HubOptions options() {
        return options;
    }

    public HubCache cache() {
        return cache;
    }

    /**
     * Like huggingface_hub's {@code hf_hub_download}: the file at the revision, downloaded into the
     * cache if its blob is not there yet; returns its path in the snapshot and records the revision's
     * commit under {@code refs/}. Always asks the Hub (see {@link ModelResolver} for pull strategies).
     */
    public Path download(RepoRef ref, String file) throws IOException {
        FileMetadata m = metadata(ref, file);
        if (!m.exists()) {
            throw new HubException(Kind.ENTRY_NOT_FOUND, ref.repoId(), file, 404,
                    ref + ": the repository has no file " + file + " at revision " + ref.revision());
        }
        Path p = download(m);
        cache.writeRef(ref, m.commit());
        return p;
    }

    /**
     * Metadata of a file from a HEAD request. A file the repository lacks comes back with
     * {@code exists() == false} (and is recorded under {@code .no_exist/}, as the Python client does).
     */
    public FileMetadata metadata(RepoRef ref, String file) throws IOException {
        HubCache.requireSafeFilename(file);
        if (options.offline()) {
            throw new HubException(Kind.NOT_IN_CACHE, ref.repoId(), file, 0, ref + ": cannot ask the Hub about " + file
                    + ": offline mode is on (HF_HUB_OFFLINE)");
        }
        URI url = resolveUrl(ref.repoId(), ref.revision(), file);
        for (int hops = 0; ; hops++) {
            HttpRequest request = request(url).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .timeout(options.metadataTimeout()).build();
            HttpResponse<Void> r = send(request, HttpResponse.BodyHandlers.discarding(), ref, file);
            int status = r.statusCode();
            if (status == 404 && isEntryNotFound(r)) {
                String commit = r.headers().firstValue("X-Repo-Commit").filter(HubCache::isSafeSegment).orElse(null);
                if (commit != null) {
                    cache.markMissing(ref.repoId(), commit, file);
                }
                return new FileMetadata(ref.repoId(), file, commit, false, null, -1, false);
            }
            if (status >= 400) {
                throw errorFor(r, ref, file);
            }
            if (status >= 300) {
                String location = r.headers().firstValue("Location").orElseThrow(() -> badResponse(ref, file,
                        "HTTP " + status + " without a Location header"));
                URI target = url.resolve(location);
                if (URI.create(location).getHost() == null) {
                    // A relative redirect is the Hub's way of saying the repository was renamed.
                    if (hops >= MAX_REDIRECTS) {
                        throw badResponse(ref, file, "more than " + MAX_REDIRECTS + " redirects from " + url);
                    }
                    url = target;
                    continue;
                }
                // An absolute one points at the CDN; the metadata are in this answer's headers.
            }
            return parseMetadata(r, ref, file);
        }
    }

    private FileMetadata parseMetadata(HttpResponse<?> r, RepoRef ref, String file) throws HubException {
        String commit = r.headers().firstValue("X-Repo-Commit").orElseThrow(() -> badResponse(ref, file,
                "no X-Repo-Commit header: " + options.endpoint() + " does not answer like the Hugging Face Hub"
                        + " (check HF_ENDPOINT, proxies and firewalls)"));
        Optional<String> linkedEtag = r.headers().firstValue("X-Linked-Etag");
        String etag = normalizeEtag(linkedEtag.or(() -> r.headers().firstValue("ETag")).orElseThrow(() -> badResponse(ref, file,
                "no ETag header, so the file cannot be identified in the cache")));
        boolean redirect = r.statusCode() >= 300;
        Optional<String> size = r.headers().firstValue("X-Linked-Size");
        if (size.isEmpty() && !redirect) {
            size = r.headers().firstValue("Content-Length");
        }
        long bytes;
        try {
            bytes = Long.parseLong(size.orElseThrow(() -> badResponse(ref, file, "no X-Linked-Size or Content-Length header")).strip());
            if (bytes < 0) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw badResponse(ref, file, "unusable size header '" + size.orElse("") + "'");
        }
        if (!HubCache.isSafeSegment(commit)) {
            throw badResponse(ref, file, "unusable X-Repo-Commit '" + commit + "'");
        }
        if (!HubCache.isSafeSegment(etag)) {
            throw badResponse(ref, file, "unusable ETag '" + etag + "'");
        }
        return new FileMetadata(ref.repoId(), file, commit, true, etag, bytes, linkedEtag.isPresent());
    }

    /**
     * Makes the file of {@code m} present in the cache (downloading its blob unless already there)
     * and returns its snapshot path. Does not touch {@code refs/}: a caller fetching several files
     * moves the ref once all of them are in place.
     */
    public Path download(FileMetadata m) throws IOException {
        if (!m.exists()) {
            throw new IllegalArgumentException(m.file() + " does not exist in " + m.repoId());
        }
        Optional<Path> cached = cache.cachedFile(m.repoId(), m.commit(), m.file());
        if (cached.isPresent()) {
            return cached.get();
        }
        if (options.offline()) {
            throw new HubException(Kind.NOT_IN_CACHE, m.repoId(), m.file(), 0, m.repoId() + ": " + m.file()
                    + " is not in the cache and offline mode is on (HF_HUB_OFFLINE)");
        }
        Path blob = cache.blob(m.repoId(), m.etag());
        Files.createDirectories(blob.getParent());
        cache.tagCacheDir();
        try (AutoCloseable lock = cache.lockBlob(m.repoId(), m.etag())) {
            if (Files.isRegularFile(blob) && Files.size(blob) != m.size()) {
                LOG.log(System.Logger.Level.WARNING, "{0} has {1} bytes, the Hub says {2}: downloading it again", blob,
                        Files.size(blob), m.size());
                Files.delete(blob);
            }
            if (!Files.isRegularFile(blob)) {
                fetchBlob(m);
            }
            return cache.link(m.repoId(), m.commit(), m.file(), m.etag());
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private void fetchBlob(FileMetadata m) throws IOException {
        String repo = m.repoId();
        String file = m.file();
        Path incomplete = cache.incompleteBlob(repo, m.etag());
        long size = m.size();
        ContentHash hash = ContentHash.forFile(m);
        // Pinned to the commit: every attempt gets the same bytes, through a freshly signed CDN URL.
        URI url = resolveUrl(repo, m.commit(), file);
        ProgressListener listener = options.progressListener();
        long start = System.nanoTime();
        boolean deletePartial = false;
        try (FileChannel ch = FileChannel.open(incomplete, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Partial part = new Partial(ch, hash);
            if (ch.size() > size) {
                ch.truncate(0);
            }
            part.have = ch.size();
            checkDiskSpace(incomplete.getParent(), size - part.have, m);
            if (hash != null && part.have > 0) {
                hashPrefix(ch, part.have, hash);
            }
            listener.started(repo, file, size, part.have);
            int attemptsWithoutProgress = 0;
            Duration backoff = options.retryBackoff();
            IOException last = null;
            while (part.have < size) {
                long before = part.have;
                try {
                    get(url, part, m, listener);
                } catch (HubException e) {
                    if (e.kind() == Kind.CHECKSUM_MISMATCH) {
                        deletePartial = true;
                        throw e;
                    }
                    if (e.kind() != Kind.NETWORK) {
                        throw e;
                    }
                    last = e;
                } catch (InterruptedIOException e) {
                    throw e;
                } catch (IOException e) {
                    // A cut connection or a stalled body (HttpTimeoutException): resume.
                    last = e;
                }
                long have = part.have;
                if (have >= size) {
                    break;
                }
                if (have > before) {
                    attemptsWithoutProgress = 0;
                    backoff = options.retryBackoff();
                }
                if (++attemptsWithoutProgress > options.maxRetries()) {
                    throw new HubException(Kind.NETWORK, repo, file, 0, repo + ": download of " + file + " stopped at "
                            + have + " of " + size + " bytes " + (options.maxRetries() + 1) + " times in a row"
                            + (last == null ? "" : " (last: " + describe(last) + ")") + "; run again to resume from "
                            + incomplete, last);
                }
                LOG.log(System.Logger.Level.WARNING, "{0} from {1}: download cut at {2} of {3} bytes ({4}); resuming",
                        file, repo, have, size, last == null ? "the body ended early" : describe(last));
                sleep(backoff);
                backoff = min(backoff.multipliedBy(2), options.retryBackoff().multipliedBy(8));
                last = null;
            }
            ch.force(true);
            if (hash != null) {
                String actual = hash.actual();
                if (!actual.equals(hash.expected())) {
                    deletePartial = true;
                    throw new HubException(Kind.CHECKSUM_MISMATCH, repo, file, 0, repo + ": " + file + " is corrupt: its "
                            + hash.name() + " is " + actual + ", the Hub announced " + hash.expected()
                            + "; the partial file was deleted, run again to download it afresh");
                }
            }
        } catch (IOException | RuntimeException e) {
            if (deletePartial) {
                Files.deleteIfExists(incomplete);
            }
            listener.failed(repo, file, e);
            throw e;
        }
        HubCache.move(incomplete, cache.blob(repo, m.etag()));
        listener.finished(repo, file, size, System.nanoTime() - start);
    }

    /** The bytes of a file on disk so far, and their running hash; always in step, even when a GET fails midway. */
    private static final class Partial {
        final FileChannel ch;
        final ContentHash hash;
        long have;

        Partial(FileChannel ch, ContentHash hash) {
            this.ch = ch;
            this.hash = hash;
        }

        void restart() throws IOException {
            ch.truncate(0);
            if (hash != null) {
                hash.reset();
            }
            have = 0;
        }

        void append(ByteBuffer bb) throws IOException {
            if (hash != null) {
                hash.update(bb.duplicate());
            }
            while (bb.hasRemaining()) {
                have += ch.write(bb, have);
            }
        }
    }

    /** One GET from {@code part.have} on, appending what arrives until the body ends or fails. */
    private void get(URI url, Partial part, FileMetadata m, ProgressListener listener) throws IOException {
        RepoRef ref = new RepoRef(m.repoId(), m.commit());
        String file = m.file();
        long size = m.size();
        URI target = url;
        for (int hops = 0; ; hops++) {
            // The timeout covers the wait for the answer's headers; the body has the read timeout.
            HttpRequest.Builder b = request(target).GET().timeout(max(options.metadataTimeout(), options.readTimeout()));
            if (part.have > 0) {
                b.header("Range", "bytes=" + part.have + "-");
            }
            HttpResponse<Flow.Publisher<List<ByteBuffer>>> r = send(b.build(), HttpResponse.BodyHandlers.ofPublisher(), ref, file);
            int status = r.statusCode();
            if (status >= 300 && status < 400) {
                discard(r);
                String location = r.headers().firstValue("Location").orElseThrow(() -> badResponse(ref, file,
                        "HTTP " + status + " without a Location header"));
                if (hops >= MAX_REDIRECTS) {
                    throw badResponse(ref, file, "more than " + MAX_REDIRECTS + " redirects from " + url);
                }
                target = target.resolve(location);
                continue;
            }
            if (status == 416) {
                // The partial file does not fit what the server has: start over.
                discard(r);
                part.restart();
                return;
            }
            if (status >= 400) {
                discard(r);
                throw errorFor(r, ref, file);
            }
            String encoding = r.headers().firstValue("Content-Encoding").orElse("identity");
            if (!encoding.equalsIgnoreCase("identity")) {
                discard(r);
                throw badResponse(ref, file, "the server sent the file with Content-Encoding " + encoding + " although asked not to");
            }
            if (status == 206) {
                long from = rangeStart(r);
                if (from != part.have) {
                    discard(r);
                    throw badResponse(ref, file, "asked for bytes from " + part.have + ", got a range from " + from);
                }
            } else if (status == 200) {
                if (part.have > 0) {
                    // The server ignored the range and sends the whole file.
                    part.restart();
                }
            } else {
                discard(r);
                throw badResponse(ref, file, "unexpected HTTP " + status + " to a download");
            }
            try (BodyStream body = new BodyStream(options.readTimeout())) {
                r.body().subscribe(body);
                List<ByteBuffer> chunk;
                while ((chunk = body.next()) != null) {
                    for (ByteBuffer bb : chunk) {
                        if (part.have + bb.remaining() > size) {
                            throw new HubException(Kind.CHECKSUM_MISMATCH, m.repoId(), file, status, m.repoId() + ": "
                                    + file + " is longer than the " + size + " bytes the Hub announced; the partial file"
                                    + " was deleted, run again to download it afresh");
                        }
                        part.append(bb);
                    }
                    listener.progressed(m.repoId(), file, part.have, size);
                }
            }
            return;
        }
    }

    private static long rangeStart(HttpResponse<?> r) {
        // Content-Range: bytes 100-199/200
        String cr = r.headers().firstValue("Content-Range").orElse("");
        try {
            String spec = cr.strip();
            if (spec.startsWith("bytes ")) {
                return Long.parseLong(spec.substring(6, spec.indexOf('-')).strip());
            }
        } catch (RuntimeException e) {
            // fall through
        }
        return -1;
    }

    private static void hashPrefix(FileChannel ch, long length, ContentHash hash) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        long pos = 0;
        while (pos < length) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), length - pos));
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("partial file shorter than " + length + " bytes");
            }
            buf.flip();
            hash.update(buf);
            pos += n;
        }
    }

    private static void checkDiskSpace(Path dir, long needed, FileMetadata m) throws IOException {
        long free;
        try {
            free = Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return;
        }
        if (free > 0 && free < needed) {
            throw new IOException(m.repoId() + ": not enough disk space for " + m.file() + ": it needs "
                    + ProgressListener.formatBytes(needed) + " more, " + dir + " has " + ProgressListener.formatBytes(free) + " free");
        }
    }

    /** Sends, retrying 429 and 5xx answers with Retry-After or exponential backoff; network errors fail at once. */
    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, RepoRef ref, String file)
            throws IOException {
        Duration backoff = options.retryBackoff();
        for (int attempt = 0; ; attempt++) {
            HttpResponse<T> r;
            try {
                r = http.send(request, handler);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while talking to " + request.uri().getHost());
            } catch (IOException e) {
                String what = e instanceof HttpTimeoutException ? "no answer within the timeout"
                        : e instanceof ConnectException ? "cannot connect" : describe(e);
                throw new HubException(Kind.NETWORK, ref.repoId(), file, 0, ref.repoId() + ": " + file + ": " + what
                        + " (" + request.method() + " " + request.uri().getScheme() + "://" + request.uri().getAuthority()
                        + "); check the network, or use the cache only with HF_HUB_OFFLINE=1", e);
            }
            int s = r.statusCode();
            boolean retryable = s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
            if (!retryable) {
                return r;
            }
            discard(r);
            Optional<Duration> retryAfter = retryAfter(r);
            Duration wait = retryAfter.orElse(backoff);
            if (attempt >= options.maxRetries()) {
                throw errorFor(r, ref, file, " (after " + attempt + " retries)");
            }
            if (wait.compareTo(options.maxRetryWait()) > 0) {
                throw errorFor(r, ref, file, " (the server asks to retry in " + wait.toSeconds() + " s, longer than the "
                        + options.maxRetryWait().toSeconds() + " s this client waits; try again later)");
            }
            LOG.log(System.Logger.Level.WARNING, "{0}: HTTP {1} for {2}; retrying in {3} ms ({4}/{5})", ref.repoId(), s, file,
                    wait.toMillis(), attempt + 1, options.maxRetries());
            sleep(wait);
            if (retryAfter.isEmpty()) {
                backoff = min(backoff.multipliedBy(2), options.retryBackoff().multipliedBy(8));
            }
        }
    }

    /** Retry-After in seconds or as an HTTP date. */
    static Optional<Duration> retryAfter(HttpResponse<?> r) {
        Optional<String> v = r.headers().firstValue("Retry-After").map(String::strip).filter(s -> !s.isEmpty());
        if (v.isEmpty()) {
            return Optional.empty();
        }
        String s = v.get();
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(s))));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime when = ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(when.getZone()), when);
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (DateTimeParseException e2) {
                return Optional.empty();
            }
        }
    }

    private static boolean isEntryNotFound(HttpResponse<?> r) {
        Optional<String> code = r.headers().firstValue("X-Error-Code");
        return code.map("EntryNotFound"::equals).orElse(r.headers().firstValue("X-Repo-Commit").isPresent());
    }

    private HubException errorFor(HttpResponse<?> r, RepoRef ref, String file) {
        return errorFor(r, ref, file, "");
    }

    /** A message that names the repository and says what to do, from the status and the Hub's X-Error-* headers. */
    private HubException errorFor(HttpResponse<?> r, RepoRef ref, String file, String suffix) {
        int s = r.statusCode();
        String code = r.headers().firstValue("X-Error-Code").orElse("");
        String hubMessage = r.headers().firstValue("X-Error-Message").orElse("");
        String repo = ref.repoId();
        String page = options.endpoint() + "/" + repo;
        String token = options.token() == null ? null : options.tokenSource();
        String said = hubMessage.isEmpty() ? "" : " (the Hub says: " + hubMessage + ")";
        String status = "HTTP " + s;
        if (code.equals("RevisionNotFound")) {
            return new HubException(Kind.REVISION_NOT_FOUND, repo, file, s, repo + ": revision '" + ref.revision()
                    + "' not found (" + status + "); check the branch, tag or commit" + said);
        }
        if (code.equals("EntryNotFound")) {
            return new HubException(Kind.ENTRY_NOT_FOUND, repo, file, s, repo + ": no file " + file + " at revision "
                    + ref.revision() + " (" + status + ")" + said);
        }
        if (code.equals("GatedRepo")) {
            String todo = token == null
                    ? "then set HF_TOKEN to an access token of that account (" + tokensPage() + ")"
                    : "with the account of the token from " + token + " (or use a token of an account that has)";
            return new HubException(Kind.GATED, repo, file, s, repo + " is a gated repository (" + status + "): accept its"
                    + " license at " + page + " while logged in, " + todo + said);
        }
        if (s == 401 || code.equals("RepoNotFound")) {
            String why;
            if (token != null && hubMessage.toLowerCase(Locale.ROOT).contains("invalid credentials")) {
                why = "the token from " + token + " was rejected: create a new one at " + tokensPage();
            } else if (token == null) {
                why = "check the repository id; if the repository is private or gated, set HF_TOKEN to an access token"
                        + " (" + tokensPage() + ") of an account that may read it (for a gated one, accept its license at " + page + " first)";
            } else {
                why = "check the repository id; if it is private or gated, the token from " + token
                        + " has no access to it (for a gated one, accept its license at " + page + ")";
            }
            return new HubException(Kind.REPOSITORY_NOT_FOUND, repo, file, s, repo + ": repository not found or not"
                    + " accessible (" + status + " for " + file + "); " + why + said);
        }
        if (s == 403) {
            String why = token == null ? "set HF_TOKEN to an access token (" + tokensPage() + ") with read access"
                    : "make sure the token from " + token + " has read access to it";
            return new HubException(Kind.FORBIDDEN, repo, file, s, repo + ": access forbidden (" + status + " for " + file
                    + "); " + why + " and, for a gated repository, that its license is accepted at " + page + said);
        }
        if (s == 404) {
            return new HubException(Kind.REPOSITORY_NOT_FOUND, repo, file, s, repo + ": not found (" + status + " for "
                    + file + " at revision " + ref.revision() + "); check the repository id and revision" + said);
        }
        if (s == 429) {
            return new HubException(Kind.RATE_LIMITED, repo, file, s, repo + ": the Hub rate-limits this client ("
                    + status + " for " + file + ")" + suffix + (token == null ? "; requests with a token (HF_TOKEN) get a higher limit" : "") + said);
        }
        if (s >= 500) {
            return new HubException(Kind.SERVER_ERROR, repo, file, s, repo + ": the Hub failed (" + status + " for "
                    + file + ")" + suffix + "; try again later" + said);
        }
        return new HubException(Kind.BAD_RESPONSE, repo, file, s, repo + ": unexpected " + status + " for " + file + said);
    }

    private String tokensPage() {
        return options.endpoint() + "/settings/tokens";
    }

    private HubException badResponse(RepoRef ref, String file, String what) {
        return new HubException(Kind.BAD_RESPONSE, ref.repoId(), file, 0, ref.repoId() + ": " + file + ": " + what);
    }

    private HttpRequest.Builder request(URI url) {
        HttpRequest.Builder b = HttpRequest.newBuilder(url)
                .header("User-Agent", USER_AGENT)
                // The real size is needed: no compression.
                .header("Accept-Encoding", "identity");
        if (options.token() != null && sameOrigin(url, options.endpoint())) {
            // Only to the Hub itself: a CDN gets a signed URL and must never see the token.
            b.header("Authorization", "Bearer " + options.token());
        }
        return b;
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    /** {@code {endpoint}/{repo}/resolve/{revision}/{file}}, quoted as huggingface_hub quotes them. */
    URI resolveUrl(String repoId, String revision, String file) {
        return URI.create(options.endpoint() + "/" + repoId + "/resolve/" + quote(revision, false) + "/" + quote(file, true));
    }

    /** Percent-encodes all but unreserved characters (and '/' when {@code keepSlash}), like Python's urllib.parse.quote. */
    static String quote(String s, boolean keepSlash) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
                    || c == '~' || keepSlash && c == '/') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    /** huggingface_hub's normalisation: drop a weak-validator prefix and the quotes. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        return e;
    }

    /** Lets the client drop an answer's body without reading it. */
    private static void discard(HttpResponse<?> r) {
        if (r.body() instanceof Flow.Publisher<?> p) {
            p.subscribe(new Flow.Subscriber<Object>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.cancel();
                }

                @Override
                public void onNext(Object item) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onComplete() {
                }
            });
        }
    }

    private static void sleep(Duration d) throws InterruptedIOException {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry");
        }
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    @Override
    public void close() {
        http.close();
    }
}
