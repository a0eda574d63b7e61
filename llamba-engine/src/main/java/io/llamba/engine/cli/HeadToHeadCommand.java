package io.llamba.engine.cli;

import io.llamba.engine.bench.HeadToHead;
import io.llamba.engine.bench.HeadToHeadReport;
import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.LoadOptions;
import io.llamba.engine.model.Model;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.RandomCheckpoint;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code head-to-head}: the same serving measurements for several models (typically Llamba-1B and
 * Llama-3.2-1B shapes, random weights, same dtype) in one process, printed as tables and written as
 * JSON and a PNG plot.
 */
final class HeadToHeadCommand implements Command {
    @Override
    public String name() {
        return "head-to-head";
    }

    @Override
    public String summary() {
        return "compare architectures: decode tok/s vs batch, TTFT, state per sequence (tables, JSON, PNG)";
    }

    @Override
    public String help() {
        return """
                Usage: head-to-head --models M1,M2 [--dtype BF16] [--contexts 128,512,2048] [--batches 1,4,16]
                                    [--steps 8] [--rounds 3] [--report-contexts 2048,8192,32768] [--memory-gb G]
                                    [--max-batch-steps N] [--json FILE] [--plot FILE.png] [--work DIR] [--threads N]
                                    [--backend B] [--gpu-weights f32|bf16] [--gpu-state f32|bf16]
                       head-to-head --replot FILE.json [--plot FILE.png]

                Measures each model the same way, through the architecture plugin interface alone: one
                sequence is prefilled to each context length in 256-token chunks (time to first token),
                its state is snapshotted and restored into every sequence of a batch, and greedy decoding
                is timed (tokens/s of the whole batch, ms per step = inter-token latency; tokens are picked
                on the GPU where the model runs there, as the engine does). The models are loaded together
                and take turns (prefill chunk by chunk, each decode point --rounds times, median kept), so
                on a shared machine they meet the same load. The state one sequence needs at each report
                context, and the largest batch whose state fits in the memory budget, come from the
                model's state pool; a decode point whose states do not fit is reported, not measured.

                  --models M,...       model directories, or presets (llamba-1b, llama-3.2-1b, ...) whose
                                       random-weight checkpoints are written once under --work
                  --dtype D            weight dtype for presets: F32, BF16 (default) or F16
                  --contexts C,...     context lengths to decode at (default 128,512,2048)
                  --batches B,...      batch sizes (default 1,4,16)
                  --steps N            timed decode steps per point (default 8)
                  --rounds R           measurements of each decode point per model, median kept (default 3)
                  --report-contexts    contexts of the state-size table (default 2048,8192,32768)
                  --memory-gb G        memory for sequence state (default: on a GPU its free memory with the
                                       models loaded, less 1 GiB; on the CPU this JVM's maximum heap)
                  --max-batch-steps N  also decode N timed steps at the largest batch that fits, at each
                                       report context that is also a --contexts value (default 0: off)
                  --json FILE          write the results as JSON
                  --plot FILE.png      draw decode throughput against batch size
                  --replot FILE.json   print the tables and draw the plot of an earlier run
                  --work DIR           where preset checkpoints go (default: <tmp>/llamba-head-to-head)
                  --threads N          CPU threads (default: all processors)
                  --backend B          auto, cpu or cuda
                  --gpu-weights, --gpu-state   the formats on a GPU (see generate --help); the state is
                                       Llamba's recurrent state or Llama's KV cache""";
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        if (o.has("replot")) {
            Path json = Path.of(o.required("replot"));
            String plot = o.string("plot", null);
            o.checkAllUsed();
            requirePlotting(plot);
            JsonObject root = Json.parseObject(Files.readString(json), json.toString());
            out.println(HeadToHeadReport.tables(root));
            if (plot != null) {
                plot(root, plot, err);
            }
            return 0;
        }
        String[] models = o.required("models").split(",");
        DType dtype;
        try {
            dtype = DType.parse(o.string("dtype", "BF16"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--dtype: " + e.getMessage());
        }
        if (!dtype.isFloatWeight()) {
            throw new UsageException("--dtype must be F32, BF16 or F16");
        }
        int[] contexts = o.has("contexts") ? o.intList("contexts") : new int[]{128, 512, 2048};
        int[] batches = o.has("batches") ? o.intList("batches") : new int[]{1, 4, 16};
        int[] report = o.has("report-contexts") ? o.intList("report-contexts") : new int[]{2048, 8192, 32768};
        int steps = o.integer("steps", 8);
        int rounds = o.integer("rounds", 3);
        long budget = o.has("memory-gb") ? (long) (o.number("memory-gb", 0) * 1e9) : 0; // 0: per model, see HeadToHead.Settings
        if (o.has("memory-gb") && budget <= 0) {
            throw new UsageException("--memory-gb must be positive");
        }
        int maxBatchSteps = o.integer("max-batch-steps", 0);
        String json = o.string("json", null);
        String plot = o.string("plot", null);
        Path work = Path.of(o.string("work", Path.of(System.getProperty("java.io.tmpdir"), "llamba-head-to-head").toString()));
        LoadOptions load = CliSupport.loadOptions(o);
        o.checkAllUsed();
        requirePlotting(plot); // before minutes of measuring
        HeadToHead.Settings settings;
        try {
            settings = new HeadToHead.Settings(contexts, batches, steps, rounds, report, budget, 1, maxBatchSteps);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }

        List<Path> dirs = new ArrayList<>();
        for (String m : models) {
            dirs.add(modelDirectory(m.trim(), dtype, work, err));
        }
        Map<String, Object> machine = machine(load, budget);
        err.println("machine: " + machine.get("description"));
        List<Model> loaded = new ArrayList<>();
        List<HeadToHead.Result> results;
        try {
            for (Path dir : dirs) {
                loaded.add(ModelLoader.load(dir, load));
            }
            // What the models actually run on (the backend "auto" chose), for the table and the plot's title.
            machine.put("description", loaded.getFirst().info().backend() + ": " + loaded.getFirst().info().device());
            err.println("measuring " + String.join(", ", loaded.stream().map(m -> m.info().name()).toList()) + " side by side");
            results = HeadToHead.run(loaded, settings, err);
        } finally {
            loaded.forEach(Model::close);
        }
        Map<String, Object> rootMap = HeadToHeadReport.toJson(machine, settings, results);
        String text = Json.writeIndented(rootMap);
        JsonObject root = Json.parseObject(text, "results");
        out.println(HeadToHeadReport.tables(root));
        if (json != null) {
            Path p = Path.of(json);
            if (p.toAbsolutePath().getParent() != null) {
                Files.createDirectories(p.toAbsolutePath().getParent());
            }
            Files.writeString(p, text + "\n");
            err.println("results written to " + json);
        }
        if (plot != null) {
            plot(root, plot, err);
        }
        return 0;
    }

    /** Java2D lives in java.desktop, which a minimal runtime (jlink'd for servers) may lack. */
    private static void requirePlotting(String plot) {
        if (plot != null && ModuleLayer.boot().findModule("java.desktop").isEmpty()) {
            throw new UsageException("--plot needs the java.desktop module, which this Java runtime lacks; write --json"
                    + " here and draw it elsewhere with head-to-head --replot FILE.json --plot FILE.png");
        }
    }

    private static void plot(JsonObject root, String file, PrintStream err) throws java.io.IOException {
        HeadToHeadReport.plot(root, Path.of(file));
        err.println("plot written to " + file);
    }

    /** A model directory as given, or a preset's random-weight checkpoint under {@code work} (written once). */
    static Path modelDirectory(String arg, DType dtype, Path work, PrintStream err) throws Exception {
        Path given = Path.of(arg);
        if (Files.isDirectory(given)) {
            return given;
        }
        JsonObject config = RandomModelCommand.readConfig(arg);
        Path dir = work.resolve(arg + "-" + dtype.name().toLowerCase(Locale.ROOT));
        Path marker = dir.resolve(".complete");
        if (Files.exists(marker) && Checkpoint.isCheckpoint(dir)) {
            return dir;
        }
        err.printf(Locale.ROOT, "writing random %s (%s, %.2f GB) to %s%n", arg, dtype, RandomCheckpoint.bytes(config, dtype) / 1e9, dir);
        RandomCheckpoint.write(config, dtype, dir, 0, Long.MAX_VALUE);
        Files.writeString(marker, "");
        return dir;
    }

    static Map<String, Object> machine(LoadOptions load, long budget) {
        Map<String, Object> m = new LinkedHashMap<>();
        int procs = Runtime.getRuntime().availableProcessors();
        m.put("processors", procs);
        m.put("threads", load.effectiveThreads());
        m.put("os_arch", System.getProperty("os.arch"));
        m.put("java", System.getProperty("java.version"));
        m.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        m.put("memory_budget_bytes", budget);
        m.put("backend", load.backend().name().toLowerCase(Locale.ROOT));
        m.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        m.put("description", String.format(Locale.ROOT, "%s, %d processors, %d threads", load.backend().name().toLowerCase(Locale.ROOT),
                procs, load.effectiveThreads()));
        return m;
    }
}
