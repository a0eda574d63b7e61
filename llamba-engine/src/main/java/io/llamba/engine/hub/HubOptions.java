package io.llamba.engine.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Where and how to fetch from the Hugging Face Hub. {@link #fromEnvironment()} reads the variables the
 * Hub's own clients read, with their defaults, so both share one cache and one login:
 *
 * <ul>
 *   <li>{@code HF_HUB_CACHE} (or the older {@code HUGGINGFACE_HUB_CACHE}), else {@code $HF_HOME/hub},
 *       with {@code HF_HOME} defaulting to {@code $XDG_CACHE_HOME/huggingface} or {@code ~/.cache/huggingface}</li>
 *   <li>{@code HF_ENDPOINT} (default {@code https://huggingface.co}), for mirrors</li>
 *   <li>{@code HF_TOKEN} (or {@code HUGGING_FACE_HUB_TOKEN}), else the file {@code HF_TOKEN_PATH}
 *       (default {@code $HF_HOME/token}, written by {@code hf auth login})</li>
 *   <li>{@code HF_HUB_OFFLINE} (or {@code TRANSFORMERS_OFFLINE}) = 1/ON/YES/TRUE: use the cache only</li>
 *   <li>{@code HF_HUB_ETAG_TIMEOUT} and {@code HF_HUB_DOWNLOAD_TIMEOUT}: seconds to wait for metadata
 *       and for the next bytes of a download (10 each by default)</li>
 * </ul>
 *
 * A Spring property or a CLI option overrides any of them through {@link #toBuilder()}.
 */
public final class HubOptions {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

    private final URI endpoint;
    private final String token;
    private final String tokenSource;
    private final Path cacheDir;
    private final boolean offline;
    private final PullStrategy pullStrategy;
    private final ProgressListener progressListener;
    private final Duration connectTimeout;
    private final Duration metadataTimeout;
    private final Duration readTimeout;
    private final int maxRetries;
    private final Duration retryBackoff;
    private final Duration maxRetryWait;

    private HubOptions(Builder b) {
        this.endpoint = b.endpoint;
        this.token = b.token;
        this.tokenSource = b.tokenSource;
        this.cacheDir = b.cacheDir;
        this.offline = b.offline;
        this.pullStrategy = b.pullStrategy;
        this.progressListener = b.progressListener;
        this.connectTimeout = b.connectTimeout;
        this.metadataTimeout = b.metadataTimeout;
        this.readTimeout = b.readTimeout;
        this.maxRetries = b.maxRetries;
        this.retryBackoff = b.retryBackoff;
        this.maxRetryWait = b.maxRetryWait;
    }

    /** Options from this process's environment (see the class comment). */
    public static HubOptions fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home"))).build();
    }

    /**
     * A builder holding what {@code env} says, resolved against {@code home} for '~' and the
     * defaults; for tests and for embedding with another environment.
     *
     * @throws IllegalArgumentException when a variable holds an unusable value (the message names it)
     */
    public static Builder fromEnvironment(Map<String, String> env, Path home) {
        Builder b = new Builder();
        String xdg = nonBlank(env.get("XDG_CACHE_HOME"));
        Path hfHome = expand(nonBlank(env.get("HF_HOME")), home);
        if (hfHome == null) {
            hfHome = (xdg != null ? expand(xdg, home) : home.resolve(".cache")).resolve("huggingface");
        }
        String cache = nonBlank(env.get("HF_HUB_CACHE"));
        if (cache == null) {
            cache = nonBlank(env.get("HUGGINGFACE_HUB_CACHE"));
        }
        b.cacheDir(cache != null ? expand(cache, home) : hfHome.resolve("hub"));
        String endpoint = nonBlank(env.get("HF_ENDPOINT"));
        if (endpoint != null) {
            try {
                b.endpoint(URI.create(endpoint));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("HF_ENDPOINT: " + e.getMessage(), e);
            }
        }
        String token = nonBlank(env.get("HF_TOKEN"));
        String source = "HF_TOKEN";
        if (token == null) {
            token = nonBlank(env.get("HUGGING_FACE_HUB_TOKEN"));
            source = "HUGGING_FACE_HUB_TOKEN";
        }
        if (token == null) {
            String tokenPath = nonBlank(env.get("HF_TOKEN_PATH"));
            Path file = tokenPath != null ? expand(tokenPath, home) : hfHome.resolve("token");
            try {
                if (Files.isRegularFile(file)) {
                    token = nonBlank(Files.readString(file, StandardCharsets.UTF_8));
                    source = file.toString();
                }
            } catch (IOException e) {
                // An unreadable token file is like no login: public repositories still work, and a
                // gated one answers 401 with a message about the token.
            }
        }
        if (token != null) {
            b.token(token, source);
        }
        b.offline(isTrue(env.get("HF_HUB_OFFLINE")) || isTrue(env.get("TRANSFORMERS_OFFLINE")));
        Duration etag = seconds(env, "HF_HUB_ETAG_TIMEOUT");
        if (etag != null) {
            b.metadataTimeout(etag);
        }
        Duration download = seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT");
        if (download != null) {
            b.readTimeout(download);
        }
        return b;
    }

    /** Defaults without reading the environment: huggingface.co, ~/.cache/huggingface/hub, no token. */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.endpoint = endpoint;
        b.token = token;
        b.tokenSource = tokenSource;
        b.cacheDir = cacheDir;
        b.offline = offline;
        b.pullStrategy = pullStrategy;
        b.progressListener = progressListener;
        b.connectTimeout = connectTimeout;
        b.metadataTimeout = metadataTimeout;
        b.readTimeout = readTimeout;
        b.maxRetries = maxRetries;
        b.retryBackoff = retryBackoff;
        b.maxRetryWait = maxRetryWait;
        return b;
    }

    /** The Hub's base URL, without a trailing slash. */
    public URI endpoint() {
        return endpoint;
    }

    /** The access token, or null. */
    public String token() {
        return token;
    }

    /** Where the token came from ("HF_TOKEN", a file path, "spring.ai.llamba.hub.token", ...), for messages; null without a token. */
    public String tokenSource() {
        return tokenSource;
    }

    /** The hub cache directory ({@code models--org--name} folders). */
    public Path cacheDir() {
        return cacheDir;
    }

    public boolean offline() {
        return offline;
    }

    public PullStrategy pullStrategy() {
        return pullStrategy;
    }

    public ProgressListener progressListener() {
        return progressListener;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** How long to wait for the answer to a metadata (HEAD) request. */
    public Duration metadataTimeout() {
        return metadataTimeout;
    }

    /** How long a download may go without receiving a byte before it is treated as cut (and resumed). */
    public Duration readTimeout() {
        return readTimeout;
    }

    /** Retries after a 429/5xx answer, and resumptions of a cut download that made no progress. */
    public int maxRetries() {
        return maxRetries;
    }

    /** The first wait between retries (doubling up to 8 times it) when the server names none. */
    public Duration retryBackoff() {
        return retryBackoff;
    }

    /** The longest Retry-After this client honours; a longer one fails at once, saying when to retry. */
    public Duration maxRetryWait() {
        return maxRetryWait;
    }

    @Override
    public String toString() {
        return "HubOptions[endpoint=" + endpoint + ", cacheDir=" + cacheDir + ", token=" + (token == null ? "none" : "from " + tokenSource)
                + ", offline=" + offline + ", pullStrategy=" + pullStrategy.label() + "]";
    }

    private static String nonBlank(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static boolean isTrue(String s) {
        return s != null && TRUE_VALUES.contains(s.strip().toUpperCase(Locale.ROOT));
    }

    /** '~' and '~/...' as the Python client expands them. */
    private static Path expand(String path, Path home) {
        if (path == null) {
            return null;
        }
        if (path.equals("~")) {
            return home;
        }
        if (path.startsWith("~/")) {
            return home.resolve(path.substring(2));
        }
        return Path.of(path);
    }

    private static Duration seconds(Map<String, String> env, String name) {
        String v = nonBlank(env.get(name));
        if (v == null) {
            return null;
        }
        try {
            double s = Double.parseDouble(v);
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new NumberFormatException();
            }
            return Duration.ofMillis((long) Math.ceil(s * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": expected a positive number of seconds, got '" + v + "'");
        }
    }

    /** Mutable builder; {@link #build()} checks the values. */
    public static final class Builder {
        private URI endpoint = URI.create(DEFAULT_ENDPOINT);
        private String token;
        private String tokenSource;
        private Path cacheDir = Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
        private boolean offline;
        private PullStrategy pullStrategy = PullStrategy.WHEN_MISSING;
        private ProgressListener progressListener = new LoggingProgressListener();
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration metadataTimeout = Duration.ofSeconds(10);
        private Duration readTimeout = Duration.ofSeconds(10);
        private int maxRetries = 5;
        private Duration retryBackoff = Duration.ofSeconds(1);
        private Duration maxRetryWait = Duration.ofMinutes(2);

        private Builder() {
        }

        /** The Hub (or a mirror) base URL, http or https; a trailing slash is dropped. */
        public Builder endpoint(URI endpoint) {
            Objects.requireNonNull(endpoint, "endpoint");
            String scheme = endpoint.getScheme();
            if (scheme == null || !(scheme.equalsIgnoreCase("https") || scheme.equalsIgnoreCase("http")) || endpoint.getHost() == null) {
                throw new IllegalArgumentException("Hub endpoint must be an http(s) URL with a host, got '" + endpoint + "'");
            }
            String s = endpoint.toString();
            while (s.endsWith("/")) {
                s = s.substring(0, s.length() - 1);
            }
            this.endpoint = URI.create(s);
            return this;
        }

        public Builder endpoint(String endpoint) {
            return endpoint(URI.create(endpoint));
        }

        /**
         * A token for private and gated repositories; {@code source} names it in messages. Null or
         * blank keeps the token already set (from the environment), so an unset property changes nothing.
         */
        public Builder token(String token, String source) {
            if (nonBlank(token) == null) {
                return this;
            }
            this.token = nonBlank(token);
            this.tokenSource = Objects.requireNonNullElse(source, "the configured token");
            return this;
        }

        /** Sends no token, whatever the environment holds. */
        public Builder noToken() {
            this.token = null;
            this.tokenSource = null;
            return this;
        }

        public Builder token(String token) {
            return token(token, "the configured token");
        }

        public Builder cacheDir(Path cacheDir) {
            this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir");
            return this;
        }

        public Builder offline(boolean offline) {
            this.offline = offline;
            return this;
        }

        public Builder pullStrategy(PullStrategy pullStrategy) {
            this.pullStrategy = Objects.requireNonNull(pullStrategy, "pullStrategy");
            return this;
        }

        /** Replaces the listener (the default logs large files through System.Logger). */
        public Builder progressListener(ProgressListener listener) {
            this.progressListener = Objects.requireNonNull(listener, "progressListener");
            return this;
        }

        public Builder connectTimeout(Duration d) {
            this.connectTimeout = positive(d, "connectTimeout");
            return this;
        }

        public Builder metadataTimeout(Duration d) {
            this.metadataTimeout = positive(d, "metadataTimeout");
            return this;
        }

        public Builder readTimeout(Duration d) {
            this.readTimeout = positive(d, "readTimeout");
            return this;
        }

        public Builder maxRetries(int n) {
            if (n < 0 || n > 100) {
                throw new IllegalArgumentException("maxRetries must be in [0, 100], got " + n);
            }
            this.maxRetries = n;
            return this;
        }

        public Builder retryBackoff(Duration d) {
            this.retryBackoff = positive(d, "retryBackoff");
            return this;
        }

        public Builder maxRetryWait(Duration d) {
            this.maxRetryWait = positive(d, "maxRetryWait");
            return this;
        }

        public HubOptions build() {
            return new HubOptions(this);
        }

        private static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, got " + d);
            }
            return d;
        }
    }
}
