package io.llamba.engine.hub;

import static io.llamba.engine.hub.HubTestSupport.COMMIT_1;
import static io.llamba.engine.hub.HubTestSupport.LLAMBA;
import static io.llamba.engine.hub.HubTestSupport.git;
import static io.llamba.engine.hub.HubTestSupport.lfs;
import static io.llamba.engine.hub.HubTestSupport.options;
import static io.llamba.engine.hub.HubTestSupport.random;
import static org.assertj.core.api.Assertions.assertThat;

import io.llamba.engine.hub.HubTestSupport.RecordingListener;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cache written by huggingface_hub (laid out here by hand, links included) is used as it is: no
 * download of what it holds, whatever the pull strategy.
 */
class PythonCacheTest {
    static final String CONFIG = "{\"model_type\": \"llamba\"}\n";

    @TempDir
    Path cache;

    FakeHub hub;
    RecordingListener listener = new RecordingListener();
    byte[] weights = random(50_000, 7);
    byte[] shard1 = random(3000, 8);
    byte[] shard2 = random(4000, 9);
    String index = "{\"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\", \"y\": \"model-00002-of-00002.safetensors\"}}";

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        hub.publish(LLAMBA, "main", COMMIT_1, Map.of("config.json", git(CONFIG), "model.safetensors", lfs(weights)));
        Map<String, FakeHub.Entry> sharded = new LinkedHashMap<>();
        sharded.put("config.json", git(CONFIG));
        sharded.put("model.safetensors.index.json", git(index));
        sharded.put("model-00001-of-00002.safetensors", lfs(shard1));
        sharded.put("model-00002-of-00002.safetensors", lfs(shard2));
        hub.publish("cartesia-ai/Llamba-8B", "main", COMMIT_1, sharded);
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    /** What hf_hub_download leaves: blobs/{etag}, snapshots/{commit}/{file} -> ../../blobs/{etag}, refs/main. */
    private void pythonDownloaded(String repoId, Map<String, byte[]> files, boolean lfsByName) throws Exception {
        Path repo = cache.resolve("models--" + repoId.replace("/", "--"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots").resolve(COMMIT_1));
        Files.createDirectories(repo.resolve("blobs"));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            boolean isLfs = lfsByName && f.getKey().endsWith(".safetensors");
            String etag = isLfs ? FakeHub.sha256(f.getValue()) : FakeHub.gitSha1(f.getValue());
            Files.write(repo.resolve("blobs").resolve(etag), f.getValue());
            Files.createSymbolicLink(snapshot.resolve(f.getKey()), Path.of("..", "..", "blobs", etag));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), COMMIT_1);
    }

    private long downloads() {
        return hub.requests().stream().filter(r -> r.method().equals("GET")).count();
    }

    @Test
    void whenMissingUsesAPythonCacheWithoutAnyRequest() throws Exception {
        pythonDownloaded(LLAMBA, Map.of("config.json", CONFIG.getBytes(StandardCharsets.UTF_8), "model.safetensors", weights), true);
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            Path dir = r.resolveModel(LLAMBA);
            assertThat(dir).isEqualTo(cache.resolve("models--cartesia-ai--Llamba-1B/snapshots/" + COMMIT_1));
            assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(weights);
        }
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void alwaysChecksTheHubButReusesThePythonBlobs() throws Exception {
        pythonDownloaded(LLAMBA, Map.of("config.json", CONFIG.getBytes(StandardCharsets.UTF_8), "model.safetensors", weights), true);
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).pullStrategy(PullStrategy.ALWAYS).build())) {
            assertThat(r.pullModel(RepoRef.parse(LLAMBA)).commit()).isEqualTo(COMMIT_1);
        }
        assertThat(hub.count("HEAD", "config.json")).isEqualTo(1);
        assertThat(hub.count("HEAD", "model.safetensors")).isEqualTo(1);
        assertThat(downloads()).isZero();
        assertThat(listener.events()).isEmpty();
    }

    @Test
    void completesAPythonSnapshotThatLacksTheWeights() throws Exception {
        pythonDownloaded(LLAMBA, Map.of("config.json", CONFIG.getBytes(StandardCharsets.UTF_8)), true);
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            Path dir = r.resolveModel(LLAMBA);
            assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(weights);
            assertThat(Files.readSymbolicLink(dir.resolve("config.json"))).isEqualTo(Path.of("../../blobs/" + FakeHub.gitSha1(CONFIG.getBytes(StandardCharsets.UTF_8))));
        }
        assertThat(hub.count("GET", "config.json")).isZero();
        assertThat(hub.requests().stream().filter(q -> q.path().startsWith("/cdn/"))).hasSize(1);
    }

    @Test
    void shardedSnapshotDownloadCacheNeedsOnlyMetadataOnceThenWorksOffline() throws Exception {
        // snapshot_download records no .no_exist for model.safetensors: whether the repository has one
        // is unknown, so when_missing asks the Hub once (HEADs only) and records it.
        pythonDownloaded("cartesia-ai/Llamba-8B", Map.of("config.json", CONFIG.getBytes(StandardCharsets.UTF_8),
                "model.safetensors.index.json", index.getBytes(StandardCharsets.UTF_8),
                "model-00001-of-00002.safetensors", shard1, "model-00002-of-00002.safetensors", shard2), true);
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            RepoSnapshot s = r.pullModel(RepoRef.parse("cartesia-ai/Llamba-8B"));
            assertThat(s.files()).hasSize(4);
        }
        assertThat(downloads()).isZero();
        assertThat(cache.resolve("models--cartesia-ai--Llamba-8B/.no_exist/" + COMMIT_1 + "/model.safetensors")).exists();

        hub.clearRequests();
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            assertThat(r.pullModel(RepoRef.parse("cartesia-ai/Llamba-8B")).files()).hasSize(4);
        }
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void offlineTakesAnUnknownOptionalFileAsAbsent() throws Exception {
        pythonDownloaded("cartesia-ai/Llamba-8B", Map.of("config.json", CONFIG.getBytes(StandardCharsets.UTF_8),
                "model.safetensors.index.json", index.getBytes(StandardCharsets.UTF_8),
                "model-00001-of-00002.safetensors", shard1, "model-00002-of-00002.safetensors", shard2), true);
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).offline(true).build())) {
            assertThat(r.pullModel(RepoRef.parse("cartesia-ai/Llamba-8B")).files()).containsExactly("config.json",
                    "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors");
        }
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void aCommitHashRevisionNeedsNoRef() throws Exception {
        pythonDownloaded(LLAMBA, Map.of("config.json", CONFIG.getBytes(StandardCharsets.UTF_8), "model.safetensors", weights), true);
        Files.delete(cache.resolve("models--cartesia-ai--Llamba-1B/refs/main"));
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).offline(true).build())) {
            assertThat(r.resolveModel(LLAMBA + "@" + COMMIT_1)).endsWith(Path.of("snapshots", COMMIT_1));
        }
    }
}
