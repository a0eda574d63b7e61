package io.llamba.engine.cli;

import io.llamba.engine.checkpoint.DType;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonObject;
import io.llamba.engine.model.ModelArchitecture;
import io.llamba.engine.model.ModelLoader;
import io.llamba.engine.model.RandomCheckpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** {@code random-model}: writes a random-weight checkpoint of any configuration. */
final class RandomModelCommand implements Command {
    static final String PRESETS = "llamba-1b, llamba-3b, llamba-8b, llama-3.2-1b, llama-3.2-3b, llama-3.1-8b";

    @Override
    public String name() {
        return "random-model";
    }

    @Override
    public String summary() {
        return "write a random-weight checkpoint of a configuration (tests, benchmarks)";
    }

    @Override
    public String help() {
        return """
                Usage: random-model --config FILE|PRESET --out DIR [--dtype BF16] [--seed S] [--max-shard-gb G]

                Writes config.json and random safetensors weights of the configuration's real shapes.
                Deterministic in the seed.

                  --config FILE      a config.json (any model_type the engine knows), or a preset:
                                     %s
                  --out DIR          output directory (created)
                  --dtype D          F32, BF16 (default) or F16
                  --seed S           random seed (default 0)
                  --max-shard-gb G   split into shards plus an index above this size (default 5)""".formatted(PRESETS);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws IOException {
        String configArg = o.required("config");
        Path dir = o.path("out");
        DType dtype;
        try {
            dtype = DType.parse(o.string("dtype", "BF16"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--dtype: " + e.getMessage());
        }
        if (!dtype.isFloatWeight()) {
            throw new UsageException("--dtype must be F32, BF16 or F16");
        }
        long seed = o.longValue("seed", 0);
        double shardGb = o.number("max-shard-gb", 5);
        o.checkAllUsed();
        JsonObject config = readConfig(configArg);
        long bytes = RandomCheckpoint.bytes(config, dtype);
        err.printf("writing %s (%s, %.2f GB) to %s%n", configArg, dtype, bytes / 1e9, dir);
        long t0 = System.nanoTime();
        RandomCheckpoint.write(config, dtype, dir, seed, (long) (shardGb * 1e9));
        err.printf("done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        out.println(dir.toAbsolutePath());
        return 0;
    }

    static JsonObject readConfig(String arg) throws IOException {
        Path file = Path.of(arg);
        if (Files.isRegularFile(file)) {
            return Json.parseObject(Files.readString(file), file.toString());
        }
        // A preset is a config.json an architecture plugin ships beside its class, in presets/NAME.json.
        if (arg.matches("[A-Za-z0-9._-]+")) {
            for (ModelArchitecture arch : ModelLoader.architectures().values()) {
                try (InputStream in = arch.getClass().getResourceAsStream("presets/" + arg + ".json")) {
                    if (in != null) {
                        return Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8), arg);
                    }
                }
            }
        }
        throw new NoSuchFileException(arg + ": no such config file, and not a preset (" + PRESETS + ")");
    }
}
