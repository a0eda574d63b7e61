package io.llamba.engine.testing;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The reference fixtures (llamba-engine/tools/reference) and shared test data. */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path root() {
        URL url = Fixtures.class.getResource("/fixtures");
        if (url == null) {
            throw new IllegalStateException("test resources lack /fixtures (run tools/reference/make_fixtures.py)");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static List<String> names() {
        try (Stream<Path> s = Files.list(root())) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path dir(String name) {
        return root().resolve(name);
    }

    public static JsonObject expected(String name) {
        Path p = dir(name).resolve("expected.json");
        try {
            return Json.parseObject(Files.readString(p), p.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** ../shared beside the checkout (set by the build as llamba.shared.dir). */
    public static Path shared() {
        String dir = System.getProperty("llamba.shared.dir");
        if (dir == null || !Files.isDirectory(Path.of(dir))) {
            throw new IllegalStateException("shared data folder not found (system property llamba.shared.dir = " + dir
                    + "); it must lie beside the checkout as ../shared");
        }
        return Path.of(dir);
    }

    public static int[] ints(List<Object> list) {
        return list.stream().mapToInt(o -> ((Number) o).intValue()).toArray();
    }

    public static float[] floats(List<?> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) list.get(i)).floatValue();
        }
        return out;
    }
}
