package io.llamba.engine.hub;

import static io.llamba.engine.hub.HubTestSupport.COMMIT_1;
import static io.llamba.engine.hub.HubTestSupport.LLAMBA;
import static io.llamba.engine.hub.HubTestSupport.git;
import static io.llamba.engine.hub.HubTestSupport.lfs;
import static org.assertj.core.api.Assertions.assertThat;

import io.llamba.engine.cli.Main;
import io.llamba.engine.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line with repository ids: pull, logits --model REPO (no tokenizer fetched), offline. */
class HubCliTest {
    static final String META_1B = "meta-llama/Llama-3.2-1B-Instruct";

    @TempDir
    Path cache;

    FakeHub hub;
    Map<String, String> env = new HashMap<>();

    private record Result(int status, String out, String err) {
    }

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
        // A real (tiny) Llamba checkpoint, published as a Hub repository would hold it.
        Map<String, FakeHub.Entry> files = new LinkedHashMap<>();
        Path fixture = Fixtures.dir("sharded-bf16");
        try (Stream<Path> list = Files.list(fixture)) {
            for (Path p : list.sorted().toList()) {
                String name = p.getFileName().toString();
                if (!name.equals("expected.json")) {
                    files.put(name, new FakeHub.Entry(Files.readAllBytes(p), name.endsWith(".safetensors")));
                }
            }
        }
        hub.publish(LLAMBA, "main", COMMIT_1, files);
        hub.publish(META_1B, "main", COMMIT_1, Map.of("tokenizer.json", lfs(HubTestSupport.llama3TokenizerJson()),
                "tokenizer_config.json", git("{}")));
        hub.protect(META_1B, "hf_good", true);
        env.put("HF_ENDPOINT", hub.endpoint().toString());
        env.put("HF_HUB_CACHE", cache.toString());
        env.put("HF_HOME", cache.resolve("home").toString());
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), env);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void pullPrintsTheSnapshotDirectoryAndFetchesTheTeacherTokenizer() {
        env.put("HF_TOKEN", "hf_good");
        Result r = run("pull", LLAMBA);
        assertThat(r.status()).as(r.err()).isZero();
        Path snapshot = cache.resolve("models--cartesia-ai--Llamba-1B/snapshots/" + COMMIT_1);
        assertThat(r.out()).isEqualTo(snapshot + System.lineSeparator());
        assertThat(r.err()).contains(LLAMBA + ": commit " + COMMIT_1 + ", 5 files")
                .contains("tokenizer: " + META_1B + " (" + cache.resolve("models--meta-llama--Llama-3.2-1B-Instruct/snapshots/" + COMMIT_1) + ")")
                .contains("downloading model-00001-of-00003.safetensors from " + LLAMBA);
        assertThat(snapshot.resolve("model-00003-of-00003.safetensors")).isRegularFile();

        // Everything cached: generate-style resolution works offline.
        env.put("HF_HUB_OFFLINE", "1");
        hub.clearRequests();
        Result again = run("pull", LLAMBA);
        assertThat(again.status()).as(again.err()).isZero();
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void pullWithoutAccessToTheTeacherWarnsAndSucceeds() {
        Result r = run("pull", LLAMBA + "@main");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).contains("tokenizer: the bundled Llama 3 tokenizer");
        r = run("pull", LLAMBA, "--tokenizer", "none");
        assertThat(r.status()).isZero();
        r = run("pull", LLAMBA, "--tokenizer", META_1B);
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("llamba pull: " + META_1B + " is a gated repository (HTTP 401)");
    }

    @Test
    void logitsFromARepositoryIdMatchTheLocalDirectoryAndFetchNoTokenizer() {
        Result hubRun = run("logits", "--model", LLAMBA, "--ids", "1,2,3", "--threads", "1");
        assertThat(hubRun.status()).as(hubRun.err()).isZero();
        Result local = run("logits", "--model", Fixtures.dir("sharded-bf16").toString(), "--ids", "1,2,3", "--threads", "1");
        assertThat(local.status()).as(local.err()).isZero();
        assertThat(hubRun.out()).startsWith("{\"logits\": [[").isEqualTo(local.out());
        assertThat(hub.requests()).noneSatisfy(q -> assertThat(q.path()).contains("tokenizer"));
    }

    @Test
    void tokenizerCommandsAcceptARepositoryId() {
        env.put("HF_TOKEN", "hf_good");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Result r = run("pull", META_1B, "--files", "tokenizer");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().strip()).endsWith("models--meta-llama--Llama-3.2-1B-Instruct/snapshots/" + COMMIT_1);
        r = run("bench-tokenizer", "--tokenizer", META_1B, "--mb", "0.01");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("tokenizer.json: 128256 ids");
        assertThat(out.size()).isZero();
    }

    @Test
    void offlineWithoutTheFilesExplainsWhatToDo() {
        env.put("HF_HUB_OFFLINE", "1");
        Result r = run("logits", "--model", LLAMBA, "--ids", "1");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).startsWith("llamba logits: " + LLAMBA + ": the model files are not in the Hugging Face cache")
                .contains("offline mode is on (HF_HUB_OFFLINE)");
        assertThat(hub.requests()).isEmpty();
    }

    @Test
    void usageErrors() {
        assertThat(run("pull").err()).contains("llamba pull: missing the repository id (e.g. cartesia-ai/Llamba-1B)");
        assertThat(run("pull", "a/b/c").err()).contains("llamba pull: repository id 'a/b/c' must be 'name' or 'organisation/name'");
        assertThat(run("pull", LLAMBA + "@main", "--revision", "v1").err()).contains("give the revision either as REPO@R or with --revision, not both");
        assertThat(run("pull", LLAMBA, "--files", "all").err()).contains("--files: expected model or tokenizer, got 'all'");
        assertThat(run("logits", "--model", LLAMBA, "--ids", "1", "--pull-strategy", "daily").err())
                .contains("--pull-strategy: unknown pull strategy 'daily'");
        Result missing = run("logits", "--model", "/no/such/dir", "--ids", "1");
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).isEqualTo("llamba logits: --model: '/no/such/dir': model directory not found, and not a Hugging Face"
                + " repository id (organisation/name or organisation/name@revision): repository id '/no/such/dir' must be 'name' or"
                + " 'organisation/name'" + System.lineSeparator());
        assertThat(hub.requests()).isEmpty();
        Result help = run("pull", "--help");
        assertThat(help.out()).contains("Usage: pull REPO [--revision R]");
    }
}
