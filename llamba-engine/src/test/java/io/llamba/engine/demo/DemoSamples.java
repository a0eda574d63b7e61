package io.llamba.engine.demo;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.tokenizer.Tokenizer;
import io.llamba.engine.tokenizer.Tokenizers;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The samples written by tools/demo-model (make_samples.py, train.py) and the bundled tokenizer. */
final class DemoSamples {
    private DemoSamples() {
    }

    static JsonObject read(String name) {
        String resource = "/demo/" + name;
        try (InputStream in = DemoSamples.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("test resource " + resource + " is missing (see tools/demo-model/README.md)");
            }
            return Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8), resource);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Tokenizer tokenizer() {
        try {
            return Tokenizers.fromClasspath(DemoModel.RESOURCE_DIR + "tokenizer.json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(List<Object> values) {
        return values.stream().mapToInt(v -> ((Number) v).intValue()).toArray();
    }
}
