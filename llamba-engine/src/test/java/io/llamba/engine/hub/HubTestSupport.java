package io.llamba.engine.hub;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Options and repositories shared by the hub tests. */
final class HubTestSupport {
    static final String COMMIT_1 = "1111111111111111111111111111111111111111";
    static final String COMMIT_2 = "2222222222222222222222222222222222222222";
    static final String LLAMBA = "cartesia-ai/Llamba-1B";

    private static byte[] llama3TokenizerJson;

    private HubTestSupport() {
    }

    /** The Llama 3 tokenizer.json of the shared data (7 MB), read once. */
    static synchronized byte[] llama3TokenizerJson() throws java.io.IOException {
        if (llama3TokenizerJson == null) {
            llama3TokenizerJson = java.nio.file.Files.readAllBytes(io.llamba.engine.testing.Fixtures.shared().resolve("data/llama3/tokenizer.json"));
        }
        return llama3TokenizerJson;
    }

    /** Fast retries and timeouts, the fake Hub as endpoint, a recording listener. */
    static HubOptions.Builder options(FakeHub hub, Path cache, RecordingListener listener) {
        return HubOptions.builder()
                .endpoint(hub.endpoint())
                .cacheDir(cache)
                .retryBackoff(Duration.ofMillis(10))
                .readTimeout(Duration.ofMillis(400))
                .metadataTimeout(Duration.ofSeconds(5))
                .maxRetryWait(Duration.ofSeconds(5))
                .progressListener(listener);
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static FakeHub.Entry git(String text) {
        return new FakeHub.Entry(text.getBytes(StandardCharsets.UTF_8), false);
    }

    static FakeHub.Entry lfs(byte[] content) {
        return new FakeHub.Entry(content, true);
    }

    /** A model repository with one weights file stored in LFS. */
    static Map<String, FakeHub.Entry> singleFileModel(byte[] weights) {
        return Map.of("config.json", git("{\"model_type\": \"llamba\"}\n"), "model.safetensors", lfs(weights),
                "README.md", git("# not needed\n"));
    }

    /** Every progress event, as text. */
    static final class RecordingListener implements ProgressListener {
        final List<String> events = new ArrayList<>();

        @Override
        public synchronized void started(String repoId, String file, long totalBytes, long resumedFrom) {
            events.add("started " + file + " " + totalBytes + " from " + resumedFrom);
        }

        @Override
        public synchronized void finished(String repoId, String file, long totalBytes, long nanos) {
            events.add("finished " + file + " " + totalBytes);
        }

        @Override
        public synchronized void failed(String repoId, String file, Exception error) {
            events.add("failed " + file);
        }

        synchronized List<String> events() {
            return List.copyOf(events);
        }
    }
}
