package io.llamba.engine.hub;

import static io.llamba.engine.hub.HubTestSupport.COMMIT_1;
import static io.llamba.engine.hub.HubTestSupport.COMMIT_2;
import static io.llamba.engine.hub.HubTestSupport.LLAMBA;
import static io.llamba.engine.hub.HubTestSupport.git;
import static io.llamba.engine.hub.HubTestSupport.lfs;
import static io.llamba.engine.hub.HubTestSupport.options;
import static io.llamba.engine.hub.HubTestSupport.random;
import static io.llamba.engine.hub.HubTestSupport.singleFileModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llamba.engine.hub.HubTestSupport.RecordingListener;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a loopback server that answers like the Hub: layout, redirects, resumption, checksums. */
class HubDownloadTest {
    @TempDir
    Path cache;

    FakeHub hub;
    RecordingListener listener = new RecordingListener();
    byte[] weights = random(300_000, 1);

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        hub.publish(LLAMBA, "main", COMMIT_1, singleFileModel(weights));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private ModelResolver resolver(HubOptions.Builder b) {
        return new ModelResolver(b.build());
    }

    private Path repoDir() {
        return cache.resolve("models--cartesia-ai--Llamba-1B");
    }

    @Test
    void fullDownloadLaysOutTheCacheLikeHuggingFaceHub() throws Exception {
        hub.protect(LLAMBA, "hf_secret", false);
        RepoSnapshot s;
        try (ModelResolver r = resolver(options(hub, cache, listener).token("hf_secret", "HF_TOKEN"))) {
            s = r.pullModel(RepoRef.parse(LLAMBA));
        }
        assertThat(s.commit()).isEqualTo(COMMIT_1);
        assertThat(s.files()).containsExactly("config.json", "model.safetensors");
        assertThat(s.directory()).isEqualTo(repoDir().resolve("snapshots").resolve(COMMIT_1));

        String weightsEtag = FakeHub.sha256(weights);
        String configEtag = FakeHub.gitSha1("{\"model_type\": \"llamba\"}\n".getBytes(StandardCharsets.UTF_8));
        // Snapshot entries are relative links to blobs named by ETag, as the Python client makes them.
        assertThat(Files.readSymbolicLink(s.directory().resolve("model.safetensors"))).isEqualTo(Path.of("../../blobs/" + weightsEtag));
        assertThat(Files.readSymbolicLink(s.directory().resolve("config.json"))).isEqualTo(Path.of("../../blobs/" + configEtag));
        assertThat(Files.readAllBytes(repoDir().resolve("blobs").resolve(weightsEtag))).isEqualTo(weights);
        assertThat(Files.readString(repoDir().resolve("refs/main"))).isEqualTo(COMMIT_1);
        assertThat(cache.resolve("CACHEDIR.TAG")).exists();
        assertThat(cache.resolve(".locks/models--cartesia-ai--Llamba-1B/" + weightsEtag + ".lock")).exists();
        try (Stream<Path> blobs = Files.list(repoDir().resolve("blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(weightsEtag, configEtag);
        }
        // README.md is not needed and not fetched.
        assertThat(hub.count("HEAD", "README.md")).isZero();

        // The token goes to the Hub only; the CDN (another host) gets the signed URL without it.
        List<FakeHub.Request> cdn = hub.requests().stream().filter(q -> q.path().startsWith("/cdn/")).toList();
        assertThat(cdn).hasSize(1);
        assertThat(cdn.getFirst().host()).startsWith("localhost:");
        assertThat(cdn.getFirst().authorization()).isNull();
        assertThat(hub.requests().stream().filter(q -> q.path().contains("/resolve/")))
                .allSatisfy(q -> assertThat(q.authorization()).isEqualTo("Bearer hf_secret"));
        // After the first answer every request is pinned to its commit.
        assertThat(hub.requests().stream().filter(q -> q.path().contains("/resolve/")).skip(1))
                .allSatisfy(q -> assertThat(q.path()).contains("/resolve/" + COMMIT_1 + "/"));
        assertThat(listener.events()).contains("started model.safetensors 300000 from 0", "finished model.safetensors 300000");
    }

    @Test
    void pullStrategiesDecideWhenToAskTheHub() throws Exception {
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            r.pullModel(RepoRef.parse(LLAMBA));
        }
        hub.clearRequests();
        // when_missing: everything is cached, no request at all.
        try (ModelResolver r = resolver(options(hub, cache, listener).pullStrategy(PullStrategy.WHEN_MISSING))) {
            assertThat(r.pullModel(RepoRef.parse(LLAMBA)).commit()).isEqualTo(COMMIT_1);
        }
        assertThat(hub.requests()).isEmpty();

        // always: asks the Hub, finds a new commit whose weights are unchanged, fetches only the new config.
        Map<String, FakeHub.Entry> v2 = Map.of("config.json", git("{\"model_type\": \"llamba\", \"v\": 2}\n"), "model.safetensors", lfs(weights));
        hub.publish(LLAMBA, "main", COMMIT_2, v2);
        try (ModelResolver r = resolver(options(hub, cache, listener).pullStrategy(PullStrategy.ALWAYS))) {
            RepoSnapshot s = r.pullModel(RepoRef.parse(LLAMBA));
            assertThat(s.commit()).isEqualTo(COMMIT_2);
            assertThat(Files.readString(s.directory().resolve("config.json"))).contains("\"v\": 2");
            assertThat(Files.readAllBytes(s.directory().resolve("model.safetensors"))).isEqualTo(weights);
        }
        assertThat(hub.count("GET", "config.json")).isEqualTo(1);
        assertThat(hub.requests().stream().filter(q -> q.path().startsWith("/cdn/"))).isEmpty();
        assertThat(Files.readString(repoDir().resolve("refs/main"))).isEqualTo(COMMIT_2);

        // always, Hub down: the cached snapshot, with a warning.
        hub.serverErrors(1000);
        try (ModelResolver r = resolver(options(hub, cache, listener).pullStrategy(PullStrategy.ALWAYS).maxRetries(1))) {
            assertThat(r.pullModel(RepoRef.parse(LLAMBA)).commit()).isEqualTo(COMMIT_2);
        }
    }

    @Test
    void resumesWithARangeAfterTheConnectionIsCut() throws Exception {
        hub.cut("model.safetensors", 100_000, 150_000);
        RepoSnapshot s;
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            s = r.pullModel(RepoRef.parse(LLAMBA));
        }
        assertThat(Files.readAllBytes(s.directory().resolve("model.safetensors"))).isEqualTo(weights);
        List<String> ranges = hub.requests().stream().filter(q -> q.path().startsWith("/cdn/")).map(FakeHub.Request::range).toList();
        assertThat(ranges).containsExactly(null, "bytes=100000-", "bytes=250000-");
        assertThat(Files.exists(repoDir().resolve("blobs").resolve(FakeHub.sha256(weights) + ".incomplete"))).isFalse();
    }

    @Test
    void resumesAPartialFileLeftByAnEarlierRunAndAStalledBody() throws Exception {
        // A crashed run left the first 123456 bytes in blobs/{etag}.incomplete.
        Path blobs = Files.createDirectories(repoDir().resolve("blobs"));
        Files.write(blobs.resolve(FakeHub.sha256(weights) + ".incomplete"), Arrays.copyOf(weights, 123_456));
        // ...and now the server stops sending for longer than the read timeout.
        hub.stall("model.safetensors", 50_000, 1500);
        RepoSnapshot s;
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            s = r.pullModel(RepoRef.parse(LLAMBA));
        }
        assertThat(Files.readAllBytes(s.directory().resolve("model.safetensors"))).isEqualTo(weights);
        List<String> ranges = hub.requests().stream().filter(q -> q.path().startsWith("/cdn/")).map(FakeHub.Request::range).toList();
        assertThat(ranges).containsExactly("bytes=123456-", "bytes=173456-");
        assertThat(listener.events()).contains("started model.safetensors 300000 from 123456");
    }

    @Test
    void aServerThatNeverAnswersTimesOutAndIsAskedAgain() throws Exception {
        hub.delayHeaders("model.safetensors", 1500);
        try (ModelResolver r = resolver(options(hub, cache, listener).metadataTimeout(java.time.Duration.ofMillis(300)))) {
            RepoSnapshot s = r.pullModel(RepoRef.parse(LLAMBA));
            assertThat(Files.readAllBytes(s.directory().resolve("model.safetensors"))).isEqualTo(weights);
        }
        assertThat(hub.requests().stream().filter(q -> q.path().startsWith("/cdn/"))).hasSize(2);
    }

    @Test
    void serverIgnoringTheRangeRestartsFromZero() throws Exception {
        Path blobs = Files.createDirectories(repoDir().resolve("blobs"));
        Files.write(blobs.resolve(FakeHub.sha256(weights) + ".incomplete"), Arrays.copyOf(weights, 1000));
        hub.ignoreRanges(true);
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            RepoSnapshot s = r.pullModel(RepoRef.parse(LLAMBA));
            assertThat(Files.readAllBytes(s.directory().resolve("model.safetensors"))).isEqualTo(weights);
        }
    }

    @Test
    void wrongChecksumDeletesThePartialFileAndNamesTheFile() throws Exception {
        byte[] bad = weights.clone();
        bad[200_000] ^= 1;
        hub.corrupt("model.safetensors", bad);
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            assertThatThrownBy(() -> r.pullModel(RepoRef.parse(LLAMBA)))
                    .isInstanceOfSatisfying(HubException.class, e -> {
                        assertThat(e.kind()).isEqualTo(HubException.Kind.CHECKSUM_MISMATCH);
                        assertThat(e.file()).isEqualTo("model.safetensors");
                    })
                    .hasMessageContaining(LLAMBA + ": model.safetensors is corrupt: its sha256 is " + FakeHub.sha256(bad))
                    .hasMessageContaining("the Hub announced " + FakeHub.sha256(weights));
        }
        try (Stream<Path> blobs = Files.list(repoDir().resolve("blobs"))) {
            // Only config.json's blob: nothing partial or corrupt stays.
            assertThat(blobs.map(p -> p.getFileName().toString())).containsExactly(
                    FakeHub.gitSha1("{\"model_type\": \"llamba\"}\n".getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(repoDir().resolve("snapshots").resolve(COMMIT_1).resolve("model.safetensors")).doesNotExist();
        assertThat(repoDir().resolve("refs/main")).doesNotExist();
        assertThat(listener.events()).contains("failed model.safetensors");
    }

    @Test
    void gitFilesAreCheckedAgainstTheirBlobId() throws Exception {
        hub.corrupt("config.json", "{\"model_type\": \"llambA\"}\n".getBytes(StandardCharsets.UTF_8));
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            assertThatThrownBy(() -> r.pullModel(RepoRef.parse(LLAMBA)))
                    .hasMessageContaining("config.json is corrupt: its git blob sha1 is");
        }
    }

    @Test
    void longerBodyThanAnnouncedIsRejected() throws Exception {
        hub.corrupt("model.safetensors", Arrays.copyOf(weights, weights.length + 10));
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            assertThatThrownBy(() -> r.pullModel(RepoRef.parse(LLAMBA)))
                    .hasMessageContaining("model.safetensors is longer than the 300000 bytes the Hub announced");
        }
        assertThat(repoDir().resolve("blobs").resolve(FakeHub.sha256(weights) + ".incomplete")).doesNotExist();
    }

    @Test
    void repeatedCutsWithoutProgressGiveUpAndKeepThePartialFile() throws Exception {
        hub.cut("model.safetensors", 1000, 0, 0, 0);
        try (ModelResolver r = resolver(options(hub, cache, listener).maxRetries(2))) {
            assertThatThrownBy(() -> r.pullModel(RepoRef.parse(LLAMBA)))
                    .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.kind()).isEqualTo(HubException.Kind.NETWORK))
                    .hasMessageContaining("download of model.safetensors stopped at 1000 of 300000 bytes 3 times in a row")
                    .hasMessageContaining("run again to resume");
        }
        assertThat(Files.size(repoDir().resolve("blobs").resolve(FakeHub.sha256(weights) + ".incomplete"))).isEqualTo(1000);
        // The next run resumes from there.
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            assertThat(Files.readAllBytes(r.pullModel(RepoRef.parse(LLAMBA)).directory().resolve("model.safetensors"))).isEqualTo(weights);
        }
        assertThat(hub.requests().getLast().range()).isEqualTo("bytes=1000-");
    }

    @Test
    void shardedCheckpointFetchesTheIndexAndItsShards() throws Exception {
        byte[] s1 = random(5000, 2);
        byte[] s2 = random(7000, 3);
        String index = "{\"metadata\": {}, \"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
                + " \"b\": \"model-00002-of-00002.safetensors\", \"c\": \"model-00001-of-00002.safetensors\"}}";
        hub.publish("org/Sharded", "main", COMMIT_1, Map.of("config.json", git("{}"), "model.safetensors.index.json", git(index),
                "model-00001-of-00002.safetensors", lfs(s1), "model-00002-of-00002.safetensors", lfs(s2)));
        RepoSnapshot s;
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            s = r.pullModel(RepoRef.parse("org/Sharded"));
        }
        assertThat(s.files()).containsExactly("config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors");
        assertThat(Files.readAllBytes(s.directory().resolve("model-00002-of-00002.safetensors"))).isEqualTo(s2);
        // The absent single file is recorded the way huggingface_hub records it.
        assertThat(cache.resolve("models--org--Sharded/.no_exist").resolve(COMMIT_1).resolve("model.safetensors")).isRegularFile();
    }

    @Test
    void indexNamingAFileOutsideTheRepositoryIsRefused() throws Exception {
        hub.publish("org/Evil", "main", COMMIT_1, Map.of("config.json", git("{}"),
                "model.safetensors.index.json", git("{\"weight_map\": {\"w\": \"../../../../etc/passwd\"}}")));
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            assertThatThrownBy(() -> r.pullModel(RepoRef.parse("org/Evil")))
                    .hasMessageContaining("org/Evil: model.safetensors.index.json: weight_map entry for w: file name '../../../../etc/passwd'"
                            + " is not a relative path inside the repository");
        }
    }

    @Test
    void followsTheRelativeRedirectOfARenamedRepository() throws Exception {
        hub.rename("cartesia-ai/Old-Name", LLAMBA);
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            RepoSnapshot s = r.pullModel(RepoRef.parse("cartesia-ai/Old-Name"));
            assertThat(s.directory()).isEqualTo(cache.resolve("models--cartesia-ai--Old-Name/snapshots/" + COMMIT_1));
            assertThat(Files.readAllBytes(s.directory().resolve("model.safetensors"))).isEqualTo(weights);
        }
    }

    @Test
    void branchNamesWithSlashesAreQuotedAndStoredUnderRefs() throws Exception {
        hub.publish(LLAMBA, "refs/pr/1", COMMIT_2, singleFileModel(weights));
        try (ModelResolver r = resolver(options(hub, cache, listener))) {
            assertThat(r.pullModel(RepoRef.parse(LLAMBA + "@refs/pr/1")).commit()).isEqualTo(COMMIT_2);
        }
        assertThat(hub.requests().getFirst().path()).isEqualTo("/" + LLAMBA + "/resolve/refs/pr/1/config.json");
        assertThat(Files.readString(repoDir().resolve("refs/refs/pr/1"))).isEqualTo(COMMIT_2);
    }

    @Test
    void largeFilesAreLoggedAtInfoEveryTenth() throws Exception {
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger("io.llamba.engine.hub");
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler h = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel().intValue() >= java.util.logging.Level.INFO.intValue()) {
                    lines.add(java.text.MessageFormat.format(r.getMessage(), r.getParameters()));
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jul.addHandler(h);
        try (ModelResolver r = resolver(options(hub, cache, listener).progressListener(new LoggingProgressListener(100_000)))) {
            r.pullModel(RepoRef.parse(LLAMBA));
        } finally {
            jul.removeHandler(h);
        }
        // config.json is small (DEBUG); the 300000-byte weights are "large" here.
        assertThat(lines.getFirst()).isEqualTo("Downloading model.safetensors from " + LLAMBA + ": 293.0 KiB");
        assertThat(lines).anyMatch(l -> l.startsWith("model.safetensors: 50% ("));
        assertThat(lines.getLast()).startsWith("Downloaded model.safetensors from " + LLAMBA + ": 293.0 KiB in ");
        assertThat(lines.size()).isBetween(3, 12);
    }

    @Test
    void concurrentPullsOfOneFileDownloadItOnce() throws Exception {
        try (ModelResolver a = resolver(options(hub, cache, listener)); ModelResolver b = resolver(options(hub, cache, listener))) {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    a.pullModel(RepoRef.parse(LLAMBA));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            RepoSnapshot s = b.pullModel(RepoRef.parse(LLAMBA));
            t.join();
            assertThat(Files.readAllBytes(s.directory().resolve("model.safetensors"))).isEqualTo(weights);
        }
        assertThat(hub.requests().stream().filter(q -> q.path().startsWith("/cdn/"))).hasSize(1);
    }
}
