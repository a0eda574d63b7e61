package io.llamba.engine.hub;

import static io.llamba.engine.hub.HubTestSupport.COMMIT_1;
import static io.llamba.engine.hub.HubTestSupport.LLAMBA;
import static io.llamba.engine.hub.HubTestSupport.git;
import static io.llamba.engine.hub.HubTestSupport.lfs;
import static io.llamba.engine.hub.HubTestSupport.options;
import static io.llamba.engine.hub.HubTestSupport.random;
import static io.llamba.engine.hub.HubTestSupport.singleFileModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llamba.engine.hub.HubTestSupport.RecordingListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model and tokenizer settings: local paths, repository ids, the teacher tokenizer and its fallback. */
class ModelResolverTest {
    static final String META_1B = "meta-llama/Llama-3.2-1B-Instruct";

    @TempDir
    Path cache;

    @TempDir
    Path work;

    FakeHub hub;
    RecordingListener listener = new RecordingListener();

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        hub.publish(LLAMBA, "main", COMMIT_1, singleFileModel(random(10_000, 11)));
        byte[] llama3 = HubTestSupport.llama3TokenizerJson();
        hub.publish(META_1B, "main", COMMIT_1, Map.of("tokenizer.json", lfs(llama3), "tokenizer_config.json", git("{}"),
                "model.safetensors", lfs(random(1000, 12))));
        hub.protect(META_1B, "hf_good", true);
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    @Test
    void settingsAreLocalPathsOrRepositoryIds() throws Exception {
        assertThat(ModelResolver.hubReference(work.toString())).isEmpty();
        assertThat(ModelResolver.hubReference("cartesia-ai/Llamba-3B@v1")).contains(new RepoRef("cartesia-ai/Llamba-3B", "v1"));
        assertThatThrownBy(() -> ModelResolver.hubReference("/no/such/model"))
                .hasMessage("'/no/such/model': file or directory not found, and not a Hugging Face repository id"
                        + " (organisation/name or organisation/name@revision): repository id '/no/such/model' must be 'name' or 'organisation/name'");
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            assertThat(r.resolveModel(work.toString())).isEqualTo(work);
            // A relative path that does not exist looks like a repository id: the error says both.
            assertThatThrownBy(() -> r.resolveModel("models/llamba"))
                    .hasMessageStartingWith("'models/llamba' is no local file or directory, and as a Hub repository: models/llamba:"
                            + " repository not found or not accessible (HTTP 401 for config.json)");
        }
        assertThat(hub.requests()).hasSize(1);
    }

    @Test
    void repositoryIdsFollowTheHubsRules() {
        assertThat(RepoRef.parse("cartesia-ai/Llamba-1B")).isEqualTo(new RepoRef("cartesia-ai/Llamba-1B", "main"));
        assertThat(RepoRef.parse("gpt2").cacheFolderName()).isEqualTo("models--gpt2");
        assertThat(RepoRef.parse("a_b/C.d-1@refs/pr/2").revision()).isEqualTo("refs/pr/2");
        assertThat(RepoRef.parse(LLAMBA + "@" + COMMIT_1).isCommit()).isTrue();
        assertThat(RepoRef.parse(LLAMBA).toString()).isEqualTo(LLAMBA);
        for (String bad : new String[] {"a/b/c", "a--b/c", "a/b..c", "-a/b", "a/b.", "a/b.git", "a/" + "x".repeat(97), "a b/c", "a/b@", ""}) {
            assertThatThrownBy(() -> RepoRef.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        for (String bad : new String[] {"..", "a/../b", "/x", "x/", ".hidden", "a\\b", "a:b", "x\ny"}) {
            assertThatThrownBy(() -> new RepoRef("a/b", bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void llambaModelsDefaultToTheirTeachersTokenizer() {
        assertThat(ModelResolver.defaultTokenizerRepo(RepoRef.parse("cartesia-ai/Llamba-1B"))).contains(RepoRef.parse(META_1B));
        assertThat(ModelResolver.defaultTokenizerRepo(RepoRef.parse("cartesia-ai/Llamba-3B"))).contains(RepoRef.parse("meta-llama/Llama-3.2-3B-Instruct"));
        assertThat(ModelResolver.defaultTokenizerRepo(RepoRef.parse("cartesia-ai/Llamba-8B"))).contains(RepoRef.parse("meta-llama/Llama-3.1-8B-Instruct"));
        assertThat(ModelResolver.defaultTokenizerRepo(RepoRef.parse("someone/llamba-8b-untied"))).contains(RepoRef.parse("meta-llama/Llama-3.1-8B-Instruct"));
        assertThat(ModelResolver.defaultTokenizerRepo(RepoRef.parse("someone/other-model"))).isEmpty();
    }

    @Test
    void hubModelGetsTheGatedTeacherTokenizerWithAToken() throws Exception {
        ResolvedModel m;
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).token("hf_good", "HF_TOKEN").build())) {
            m = r.resolve(LLAMBA, null);
        }
        assertThat(m.modelDirectory()).isEqualTo(cache.resolve("models--cartesia-ai--Llamba-1B/snapshots/" + COMMIT_1));
        assertThat(m.tokenizerPath()).isEqualTo(cache.resolve("models--meta-llama--Llama-3.2-1B-Instruct/snapshots/" + COMMIT_1));
        assertThat(m.tokenizerOrigin()).isEqualTo(META_1B);
        assertThat(m.loadTokenizer().encode("Hello, world!")).containsExactly(9906, 11, 1917, 0);
        // Only the tokenizer files of the teacher, never its weights.
        assertThat(hub.count("HEAD", "tokenizer_config.json")).isEqualTo(1);
        assertThat(hub.requests().stream().filter(q -> q.path().startsWith("/" + META_1B) && q.path().endsWith("model.safetensors"))).isEmpty();
    }

    @Test
    void withoutAccessToTheTeacherTheBundledTokenizerIsUsed() throws Exception {
        ResolvedModel m;
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            m = r.resolve(LLAMBA, null);
        }
        assertThat(m.tokenizerPath()).isNull();
        assertThat(m.tokenizerOrigin()).isEqualTo("bundled Llama 3");
        assertThat(m.loadTokenizer().encode("Hello, world!")).containsExactly(9906, 11, 1917, 0);
        // ...but a tokenizer asked for by name must be there.
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            assertThatThrownBy(() -> r.resolve(LLAMBA, META_1B)).isInstanceOfSatisfying(HubException.class,
                    e -> assertThat(e.kind()).isEqualTo(HubException.Kind.GATED));
        }
    }

    @Test
    void explicitTokenizerSettings() throws Exception {
        Path file = Files.writeString(work.resolve("tokenizer.json"), "{}");
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).token("hf_good", "HF_TOKEN").build())) {
            assertThat(r.resolve(LLAMBA, "bundled").tokenizerPath()).isNull();
            assertThat(r.resolve(LLAMBA, file.toString()).tokenizerPath()).isEqualTo(file);
            assertThat(r.resolve(LLAMBA, META_1B).tokenizerPath()).endsWith(Path.of("snapshots", COMMIT_1));
            // A local model directory keeps its own tokenizer.json, else the bundled one.
            assertThat(r.resolve(work.toString(), null).tokenizerPath()).isEqualTo(work.resolve("tokenizer.json"));
            Files.delete(file);
            assertThat(r.resolve(work.toString(), null).tokenizerPath()).isNull();
        }
    }

    @Test
    void otherRepositoriesUseTheirOwnTokenizerWhenTheyShipOne() throws Exception {
        hub.publish("org/WithTokenizer", "main", COMMIT_1, Map.of("config.json", git("{}"), "model.safetensors", lfs(random(100, 1)),
                "tokenizer.json", git("{\"x\": 1}")));
        hub.publish("org/Without", "main", COMMIT_1, Map.of("config.json", git("{}"), "model.safetensors", lfs(random(100, 1))));
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            ResolvedModel with = r.resolve("org/WithTokenizer", null);
            assertThat(with.tokenizerPath()).isEqualTo(with.modelDirectory().resolve("tokenizer.json"));
            assertThat(Files.readString(with.tokenizerPath())).isEqualTo("{\"x\": 1}");
            assertThat(r.resolve("org/Without", null).tokenizerPath()).isNull();
        }
        // Offline later, the same answers from the cache.
        hub.clearRequests();
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).offline(true).build())) {
            assertThat(r.resolve("org/WithTokenizer", null).tokenizerPath()).isNotNull();
            assertThat(r.resolve("org/Without", null).tokenizerPath()).isNull();
        }
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void environmentVariablesAsTheHubsClientsReadThem() throws Exception {
        Path home = work.resolve("home");
        HubOptions o = HubOptions.fromEnvironment(Map.of(), home).build();
        assertThat(o.cacheDir()).isEqualTo(home.resolve(".cache/huggingface/hub"));
        assertThat(o.endpoint().toString()).isEqualTo("https://huggingface.co");
        assertThat(o.token()).isNull();
        assertThat(o.offline()).isFalse();

        o = HubOptions.fromEnvironment(Map.of("XDG_CACHE_HOME", "/xdg"), home).build();
        assertThat(o.cacheDir()).isEqualTo(Path.of("/xdg/huggingface/hub"));
        o = HubOptions.fromEnvironment(Map.of("HF_HOME", "~/hf", "XDG_CACHE_HOME", "/xdg"), home).build();
        assertThat(o.cacheDir()).isEqualTo(home.resolve("hf/hub"));
        o = HubOptions.fromEnvironment(Map.of("HF_HOME", "/hf", "HUGGINGFACE_HUB_CACHE", "/old"), home).build();
        assertThat(o.cacheDir()).isEqualTo(Path.of("/old"));
        o = HubOptions.fromEnvironment(Map.of("HF_HUB_CACHE", "/new", "HUGGINGFACE_HUB_CACHE", "/old"), home).build();
        assertThat(o.cacheDir()).isEqualTo(Path.of("/new"));

        // The token file `hf auth login` writes, unless HF_TOKEN is set.
        Files.createDirectories(home.resolve(".cache/huggingface"));
        Files.writeString(home.resolve(".cache/huggingface/token"), "hf_fromfile\n");
        o = HubOptions.fromEnvironment(Map.of(), home).build();
        assertThat(o.token()).isEqualTo("hf_fromfile");
        assertThat(o.tokenSource()).isEqualTo(home.resolve(".cache/huggingface/token").toString());
        o = HubOptions.fromEnvironment(Map.of("HF_TOKEN", "hf_env"), home).build();
        assertThat(o.token()).isEqualTo("hf_env");
        assertThat(o.tokenSource()).isEqualTo("HF_TOKEN");
        assertThat(o.toString()).doesNotContain("hf_env");
        // An unset property keeps the environment's token; noToken() drops it.
        assertThat(HubOptions.fromEnvironment(Map.of("HF_TOKEN", "hf_env"), home).token(null, "spring").build().token()).isEqualTo("hf_env");
        assertThat(HubOptions.fromEnvironment(Map.of("HF_TOKEN", "hf_env"), home).token("hf_prop", "spring").build().tokenSource()).isEqualTo("spring");
        assertThat(HubOptions.fromEnvironment(Map.of("HF_TOKEN", "hf_env"), home).noToken().build().token()).isNull();

        for (String v : new String[] {"1", "ON", "yes", "True"}) {
            assertThat(HubOptions.fromEnvironment(Map.of("HF_HUB_OFFLINE", v), home).build().offline()).as(v).isTrue();
        }
        assertThat(HubOptions.fromEnvironment(Map.of("HF_HUB_OFFLINE", "0"), home).build().offline()).isFalse();
        assertThat(HubOptions.fromEnvironment(Map.of("TRANSFORMERS_OFFLINE", "1"), home).build().offline()).isTrue();

        o = HubOptions.fromEnvironment(Map.of("HF_ENDPOINT", "https://hf-mirror.example/", "HF_HUB_DOWNLOAD_TIMEOUT", "2.5"), home).build();
        assertThat(o.endpoint().toString()).isEqualTo("https://hf-mirror.example");
        assertThat(o.readTimeout().toMillis()).isEqualTo(2500);
        assertThatThrownBy(() -> HubOptions.fromEnvironment(Map.of("HF_ENDPOINT", "ftp://x"), home))
                .hasMessageContaining("Hub endpoint must be an http(s) URL with a host, got 'ftp://x'");
        assertThatThrownBy(() -> HubOptions.fromEnvironment(Map.of("HF_HUB_ETAG_TIMEOUT", "soon"), home))
                .hasMessage("HF_HUB_ETAG_TIMEOUT: expected a positive number of seconds, got 'soon'");
        assertThat(PullStrategy.parse("when-missing")).isEqualTo(PullStrategy.WHEN_MISSING);
        assertThatThrownBy(() -> PullStrategy.parse("sometimes")).hasMessage("unknown pull strategy 'sometimes' (expected always, when_missing or never)");
    }
}
