package io.llamba.engine.hub;

import static io.llamba.engine.hub.HubTestSupport.COMMIT_1;
import static io.llamba.engine.hub.HubTestSupport.LLAMBA;
import static io.llamba.engine.hub.HubTestSupport.git;
import static io.llamba.engine.hub.HubTestSupport.options;
import static io.llamba.engine.hub.HubTestSupport.random;
import static io.llamba.engine.hub.HubTestSupport.singleFileModel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.llamba.engine.hub.HubException.Kind;
import io.llamba.engine.hub.HubTestSupport.RecordingListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the user reads when the Hub says no: 401, 403 (gated), 404, 429, 5xx, offline. */
class HubErrorsTest {
    static final String META = "meta-llama/Llama-3.2-1B-Instruct";

    @TempDir
    Path cache;

    FakeHub hub;
    RecordingListener listener = new RecordingListener();

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        hub.publish(LLAMBA, "main", COMMIT_1, singleFileModel(random(20_000, 5)));
        hub.publish(META, "main", COMMIT_1, Map.of("tokenizer.json", git("{}"), "config.json", git("{}")));
        hub.protect(META, "hf_good", true);
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private HubException pullFails(HubOptions.Builder options, String spec, boolean tokenizer) {
        try (ModelResolver r = new ModelResolver(options.build())) {
            RepoRef ref = RepoRef.parse(spec);
            if (tokenizer) {
                r.pullTokenizer(ref);
            } else {
                r.pullModel(ref);
            }
        } catch (HubException e) {
            return e;
        } catch (Exception e) {
            throw new AssertionError("expected a HubException, got " + e, e);
        }
        throw new AssertionError("pull of " + spec + " succeeded");
    }

    @Test
    void gatedRepositoryWithoutTokenSaysToAcceptTheLicenseAndSetHfToken() {
        HubException e = pullFails(options(hub, cache, listener), META, true);
        assertThat(e.kind()).isEqualTo(Kind.GATED);
        assertThat(e.status()).isEqualTo(401);
        assertThat(e.getMessage())
                .startsWith(META + " is a gated repository (HTTP 401): accept its license at " + hub.endpoint() + "/" + META)
                .contains("set HF_TOKEN to an access token of that account (" + hub.endpoint() + "/settings/tokens)")
                .contains("the Hub says: Access to model " + META + " is restricted.");
        assertThat(e.isAccessProblem()).isTrue();
    }

    @Test
    void gatedRepositoryWithAnotherAccountsTokenNamesWhereTheTokenCameFrom() {
        HubException e = pullFails(options(hub, cache, listener).token("hf_other", "/home/u/.cache/huggingface/token"), META, true);
        assertThat(e.kind()).isEqualTo(Kind.GATED);
        assertThat(e.getMessage()).contains("with the account of the token from /home/u/.cache/huggingface/token");
    }

    @Test
    void gatedRepositoryWithTheRightTokenDownloads() throws Exception {
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).token("hf_good", "HF_TOKEN").build())) {
            RepoSnapshot s = r.pullTokenizer(RepoRef.parse(META));
            assertThat(s.files()).containsExactly("tokenizer.json");
            assertThat(cache.resolve("models--meta-llama--Llama-3.2-1B-Instruct/.no_exist/" + COMMIT_1 + "/tokenizer_config.json")).exists();
        }
    }

    @Test
    void unknownOrPrivateRepositoryWithoutTokenIs401WithWhatToDo() {
        HubException e = pullFails(options(hub, cache, listener), "cartesia-ai/Llamba-2B", false);
        assertThat(e.kind()).isEqualTo(Kind.REPOSITORY_NOT_FOUND);
        assertThat(e.status()).isEqualTo(401);
        assertThat(e.getMessage()).startsWith("cartesia-ai/Llamba-2B: repository not found or not accessible (HTTP 401 for config.json);"
                + " check the repository id; if the repository is private or gated, set HF_TOKEN");
    }

    @Test
    void unknownRepositoryWithATokenIs404() {
        HubException e = pullFails(options(hub, cache, listener).token("hf_good", "HF_TOKEN"), "cartesia-ai/Llamba-2B", false);
        assertThat(e.kind()).isEqualTo(Kind.REPOSITORY_NOT_FOUND);
        assertThat(e.status()).isEqualTo(404);
        assertThat(e.getMessage()).startsWith("cartesia-ai/Llamba-2B: repository not found or not accessible (HTTP 404 for config.json);"
                + " check the repository id; if it is private or gated, the token from HF_TOKEN has no access to it");
    }

    @Test
    void missingRevisionIs404NamingIt() {
        HubException e = pullFails(options(hub, cache, listener), LLAMBA + "@v9", false);
        assertThat(e.kind()).isEqualTo(Kind.REVISION_NOT_FOUND);
        assertThat(e.status()).isEqualTo(404);
        assertThat(e.getMessage()).startsWith(LLAMBA + ": revision 'v9' not found (HTTP 404); check the branch, tag or commit");
    }

    @Test
    void missingRequiredFileIs404NamingIt() {
        hub.publish("org/NoWeights", "main", COMMIT_1, Map.of("config.json", git("{}")));
        HubException e = pullFails(options(hub, cache, listener), "org/NoWeights", false);
        assertThat(e.kind()).isEqualTo(Kind.ENTRY_NOT_FOUND);
        assertThat(e.getMessage()).isEqualTo("org/NoWeights: the repository has no model.safetensors.index.json (at commit " + COMMIT_1 + ")");
        // Python clients would skip both HEADs next time, as this client does offline.
        assertThat(cache.resolve("models--org--NoWeights/.no_exist/" + COMMIT_1 + "/model.safetensors")).exists();
        assertThat(cache.resolve("models--org--NoWeights/.no_exist/" + COMMIT_1 + "/model.safetensors.index.json")).exists();
    }

    @Test
    void rateLimitHonoursRetryAfter() throws Exception {
        hub.tooManyRequests(1, 1);
        long t0 = System.nanoTime();
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            r.pullModel(RepoRef.parse(LLAMBA));
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
        // The refused HEAD, then the same HEAD again once the second has passed.
        assertThat(hub.requests().get(0).path()).isEqualTo(hub.requests().get(1).path());
    }

    @Test
    void rateLimitGivesUpAfterTheRetriesAndWhenAskedToWaitTooLong() {
        hub.tooManyRequests(100, 0);
        HubException e = pullFails(options(hub, cache, listener).maxRetries(2), LLAMBA, false);
        assertThat(e.kind()).isEqualTo(Kind.RATE_LIMITED);
        assertThat(e.getMessage()).startsWith(LLAMBA + ": the Hub rate-limits this client (HTTP 429 for config.json) (after 2 retries)")
                .contains("requests with a token (HF_TOKEN) get a higher limit");
        assertThat(hub.requests()).hasSize(3);

        hub.clearRequests();
        hub.tooManyRequests(1, 3600);
        long t0 = System.nanoTime();
        e = pullFails(options(hub, cache, listener), LLAMBA, false);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
        assertThat(e.getMessage()).contains("(the server asks to retry in 3600 s, longer than the 5 s this client waits; try again later)");
    }

    @Test
    void serverErrorsAreRetriedThenReported() throws Exception {
        hub.serverErrors(2);
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            assertThat(r.pullModel(RepoRef.parse(LLAMBA)).commit()).isEqualTo(COMMIT_1);
        }
        hub.serverErrors(100);
        HubException e = pullFails(options(hub, cache, listener).maxRetries(1).pullStrategy(PullStrategy.ALWAYS), "org/Other", false);
        assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
        assertThat(e.getMessage()).isEqualTo("org/Other: the Hub failed (HTTP 503 for config.json) (after 1 retries); try again later");
    }

    @Test
    void unreachableHubFailsFastNamingTheHost() {
        HubOptions.Builder o = options(hub, cache, listener).endpoint("http://127.0.0.1:1");
        HubException e = pullFails(o, LLAMBA, false);
        assertThat(e.kind()).isEqualTo(Kind.NETWORK);
        assertThat(e.getMessage()).startsWith(LLAMBA + ": config.json: cannot connect (HEAD http://127.0.0.1:1)")
                .endsWith("check the network, or use the cache only with HF_HUB_OFFLINE=1");
    }

    @Test
    void offlineModeUsesTheCacheOnly() throws Exception {
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).build())) {
            r.pullModel(RepoRef.parse(LLAMBA));
        }
        hub.clearRequests();
        try (ModelResolver r = new ModelResolver(options(hub, cache, listener).offline(true).pullStrategy(PullStrategy.ALWAYS).build())) {
            RepoSnapshot s = r.pullModel(RepoRef.parse(LLAMBA));
            assertThat(s.commit()).isEqualTo(COMMIT_1);
            assertThat(Files.isRegularFile(s.directory().resolve("model.safetensors"))).isTrue();
            // Not cached: a clear error, no request.
            assertThatThrownBy(() -> r.pullTokenizer(RepoRef.parse(META)))
                    .isInstanceOfSatisfying(HubException.class, e -> assertThat(e.kind()).isEqualTo(Kind.NOT_IN_CACHE))
                    .hasMessage(META + ": the tokenizer files are not in the Hugging Face cache " + cache.toAbsolutePath()
                            + " (no snapshot of revision main is cached) and offline mode is on (HF_HUB_OFFLINE); download them"
                            + " first, e.g. with the CLI's pull command, while online");
            assertThatThrownBy(() -> r.pullModel(RepoRef.parse(LLAMBA + "@" + "3".repeat(40))))
                    .hasMessageContaining("(snapshot " + "3".repeat(40) + " lacks config.json)");
        }
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void pullStrategyNeverIsCacheOnlyToo() {
        HubException e = pullFails(options(hub, cache, listener).pullStrategy(PullStrategy.NEVER), LLAMBA, false);
        assertThat(e.kind()).isEqualTo(Kind.NOT_IN_CACHE);
        assertThat(e.getMessage()).contains("and the pull strategy is never;");
        assertThat(hub.requests()).isEmpty();
    }
}
