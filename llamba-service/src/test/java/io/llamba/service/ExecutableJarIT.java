package io.llamba.service;

import io.llamba.service.support.ApiClient;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's command, exactly: {@code java -jar llamba-service/target/llamba-service.jar
 * --server.port=PORT} with nothing else configured. It starts on the embedded demo model (through
 * the relaunch that adds the Vector API), answers a chat completion, and stops gracefully on SIGTERM.
 * Runs in {@code verify} (failsafe), after the jar is packaged.
 */
class ExecutableJarIT {
    @Test
    void theReadmeCommandServesTheEmbeddedModel() throws Exception {
        Path jar = Path.of("target/llamba-service.jar").toAbsolutePath();
        assertThat(jar).exists();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = Files.createTempFile("llamba-service-", ".log");
        Path cache = Files.createTempDirectory("llamba-cache-");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-jar", jar.toString(), "--server.port=" + port)
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().put("LLAMBA_CACHE_DIR", cache.toString()); // the demo model's extraction, kept out of ~/.cache
        Process service = pb.start();
        List<ProcessHandle> children = List.of();
        try {
            ApiClient api = new ApiClient(port);
            waitUntilReady(api, service, log);
            children = service.toHandle().descendants().toList();

            JsonNode models = api.get("/v1/models").json();
            String model = models.get("data").get(0).get("id").stringValue();
            ApiClient.Response r = api.post("/v1/chat/completions", "{\"model\": \"" + model + "\", \"temperature\": 0,"
                    + " \"messages\": [{\"role\": \"user\", \"content\": \"What is the capital of France?\"}]}");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().get("choices").get(0).get("message").get("content").stringValue())
                    .isEqualTo("The capital of France is Paris.");
            assertThat(api.get("/").body()).contains("<title>Llamba chat</title>");
        } finally {
            service.destroy(); // SIGTERM to the JVM started by the command; it passes it on to the child
            assertThat(service.waitFor(60, TimeUnit.SECONDS)).as("stopped within a minute").isTrue();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(output).contains("running the service in a child JVM").contains("Started LlambaServiceApplication")
                .contains("Graceful shutdown complete");
        assertThat(children).as("the child JVM of the relaunch").isNotEmpty();
        assertThat(children).noneMatch(ProcessHandle::isAlive);
    }

    private static void waitUntilReady(ApiClient api, Process service, Path log) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!service.isAlive()) {
                throw new AssertionError("the service exited (" + service.exitValue() + "):\n" + Files.readString(log));
            }
            try {
                if (api.get("/actuator/health/readiness").status() == 200) {
                    return;
                }
            } catch (RuntimeException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new AssertionError("not ready after 180 s:\n" + Files.readString(log));
    }
}
