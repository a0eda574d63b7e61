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

/** The Llama fixtures made by transformers (llamba-engine/tools/llama-reference). */
public final class LlamaFixtures {
    private LlamaFixtures() {
    }

    public static Path root() {
        URL url = LlamaFixtures.class.getResource("/llama-fixtures");
        if (url == null) {
            throw new IllegalStateException("test resources lack /llama-fixtures (run tools/llama-reference/make_fixtures.py)");
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
}
