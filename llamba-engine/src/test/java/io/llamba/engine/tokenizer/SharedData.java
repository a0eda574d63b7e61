package io.llamba.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shared Llama 3 data (tokenizer.json, tokenizer.model, golden rows), found through the system
 * property {@code llamba.shared.dir} that surefire sets. Missing data fails the tests: CI always has
 * it, so a silent skip would only hide a broken setup.
 */
final class SharedData {
    private static Tokenizer hfTokenizer;
    private static List<GoldenRow> golden;

    private SharedData() {
    }

    static Path llama3Dir() {
        String dir = System.getProperty("llamba.shared.dir");
        if (dir == null || dir.isBlank()) {
            fail("system property llamba.shared.dir is not set (surefire sets it to <checkout>/../shared); "
                    + "the tokenizer tests need the shared Llama 3 data");
        }
        Path p = Path.of(dir, "data", "llama3");
        if (!Files.isRegularFile(p.resolve("tokenizer.json"))) {
            fail("shared Llama 3 data not found: " + p.toAbsolutePath() + "/tokenizer.json is missing "
                    + "(llamba.shared.dir=" + dir + ")");
        }
        return p;
    }

    /** The Hugging Face tokenizer.json, loaded once for all test classes (7 MB of JSON). */
    static synchronized Tokenizer huggingFace() {
        if (hfTokenizer == null) {
            try {
                hfTokenizer = Tokenizers.load(llama3Dir().resolve("tokenizer.json"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return hfTokenizer;
    }

    record GoldenRow(int line, String text, int[] ids, int[] idsWithSpecials) {
    }

    static synchronized List<GoldenRow> golden() {
        if (golden == null) {
            try {
                List<String> lines = Files.readAllLines(llama3Dir().resolve("tokenizer-golden.jsonl"), StandardCharsets.UTF_8);
                List<GoldenRow> rows = new ArrayList<>();
                for (int i = 0; i < lines.size(); i++) {
                    if (lines.get(i).isBlank()) {
                        continue;
                    }
                    JsonObject o = Json.parseObject(lines.get(i), "tokenizer-golden.jsonl line " + (i + 1));
                    rows.add(new GoldenRow(i + 1, o.getString("text"), ints(o.getArray("ids")),
                            ints(o.getArray("ids_with_specials"))));
                }
                golden = List.copyOf(rows);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return golden;
    }

    private static int[] ints(List<Object> list) {
        int[] a = new int[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = ((Long) list.get(i)).intValue();
        }
        return a;
    }
}
