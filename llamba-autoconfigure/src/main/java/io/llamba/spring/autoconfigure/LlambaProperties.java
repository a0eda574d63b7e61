package io.llamba.spring.autoconfigure;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.hub.HubOptions;
import io.llamba.engine.hub.PullStrategy;
import io.llamba.engine.model.BackendKind;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Quantization;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The Llamba model and engine. Checked when bound: a bad value fails the startup with a message
 * naming the property. Engine defaults are {@link EngineOptions#defaults()}'s, written out so the
 * configuration metadata shows them.
 */
@ConfigurationProperties(LlambaProperties.PREFIX)
public class LlambaProperties implements Validator {
    public static final String PREFIX = "spring.ai.llamba";

    /**
     * The model: a directory holding config.json and model.safetensors (or a sharded
     * model.safetensors.index.json), Hugging Face layout, or a Hugging Face repository id such as
     * cartesia-ai/Llamba-1B (optionally @revision), fetched into the Hugging Face cache as
     * pull-strategy says. An existing local path wins. Default: the embedded demo model.
     */
    private @Nullable String model;

    /**
     * The tokenizer: a tokenizer.json or tiktoken tokenizer.model file, a directory, a Hugging Face
     * repository id, or "bundled" (the Llama 3 tokenizer inside the engine). Default: the model
     * directory's tokenizer.json (or tokenizer.model); for a Llamba repository its teacher's
     * tokenizer (falling back to the bundled one when that gated repository is not accessible);
     * else the bundled Llama 3 tokenizer.
     */
    private @Nullable String tokenizer;

    /**
     * When a model or tokenizer given as a repository id is fetched from the Hub: always (ask the
     * Hub for the revision's current files, falling back to the cache when unreachable), when_missing
     * (use the cached snapshot when it is complete) or never (cache only).
     */
    private PullStrategy pullStrategy = PullStrategy.WHEN_MISSING;

    /** Where the model computes: auto (CUDA when a device is usable, else the CPU), cpu or cuda. */
    private BackendKind backend = BackendKind.AUTO;

    /** CPU threads for the CPU backend; 0 for one per physical core. */
    private int threads;

    /**
     * How the CPU backend holds weight matrices: none (as in the checkpoint), q8_0 or q4_0 (ggml's
     * block formats, quantized at load time: about 1/2 and 1/4 of BF16's bytes, so faster decoding).
     */
    private Quantization quantization = Quantization.NONE;

    /** Sequences generated at once: the engine's state slots, allocated at startup. */
    private int maxSequences = 16;

    /** Requests that may wait for a state slot; more are refused at once. */
    private int maxQueued = 256;

    /** Longest prompt plus reply, in tokens; 0 for the model's own limit. */
    private int maxContext;

    /**
     * Tokens per engine step (decode tokens of running sequences plus prompt chunks); bounds
     * how long one step may stall running streams. At least max-sequences.
     */
    private int maxBatchTokens = 256;

    /** The model name requests may give; default: the model directory's name. */
    private @Nullable String servedModelName;

    /** On shutdown, how long running and queued generations may take to finish before they are cancelled. */
    private Duration shutdownGracePeriod = Duration.ofSeconds(30);

    private final Resilience resilience = new Resilience();

    private final Readiness readiness = new Readiness();

    private final Hub hub = new Hub();

    private final Gpu gpu = new Gpu();

    public LoadOptions toLoadOptions() {
        return new LoadOptions(backend, threads, quantization)
                .withDeviceWeights(gpu.weights == null ? null : gpu.weights.dtype)
                .withDeviceState(gpu.state == null ? null : gpu.state.dtype);
    }

    public EngineOptions toEngineOptions() {
        return new EngineOptions(maxSequences, maxQueued, maxContext, maxBatchTokens);
    }

    /**
     * How to reach the Hub: the environment as the Hub's own clients read it (HF_HOME, HF_HUB_CACHE,
     * HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE...), overridden by the properties that are set.
     */
    public HubOptions toHubOptions() {
        HubOptions.Builder b = HubOptions.fromEnvironment().toBuilder().pullStrategy(pullStrategy);
        if (hub.token != null) {
            b.token(hub.token, PREFIX + ".hub.token");
        }
        if (hub.cacheDir != null) {
            b.cacheDir(hub.cacheDir);
        }
        if (hub.endpoint != null) {
            b.endpoint(hub.endpoint);
        }
        return b.build();
    }

    @Override
    public boolean supports(Class<?> clazz) {
        return LlambaProperties.class.isAssignableFrom(clazz);
    }

    @Override
    public void validate(Object target, Errors errors) {
        LlambaProperties p = (LlambaProperties) target;
        if (p.model != null && p.model.isBlank()) {
            errors.rejectValue("model", "blank", "must not be blank (leave it unset for the embedded model)");
        }
        if (p.tokenizer != null && p.tokenizer.isBlank()) {
            errors.rejectValue("tokenizer", "blank", "must not be blank (leave it unset for the model's own tokenizer)");
        }
        if (p.threads < 0) {
            errors.rejectValue("threads", "negative", "must be 0 (one per physical core) or positive");
        }
        if (p.maxSequences < 1) {
            errors.rejectValue("maxSequences", "range", "must be at least 1");
        }
        if (p.maxQueued < 0) {
            errors.rejectValue("maxQueued", "range", "must not be negative");
        }
        if (p.maxContext < 0) {
            errors.rejectValue("maxContext", "range", "must be 0 (the model's limit) or positive");
        }
        if (p.maxBatchTokens < Math.max(1, p.maxSequences)) {
            errors.rejectValue("maxBatchTokens", "range", "must be at least max-sequences (" + p.maxSequences + ")");
        }
        if (p.servedModelName != null && p.servedModelName.isBlank()) {
            errors.rejectValue("servedModelName", "blank", "must not be blank (leave it unset for the model's name)");
        }
        if (p.pullStrategy == null) {
            errors.rejectValue("pullStrategy", "missing", "must be always, when_missing or never");
        }
        if (p.hub.token != null && p.hub.token.isBlank()) {
            errors.rejectValue("hub.token", "blank", "must not be blank (leave it unset for HF_TOKEN or the login token file)");
        }
        if (p.hub.endpoint != null && (p.hub.endpoint.getScheme() == null || p.hub.endpoint.getHost() == null)) {
            errors.rejectValue("hub.endpoint", "invalid", "must be an http(s) URL such as https://huggingface.co");
        }
        if (p.shutdownGracePeriod == null || p.shutdownGracePeriod.isNegative()) {
            errors.rejectValue("shutdownGracePeriod", "range", "must not be negative");
        }
    }

    public @Nullable String getModel() {
        return model;
    }

    public void setModel(@Nullable String model) {
        this.model = model;
    }

    public @Nullable String getTokenizer() {
        return tokenizer;
    }

    public void setTokenizer(@Nullable String tokenizer) {
        this.tokenizer = tokenizer;
    }

    public BackendKind getBackend() {
        return backend;
    }

    public void setBackend(BackendKind backend) {
        this.backend = backend;
    }

    public int getThreads() {
        return threads;
    }

    public void setThreads(int threads) {
        this.threads = threads;
    }

    public Quantization getQuantization() {
        return quantization;
    }

    public void setQuantization(Quantization quantization) {
        this.quantization = quantization == null ? Quantization.NONE : quantization;
    }

    public int getMaxSequences() {
        return maxSequences;
    }

    public void setMaxSequences(int maxSequences) {
        this.maxSequences = maxSequences;
    }

    public int getMaxQueued() {
        return maxQueued;
    }

    public void setMaxQueued(int maxQueued) {
        this.maxQueued = maxQueued;
    }

    public int getMaxContext() {
        return maxContext;
    }

    public void setMaxContext(int maxContext) {
        this.maxContext = maxContext;
    }

    public int getMaxBatchTokens() {
        return maxBatchTokens;
    }

    public void setMaxBatchTokens(int maxBatchTokens) {
        this.maxBatchTokens = maxBatchTokens;
    }

    public @Nullable String getServedModelName() {
        return servedModelName;
    }

    public void setServedModelName(@Nullable String servedModelName) {
        this.servedModelName = servedModelName;
    }

    public Duration getShutdownGracePeriod() {
        return shutdownGracePeriod;
    }

    public void setShutdownGracePeriod(Duration shutdownGracePeriod) {
        this.shutdownGracePeriod = shutdownGracePeriod;
    }

    public PullStrategy getPullStrategy() {
        return pullStrategy;
    }

    public void setPullStrategy(PullStrategy pullStrategy) {
        this.pullStrategy = pullStrategy;
    }

    public Gpu getGpu() {
        return gpu;
    }

    public Hub getHub() {
        return hub;
    }

    public Resilience getResilience() {
        return resilience;
    }

    public Readiness getReadiness() {
        return readiness;
    }

    /** The Hugging Face Hub, for models and tokenizers given as repository ids. */
    /** How the model is held on a GPU (the CUDA backend); the CPU backend ignores these. */
    public static class Gpu {
        /**
         * The format of the weights on the device: f32 or bf16. Default: the checkpoint's precision
         * (BF16 stays BF16, F32 and F16 become F32).
         */
        private @Nullable DeviceFormat weights;

        /**
         * The format of each sequence's state on the device: Llamba's recurrent state is f32 by default
         * (the reference's); bf16 halves its memory and traffic per sequence, rounded every step. A
         * Llama KV cache defaults to the weights' format.
         */
        private @Nullable DeviceFormat state;

        public @Nullable DeviceFormat getWeights() {
            return weights;
        }

        public void setWeights(@Nullable DeviceFormat weights) {
            this.weights = weights;
        }

        public @Nullable DeviceFormat getState() {
            return state;
        }

        public void setState(@Nullable DeviceFormat state) {
            this.state = state;
        }
    }

    /** A number format the CUDA backend keeps weights or state in. */
    public enum DeviceFormat {
        F32(DType.F32), BF16(DType.BF16);

        private final DType dtype;

        DeviceFormat(DType dtype) {
            this.dtype = dtype;
        }
    }

    public static class Hub {
        /**
         * Access token (gated or private repositories). Default: HF_TOKEN, else the token file
         * that "hf auth login" writes.
         */
        private @Nullable String token;

        /** The Hub cache (models--org--name folders). Default: HF_HUB_CACHE, else $HF_HOME/hub. */
        private @Nullable Path cacheDir;

        /** The Hub or a mirror. Default: HF_ENDPOINT, else https://huggingface.co. */
        private @Nullable URI endpoint;

        public @Nullable String getToken() {
            return token;
        }

        public void setToken(@Nullable String token) {
            this.token = token;
        }

        public @Nullable Path getCacheDir() {
            return cacheDir;
        }

        public void setCacheDir(@Nullable Path cacheDir) {
            this.cacheDir = cacheDir;
        }

        public @Nullable URI getEndpoint() {
            return endpoint;
        }

        public void setEndpoint(@Nullable URI endpoint) {
            this.endpoint = endpoint;
        }
    }

    public static class Resilience {
        /**
         * Guard generations with the Resilience4j bulkhead, circuit breaker and time limiter named
         * "llamba" (configured under resilience4j.*.instances.llamba).
         */
        private boolean enabled = true;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }

    public static class Readiness {
        /**
         * Refuse traffic (readiness state REFUSING_TRAFFIC) while the "llamba" circuit breaker is
         * open, and accept it again when it closes.
         */
        private boolean followCircuitBreaker = true;

        public boolean isFollowCircuitBreaker() {
            return followCircuitBreaker;
        }

        public void setFollowCircuitBreaker(boolean followCircuitBreaker) {
            this.followCircuitBreaker = followCircuitBreaker;
        }
    }
}
