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
            m.put("capacity", r.capacity().stream().map(c -> (Object) Map.of("context", c.context(),
                    "bytes_per_sequence", c.bytesPerSequence(), "largest_batch", c.largestBatch())).toList());
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
                    String cell = "";
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
        sb.append(String.format(Locale.ROOT, "%nState per sequence (recurrent state, or KV cache at that context) and the largest batch"
                + " whose state fits in %.1f GB:%n%n", budgetGb));
        sb.append("| model | weights, GB |");
        List<Integer> report = new ArrayList<>();
        for (Object o : settings.getArray("report_contexts")) {
            report.add(((Number) o).intValue());
        }
        report.forEach(c -> sb.append(" per sequence @ ").append(c).append(" |"));
        report.forEach(c -> sb.append(" largest batch @ ").append(c).append(" |"));
        sb.append("\n|---|---|");
        report.forEach(c -> sb.append("---|---|"));
        sb.append('\n');
        for (JsonObject m : models) {
            sb.append(String.format(Locale.ROOT, "| %s | %.2f |", m.getString("name"), m.getDouble("weight_bytes") / 1e9));
            List<JsonObject> cap = m.getObjectList("capacity");
            for (JsonObject c : cap) {
                long bytes = c.getLong("bytes_per_sequence");
                sb.append(' ').append(bytes < 0 ? "beyond its context" : megabytes(bytes)).append(" |");
            }
            for (JsonObject c : cap) {
                sb.append(' ').append(c.getLong("bytes_per_sequence") < 0 ? "-" : String.valueOf(c.getLong("largest_batch"))).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String megabytes(long bytes) {
        return bytes >= 1e9 ? String.format(Locale.ROOT, "%.2f GB", bytes / 1e9) : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    /** Decode throughput against batch size, one line per model and context. */
    public static void plot(JsonObject root, Path png) throws IOException {
        JsonObject machine = root.getObject("machine");
        List<JsonObject> models = root.getObjectList("models");
        LinePlot plot = new LinePlot("Decode throughput: " + machine.optString("description", ""), "batch size (sequences)",
                "tokens/s");
        TreeSet<Integer> contexts = new TreeSet<>();
        for (JsonObject m : models) {
            m.getObjectList("decode").forEach(d -> contexts.add(d.getInt("context")));
        }
        List<Integer> ctx = new ArrayList<>(contexts);
        for (int mi = 0; mi < models.size(); mi++) {
            JsonObject m = models.get(mi);
            for (int ci = 0; ci < ctx.size(); ci++) {
                int c = ctx.get(ci);
                List<JsonObject> pts = m.getObjectList("decode").stream().filter(d -> d.getInt("context") == c)
                        .sorted((a, b) -> Integer.compare(a.getInt("batch"), b.getInt("batch"))).toList();
                if (pts.isEmpty()) {
                    continue;
                }
                double[] x = pts.stream().mapToDouble(d -> d.getInt("batch")).toArray();
                double[] y = pts.stream().mapToDouble(d -> d.getDouble("tokens_per_second")).toArray();
                plot.add(new LinePlot.Series(m.getString("name") + " @ " + c, mi, ci, x, y));
            }
        }
        plot.write(png);
    }
}
