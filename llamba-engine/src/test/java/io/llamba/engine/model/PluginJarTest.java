package io.llamba.engine.model;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.generate.Engine;
import io.llamba.engine.generate.EngineOptions;
import io.llamba.engine.generate.GenerationRequest;
import io.llamba.engine.generate.GenerationResult;
import io.llamba.engine.json.Json;
import io.llamba.engine.testing.ByteTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An architecture the engine has never seen, compiled here into its own jar with a
 * META-INF/services entry and put on the class path through the context class loader (as an
 * application container does): ModelLoader finds it by the model_type of a config.json, random-model
 * writes its weights from its tensor specs, and the unchanged Engine serves it.
 */
class PluginJarTest {
    /** A "counter" model: after token t it predicts t + 1 (plus a learned bias below the margin). */
    static final String SOURCE = """
            package toy.plugin;

            import io.llamba.engine.checkpoint.Checkpoint;
            import io.llamba.engine.json.JsonObject;
            import io.llamba.engine.model.*;
            import java.util.*;

            public final class ToyArchitecture implements ModelArchitecture {
                public String modelType() { return "toy-counter"; }

                public List<TensorSpec> tensorSpecs(JsonObject config) {
                    return List.of(TensorSpec.of("toy.bias", new TensorSpec.Uniform(0f, 1f), config.getInt("vocab_size")));
                }

                public Model load(String name, JsonObject config, Checkpoint checkpoint, LoadOptions options) {
                    return new Counter(name, checkpoint.get("toy.bias").toFloatArray(), checkpoint);
                }

                static final class State implements SequenceState {
                    int position, last;
                    public int position() { return position; }
                    public void reset() { position = 0; last = 0; }
                    public StateSnapshot snapshot() {
                        int p = position;
                        return new StateSnapshot() {
                            public int position() { return p; }
                            public long bytes() { return 8; }
                        };
                    }
                    public void restore(StateSnapshot s) { throw new UnsupportedOperationException(); }
                    public long bytes() { return 8; }
                }

                static final class Counter implements Model {
                    final float[] bias;
                    final Checkpoint checkpoint;
                    final ModelInfo info;

                    Counter(String name, float[] bias, Checkpoint checkpoint) {
                        this.bias = bias;
                        this.checkpoint = checkpoint;
                        this.info = new ModelInfo(name, "toy-counter", bias.length, 1, 1, bias.length, bias.length * 4L, 8, 4096,
                                "cpu", "a counter", Map.of());
                    }

                    public ModelInfo info() { return info; }

                    public StatePool createStatePool(int capacity) {
                        return new StatePool() {
                            int inUse;
                            public int capacity() { return capacity; }
                            public synchronized int inUse() { return inUse; }
                            public long bytesPerState() { return 8; }
                            public synchronized Optional<SequenceState> tryAcquire() {
                                if (inUse == capacity) return Optional.empty();
                                inUse++;
                                return Optional.of(new State());
                            }
                            public synchronized void release(SequenceState s) { inUse--; }
                            public void close() { }
                        };
                    }

                    public void forward(ForwardBatch batch) {
                        for (ForwardBatch.Entry e : batch.entries()) {
                            State s = (State) e.state();
                            for (int i = 0; i < e.length(); i++) {
                                s.last = e.token(i);
                                s.position++;
                                if (e.logits() != null && (e.allPositions() || i == e.length() - 1)) {
                                    int row = e.allPositions() ? i : 0;
                                    for (int v = 0; v < bias.length; v++) {
                                        e.logits()[row * bias.length + v] = bias[v] + (v == (s.last + 1) % bias.length ? 10f : 0f);
                                    }
                                }
                            }
                        }
                    }

                    public void close() { checkpoint.close(); }
                }
            }
            """;

    @TempDir
    Path tmp;

    Path buildPluginJar() throws Exception {
        Path src = tmp.resolve("src/toy/plugin/ToyArchitecture.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, SOURCE);
        Path classes = tmp.resolve("classes");
        Files.createDirectories(classes);
        // Compile against the engine's own classes only: the plugin is a separate artifact.
        Path engineClasses = Path.of(ModelArchitecture.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int status = javac.run(null, diagnostics, diagnostics, "-proc:none", "-cp", engineClasses.toString(), "-d", classes.toString(), src.toString());
        assertThat(status).as(diagnostics.toString(StandardCharsets.UTF_8)).isZero();

        Path jar = tmp.resolve("toy-plugin.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream jos = new JarOutputStream(out);
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                jos.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                jos.write(Files.readAllBytes(f));
                jos.closeEntry();
            }
            jos.putNextEntry(new JarEntry("META-INF/services/" + ModelArchitecture.class.getName()));
            jos.write("toy.plugin.ToyArchitecture\n".getBytes(StandardCharsets.UTF_8));
            jos.closeEntry();
        }
        return jar;
    }

    @Test
    void aPluginJarOnTheContextClassLoaderIsLoadedAndServed() throws Exception {
        Path jar = buildPluginJar();
        assertThat(ModelLoader.architectures()).doesNotContainKey("toy-counter").containsKeys("llamba", "llama");

        Thread thread = Thread.currentThread();
        ClassLoader saved = thread.getContextClassLoader();
        try (URLClassLoader loader = new URLClassLoader(new URL[]{jar.toUri().toURL()}, ModelLoader.class.getClassLoader())) {
            thread.setContextClassLoader(loader);
            assertThat(ModelLoader.architectures()).containsKeys("toy-counter", "llamba", "llama");

            Path dir = tmp.resolve("toy-model");
            RandomCheckpoint.write(Json.parseObject("{\"model_type\": \"toy-counter\", \"vocab_size\": " + ByteTokenizer.VOCAB + "}",
                    "config.json"), DType.F32, dir, 1, Long.MAX_VALUE);
            try (Model model = ModelLoader.load(dir, LoadOptions.defaults());
                 Engine engine = new Engine(model, ByteTokenizer.load(), EngineOptions.defaults())) {
                assertThat(model.getClass().getClassLoader()).isSameAs(loader);
                assertThat(engine.modelInfo().architecture()).isEqualTo("toy-counter");
                GenerationResult r = engine.generate(GenerationRequest.builder(new int[]{'A'}).maxTokens(5).build());
                assertThat(r.tokens()).containsExactly('B', 'C', 'D', 'E', 'F');
                assertThat(r.text()).isEqualTo("BCDEF");
            }
        } finally {
            thread.setContextClassLoader(saved);
        }
        assertThat(ModelLoader.architectures()).doesNotContainKey("toy-counter");
    }
}
