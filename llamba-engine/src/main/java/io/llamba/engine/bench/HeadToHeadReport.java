package io.llamba.engine.bench;

import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.ModelInfo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The results of a head-to-head run as JSON (so a run on one machine can be tabulated and plotted on
 * another), and the tables and plot made from that JSON.
 */
public final class HeadToHeadReport {
    private HeadToHeadReport() {
    }

    public static Map<String, Object> toJson(Map<String, Object> machine, HeadToHead.Settings s, List<HeadToHead.Result> results) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("machine", machine);
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("contexts", list(s.contexts()));
        settings.put("batches", list(s.batches()));
        settings.put("steps", s.steps());
        settings.put("rounds", s.rounds());
        settings.put("report_contexts", list(s.reportContexts()));
        settings.put("memory_budget_bytes", s.memoryBudget());
        settings.put("max_batch_steps", s.maxBatchSteps());
        settings.put("prefill_chunk", HeadToHead.PREFILL_CHUNK);
        root.put("settings", settings);
        List<Object> models = new ArrayList<>();
        for (HeadToHead.Result r : results) {
            ModelInfo info = r.info();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", info.name());
            m.put("architecture", info.architecture());
            m.put("parameters", info.parameters());
            m.put("weight_bytes", info.weightBytes());
            m.put("weight_dtype", String.valueOf(info.details().get("weight_dtype")));
            m.put("backend", info.backend());
            m.put("device", info.device());
            m.put("prefill", r.prefill().stream().map(p -> (Object) Map.of("context", p.context(), "seconds", p.seconds())).toList());
            m.put("decode", r.decode().stream().map(d -> (Object) Map.of("context", d.context(), "batch", d.batch(),
                    "seconds_per_step", d.secondsPerStep(), "tokens_per_second", d.tokensPerSecond())).toList());
            m.put("capacity", r.capacity().stream().map(c -> {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("context", c.context());
                e.put("bytes_per_sequence", c.bytesPerSequence());
                e.put("largest_batch", c.largestBatch());
                e.put("budget_bytes", c.budget());
                if (c.atLargestBatch() != null) {
                    HeadToHead.Decode d = c.atLargestBatch();
                    e.put("largest_batch_decode", Map.of("batch", d.batch(), "seconds_per_step", d.secondsPerStep(),
                            "tokens_per_second", d.tokensPerSecond()));
                }
                return (Object) e;
            }).toList());
            m.put("not_fitting", r.notFitting().stream().map(p -> (Object) List.of(p[0], p[1])).toList());
            models.add(m);
        }
        root.put("models", models);
        return root;
    }

    private static List<Object> list(int[] a) {
        List<Object> l = new ArrayList<>();
        for (int v : a) {
            l.add(v);
        }
        return l;
    }

    /** Markdown tables: decode throughput, prefill and latency, state per sequence and largest batch. */
    public static String tables(JsonObject root) {
        StringBuilder sb = new StringBuilder();
        List<JsonObject> models = root.getObjectList("models");
        JsonObject settings = root.getObject("settings");
        TreeSet<Integer> batches = new TreeSet<>();
        TreeSet<Integer> contexts = new TreeSet<>();
        for (JsonObject m : models) {
            for (JsonObject d : m.getObjectList("decode")) {
                batches.add(d.getInt("batch"));
                contexts.add(d.getInt("context"));
            }
            for (Object o : m.has("not_fitting") ? m.getArray("not_fitting") : List.of()) {
                contexts.add(((Number) ((List<?>) o).get(0)).intValue());
                batches.add(((Number) ((List<?>) o).get(1)).intValue());
            }
        }
        sb.append("Decode throughput, tokens/s (all sequences of the batch together; greedy; median of ")
                .append(settings.optInt("rounds", 1)).append(" rounds of ").append(settings.getInt("steps"))
                .append(" timed steps after one warm-up, the models taking turns):\n\n");
        sb.append("| model | context |");
        batches.forEach(b -> sb.append(" batch ").append(b).append(" |"));
        sb.append("\n|---|---|");
        batches.forEach(b -> sb.append("---|"));
        sb.append('\n');
        for (JsonObject m : models) {
            for (int c : contexts) {
                sb.append("| ").append(m.getString("name")).append(" | ").append(c).append(" |");
                for (int b : batches) {
                    String cell = notFitting(m, c, b) ? "does not fit" : "";
                    for (JsonObject d : m.getObjectList("decode")) {
                        if (d.getInt("context") == c && d.getInt("batch") == b) {
                            cell = String.format(Locale.ROOT, "%.2f", d.getDouble("tokens_per_second"));
                        }
                    }
                    sb.append(' ').append(cell).append(" |");
                }
                sb.append('\n');
            }
        }
        sb.append("\nTime to first token (prefill of a prompt of that many tokens, in ")
                .append(settings.getInt("prefill_chunk")).append("-token chunks) and inter-token latency at batch 1:\n\n");
        sb.append("| model | context | time to first token, s | prefill tokens/s | inter-token latency, ms |\n|---|---|---|---|---|\n");
        for (JsonObject m : models) {
            for (JsonObject p : m.getObjectList("prefill")) {
                int c = p.getInt("context");
                String itl = "";
                for (JsonObject d : m.getObjectList("decode")) {
                    if (d.getInt("context") == c && d.getInt("batch") == batches.first()) {
                        itl = String.format(Locale.ROOT, "%.1f%s", d.getDouble("seconds_per_step") * 1e3,
                                batches.first() == 1 ? "" : " (batch " + batches.first() + ")");
                    }
                }
                sb.append(String.format(Locale.ROOT, "| %s | %d | %.2f | %.1f | %s |%n", m.getString("name"), c,
                        p.getDouble("seconds"), c / p.getDouble("seconds"), itl));
            }
        }
        double budgetGb = settings.getDouble("memory_budget_bytes") / 1e9;
        sb.append(budgetGb > 0
                ? String.format(Locale.ROOT, "%nState per sequence (recurrent state, or KV cache at that context) and the largest batch"
                + " whose state fits in %.1f GB:%n%n", budgetGb)
                : String.format(Locale.ROOT, "%nState per sequence (recurrent state, or KV cache at that context) and the largest batch"
                + " whose state fits in the memory left for state (device memory free beside the loaded models, less 1 GiB;"
                + " or the JVM heap on the CPU):%n%n"));
        sb.append("| model | weights, GB | memory for state, GB |");
        List<Integer> report = new ArrayList<>();
        for (Object o : settings.getArray("report_contexts")) {
            report.add(((Number) o).intValue());
        }
        report.forEach(c -> sb.append(" per sequence @ ").append(c).append(" |"));
        report.forEach(c -> sb.append(" largest batch @ ").append(c).append(" |"));
        sb.append("\n|---|---|---|");
        report.forEach(c -> sb.append("---|---|"));
        sb.append('\n');
        for (JsonObject m : models) {
            List<JsonObject> cap = m.getObjectList("capacity");
            double memory = cap.isEmpty() || !cap.getFirst().has("budget_bytes") ? budgetGb : cap.getFirst().getDouble("budget_bytes") / 1e9;
            sb.append(String.format(Locale.ROOT, "| %s | %.2f | %.1f |", m.getString("name"), m.getDouble("weight_bytes") / 1e9, memory));
            for (JsonObject c : cap) {
                long bytes = c.getLong("bytes_per_sequence");
                sb.append(' ').append(bytes < 0 ? "beyond its context" : megabytes(bytes)).append(" |");
            }
            for (JsonObject c : cap) {
                sb.append(' ').append(c.getLong("bytes_per_sequence") < 0 ? "-" : String.valueOf(c.getLong("largest_batch"))).append(" |");
            }
            sb.append('\n');
        }
        StringBuilder largest = new StringBuilder();
        for (JsonObject m : models) {
            for (JsonObject c : m.getObjectList("capacity")) {
                if (c.has("largest_batch_decode")) {
                    JsonObject d = c.getObject("largest_batch_decode");
                    largest.append(String.format(Locale.ROOT, "| %s | %d | %d | %.1f | %.0f |%n", m.getString("name"), c.getInt("context"),
                            d.getInt("batch"), d.getDouble("seconds_per_step") * 1e3, d.getDouble("tokens_per_second")));
                }
            }
        }
        if (!largest.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%nDecode at the largest batch that fits (room left for the %d timed steps; one warm-up step first):%n%n",
                    settings.optInt("max_batch_steps", 0)));
            sb.append("| model | context | batch | ms per step | tokens/s |\n|---|---|---|---|---|\n").append(largest);
        }
        return sb.toString();
    }

    /** The machine in a title's length: a GPU's name and size (the part up to its closing parenthesis), else as given. */
    static String shortDescription(String d) {
        int close = d.indexOf("), ");
        return close > 0 && d.indexOf('(') < close ? d.substring(0, close + 1) : d;
    }

    private static boolean notFitting(JsonObject m, int context, int batch) {
        if (!m.has("not_fitting")) {
            return false;
        }
        for (Object o : m.getArray("not_fitting")) {
            List<?> p = (List<?>) o;
            if (((Number) p.get(0)).intValue() == context && ((Number) p.get(1)).intValue() == batch) {
                return true;
            }
        }
        return false;
    }

    private static String megabytes(long bytes) {
        return bytes >= 1e9 ? String.format(Locale.ROOT, "%.2f GB", bytes / 1e9) : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    /** Decode throughput against batch size, one line per model and context. */
    public static void plot(JsonObject root, Path png) throws IOException {
        JsonObject machine = root.getObject("machine");
        List<JsonObject> models = root.getObjectList("models");
        LinePlot plot = new LinePlot("Decode throughput: " + shortDescription(machine.optString("description", "")),
                "batch size (sequences)", "tokens/s (last point of a line: the largest batch that fits)");
        TreeSet<Integer> contexts = new TreeSet<>();
        for (JsonObject m : models) {
            m.getObjectList("decode").forEach(d -> contexts.add(d.getInt("context")));
        }
        List<Integer> ctx = new ArrayList<>(contexts);
        for (int mi = 0; mi < models.size(); mi++) {
            JsonObject m = models.get(mi);
            for (int ci = 0; ci < ctx.size(); ci++) {
                int c = ctx.get(ci);
                List<double[]> pts = new ArrayList<>();
                m.getObjectList("decode").stream().filter(d -> d.getInt("context") == c)
                        .forEach(d -> pts.add(new double[]{d.getInt("batch"), d.getDouble("tokens_per_second")}));
                // The decode measured at the largest batch that fits ends the line, where there is one.
                m.getObjectList("capacity").stream().filter(k -> k.getInt("context") == c && k.has("largest_batch_decode"))
                        .map(k -> k.getObject("largest_batch_decode"))
                        .forEach(d -> pts.add(new double[]{d.getInt("batch"), d.getDouble("tokens_per_second")}));
                if (pts.isEmpty()) {
                    continue;
                }
                pts.sort((a, b) -> Double.compare(a[0], b[0]));
                double[] x = pts.stream().mapToDouble(p -> p[0]).toArray();
                double[] y = pts.stream().mapToDouble(p -> p[1]).toArray();
                plot.add(new LinePlot.Series(m.getString("name") + " @ " + c, mi, ci, x, y));
            }
        }
        plot.write(png);
    }
}
