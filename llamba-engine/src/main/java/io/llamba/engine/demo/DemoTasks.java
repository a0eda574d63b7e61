package io.llamba.engine.demo;

import io.llamba.engine.chat.ToolDefinition;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The demo model's task families and their held-out evaluation prompts. The templates, word pools,
 * facts and cities are in {@code tasks.json} (a resource beside the model), which the training data
 * generator ({@code llamba-engine/tools/demo-model/tasks.py}) reads too; the generation here mirrors
 * that script draw for draw, so a seed gives the same prompts in both languages.
 *
 * <p>An item (an arithmetic pair, a word tuple, a country with one phrasing, a city) is held out
 * when {@code crc32(key) % 100 < heldout_percent}; training never draws those, evaluation draws
 * only those.
 */
public final class DemoTasks {
    public static final String RESOURCE = "/io/llamba/engine/demo/tasks.json";
    public static final List<String> FAMILIES = List.of("arithmetic", "reverse", "count", "capital", "weather");

    private final JsonObject tasks;
    private final int heldoutPercent;
    private final List<String> systems;
    private final List<String> words;
    private final List<String> heldoutCities;

    private DemoTasks(JsonObject tasks) {
        this.tasks = tasks;
        this.heldoutPercent = tasks.getInt("heldout_percent");
        this.systems = strings(tasks, "systems");
        this.words = strings(tasks, "words");
        List<String> cities = new ArrayList<>();
        for (String c : strings(tasks.getObject("weather"), "cities")) {
            if (isHeldout("weather:" + c)) {
                cities.add(c);
            }
        }
        this.heldoutCities = List.copyOf(cities);
    }

    /** The task definitions bundled with the engine. */
    public static DemoTasks load() {
        try (InputStream in = DemoTasks.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + RESOURCE + " is missing");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "classpath:" + RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
        }
    }

    static DemoTasks parse(String json, String origin) {
        return new DemoTasks(Json.parseObject(json, origin));
    }

    /** Whether an item is evaluation-only (never trained on). */
    public boolean isHeldout(String key) {
        CRC32 crc = new CRC32();
        crc.update(key.getBytes(StandardCharsets.UTF_8));
        return crc.getValue() % 100 < heldoutPercent;
    }

    /** The cities the weather family is evaluated on (never seen in training). */
    public List<String> heldoutCities() {
        return heldoutCities;
    }

    /** {@code n} held-out prompts for a seed: the families in turn, each prompt from its own generator. */
    public List<DemoItem> evalItems(int n, long seed) {
        List<DemoItem> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            items.add(item(FAMILIES.get(i % FAMILIES.size()), itemRng(seed, i)));
        }
        return Collections.unmodifiableList(items);
    }

    static SplitMix64 itemRng(long seed, int index) {
        return new SplitMix64(seed * 0x9E3779B97F4A7C15L + index);
    }

    /** One held-out prompt of a family. */
    DemoItem item(String family, SplitMix64 rng) {
        String system = systems.get(rng.below(systems.size()));
        if (family.equals("weather")) {
            return weather(rng, system);
        }
        String key;
        String user;
        String answer;
        switch (family) {
            case "arithmetic" -> {
                JsonObject cfg = tasks.getObject("arithmetic");
                int max = cfg.getInt("max_operand");
                char op;
                int a;
                int b;
                do {
                    op = "+-".charAt(rng.below(2));
                    a = rng.below(max + 1);
                    b = rng.below(max + 1);
                    if (op == '-' && a < b) {
                        int t = a;
                        a = b;
                        b = t;
                    }
                    key = "arithmetic:" + a + op + b;
                } while (!isHeldout(key));
                String template = pick(strings(cfg, "templates"), rng);
                int c = op == '+' ? a + b : a - b;
                user = fill(template, "a", a, "op", op, "b", b);
                answer = fill(cfg.getString("answer"), "a", a, "op", op, "b", b, "c", c);
            }
            case "reverse", "count" -> {
                JsonObject cfg = tasks.getObject(family);
                List<String> ws;
                do {
                    int min = cfg.getInt("min_words");
                    int n = min + rng.below(cfg.getInt("max_words") - min + 1);
                    ws = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        ws.add(words.get(rng.below(words.size())));
                    }
                    key = family + ":" + String.join(" ", ws);
                } while (!isHeldout(key));
                String template = pick(strings(cfg, "templates"), rng);
                if (family.equals("reverse")) {
                    user = fill(template, "words", String.join(" ", ws));
                    List<String> reversed = new ArrayList<>(ws);
                    Collections.reverse(reversed);
                    answer = fill(cfg.getString("answer"), "reversed", String.join(" ", reversed));
                } else {
                    user = fill(template, "words", String.join(", ", ws));
                    answer = fill(cfg.getString("answer"), "n", ws.size());
                }
            }
            case "capital" -> {
                JsonObject cfg = tasks.getObject("capital");
                List<Object> facts = cfg.getArray("facts");
                List<String> templates = strings(cfg, "templates");
                String country;
                String capital;
                int t;
                do {
                    List<?> fact = (List<?>) facts.get(rng.below(facts.size()));
                    t = rng.below(templates.size());
                    country = (String) fact.get(0);
                    capital = (String) fact.get(1);
                    key = "capital:" + country + ":" + t;
                } while (!isHeldout(key));
                user = fill(templates.get(t), "country", country);
                answer = fill(cfg.getString("answer"), "country", country, "capital", capital);
            }
            default -> throw new IllegalArgumentException("unknown task family '" + family + "'; families: " + FAMILIES);
        }
        // Now and then the weather tool is offered although the question does not need it.
        List<ToolDefinition> tools = rng.below(10) == 0 ? List.of(tool(rng)) : List.of();
        return new DemoItem(family, key, system, tools, user, answer, null, null);
    }

    private DemoItem weather(SplitMix64 rng, String system) {
        JsonObject w = tasks.getObject("weather");
        String city = heldoutCities.get(rng.below(heldoutCities.size()));
        ToolDefinition tool = tool(rng);
        String template = pick(strings(w, "templates"), rng);
        int minT = w.getInt("min_temperature");
        int temperature = minT + rng.below(w.getInt("max_temperature") - minT + 1);
        String sky = pick(strings(w, "skies"), rng);
        boolean compact = rng.below(2) == 1;
        String result = compact
                ? "{\"temperature\":" + temperature + ",\"sky\":" + Json.quote(sky) + "}"
                : "{\"temperature\": " + temperature + ", \"sky\": " + Json.quote(sky) + "}";
        String answer = fill(w.getString("answer"), "temperature", temperature, "sky", sky, "city", city);
        return new DemoItem("weather", "weather:" + city, system, List.of(tool), fill(template, "city", city), answer,
                city, result);
    }

    private ToolDefinition tool(SplitMix64 rng) {
        JsonObject w = tasks.getObject("weather");
        String description = pick(strings(w, "descriptions"), rng);
        String parameters = pick(strings(w, "parameter_schemas"), rng);
        return new ToolDefinition(w.getString("tool_name"), description, parameters);
    }

    /** The name of the demo's tool. */
    public String toolName() {
        return tasks.getObject("weather").getString("tool_name");
    }

    private static String pick(List<String> from, SplitMix64 rng) {
        return from.get(rng.below(from.size()));
    }

    /** Replaces {name} placeholders, as Python's str.format does for these templates. */
    static String fill(String template, Object... namesAndValues) {
        String s = template;
        for (int i = 0; i < namesAndValues.length; i += 2) {
            s = s.replace("{" + namesAndValues[i] + "}", String.valueOf(namesAndValues[i + 1]));
        }
        return s;
    }

    private static List<String> strings(JsonObject o, String key) {
        List<String> out = new ArrayList<>();
        for (Object v : o.getArray(key)) {
            if (!(v instanceof String s)) {
                throw o.error(key, "expected strings, got " + JsonObject.describe(v));
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    /** SplitMix64, the generator the Python data generator uses too (tasks.SplitMix64). */
    static final class SplitMix64 {
        private long state;

        SplitMix64(long seed) {
            this.state = seed;
        }

        long next() {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        /** Uniform in [0, n) as Python's {@code next() % n} on the unsigned value. */
        int below(int n) {
            return (int) Long.remainderUnsigned(next(), n);
        }
    }
}
