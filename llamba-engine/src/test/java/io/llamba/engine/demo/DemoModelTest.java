package io.llamba.engine.demo;

import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Extraction of the bundled demo model to its cache directory. */
class DemoModelTest {
    @TempDir
    Path root;

    @Test
    void extractsOnceIntoAHashNamedDirectoryThatLoads() throws Exception {
        Path dir = DemoModel.directory(root);
        assertThat(dir).isEqualTo(root.resolve("demo-" + DemoModel.contentHash()));
        for (String f : DemoModel.FILES) {
            assertThat(dir.resolve(f)).isRegularFile();
        }
        assertThat(Files.readAllBytes(dir.resolve("config.json")))
                .isEqualTo(DemoModel.class.getResourceAsStream(DemoModel.RESOURCE_DIR + "config.json").readAllBytes());
        long modified = Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis();
        Thread.sleep(20);
        assertThat(DemoModel.directory(root)).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(dir.resolve("model.safetensors")).toMillis()).as("not rewritten").isEqualTo(modified);
        try (Model model = ModelLoader.load(dir, LoadOptions.defaults())) {
            assertThat(model.vocabSize()).isEqualTo(1280);
            assertThat(model.info().architecture()).isEqualTo("llamba");
        }
        assertThat(Tokenizers.load(dir).vocabSize()).isEqualTo(1280);
        assertThat(listing(root)).containsExactly(dir.getFileName().toString());
    }

    @Test
    void concurrentCallersShareOneCompleteCopy() throws Exception {
        int n = 8;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return DemoModel.directory(root);
                }));
            }
            start.countDown();
            Path first = results.getFirst().get();
            for (Future<Path> r : results) {
                assertThat(r.get()).isEqualTo(first);
            }
            assertThat(Files.size(first.resolve("model.safetensors"))).isGreaterThan(1_000_000);
            assertThat(listing(root)).as("no temporary directory left behind").containsExactly(first.getFileName().toString());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void replacesADamagedCopy() throws Exception {
        Path dir = DemoModel.directory(root);
        long size = Files.size(dir.resolve("model.safetensors"));
        Files.write(dir.resolve("model.safetensors"), new byte[10]);
        Files.delete(dir.resolve("tokenizer.json"));
        assertThat(DemoModel.directory(root)).isEqualTo(dir);
        assertThat(Files.size(dir.resolve("model.safetensors"))).isEqualTo(size);
        assertThat(dir.resolve("tokenizer.json")).isRegularFile();
        assertThat(listing(root)).containsExactly(dir.getFileName().toString());
    }

    @Test
    void unwritableCacheIsAClearError() throws Exception {
        assumeTrue(Files.getFileStore(root).supportsFileAttributeView("posix"));
        Path locked = root.resolve("locked");
        Files.createDirectory(locked, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("r-x------")));
        assumeTrue(!Files.isWritable(locked), "running as a user who can write anywhere");
        assertThatThrownBy(() -> DemoModel.directory(locked)).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("cannot extract the demo model to " + locked.resolve("demo-" + DemoModel.contentHash()));
    }

    @Test
    void cacheRootFollowsTheSystemProperty() {
        // The build points llamba.cache.dir into target/, so tests never write to the home directory.
        String prop = System.getProperty("llamba.cache.dir");
        assumeTrue(prop != null);
        assertThat(DemoModel.cacheRoot()).isEqualTo(Path.of(prop));
        assertThat(DemoModel.directory().getParent()).isEqualTo(Path.of(prop));
    }

    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
