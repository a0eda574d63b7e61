package io.llamba.engine.model;

import io.llamba.engine.checkpoint.Checkpoint;
import io.llamba.engine.checkpoint.CheckpointException;
import io.llamba.engine.checkpoint.TensorInfo;
import io.llamba.engine.json.Json;
import io.llamba.engine.json.JsonException;
import io.llamba.engine.json.JsonObject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** Loads a model directory: config.json names the architecture plugin, which binds the checkpoint. */
public final class ModelLoader {
    public static final String CONFIG_FILE = "config.json";

    private ModelLoader() {
    }

    /** Every architecture on the class path, by model_type. */
    public static Map<String, ModelArchitecture> architectures() {
        Map<String, ModelArchitecture> byType = new LinkedHashMap<>();
        for (ModelArchitecture a : ServiceLoader.load(ModelArchitecture.class, ModelLoader.class.getClassLoader())) {
            byType.putIfAbsent(a.modelType(), a);
        }
        // Plugins may also sit on the context class loader (application containers).
        ClassLoader ctx = Thread.currentThread().getContextClassLoader();
        if (ctx != null && ctx != ModelLoader.class.getClassLoader()) {
            for (ModelArchitecture a : ServiceLoader.load(ModelArchitecture.class, ctx)) {
                byType.putIfAbsent(a.modelType(), a);
            }
        }
        return byType;
    }

    public static ModelArchitecture architecture(String modelType, Path origin) {
        Map<String, ModelArchitecture> all = architectures();
        ModelArchitecture a = all.get(modelType);
        if (a == null) {
            throw new ModelException(origin + ": unknown model_type '" + modelType + "' (supported: "
                    + String.join(", ", new TreeSet<>(all.keySet())) + ")");
        }
        return a;
    }

    /** Reads and parses {@code dir/config.json}. */
    public static JsonObject readConfig(Path dir) {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isDirectory(dir)) {
            throw new ModelException(dir + ": model directory not found");
        }
        try {
            return Json.parseObject(Files.readString(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new ModelException(dir + ": no " + CONFIG_FILE + " in the model directory");
        } catch (IOException e) {
            throw new ModelException(file + ": cannot read: " + e.getMessage(), e);
        } catch (JsonException e) {
            throw new ModelException(e.getMessage(), e);
        }
    }

    public static Model load(Path dir, LoadOptions options) {
        JsonObject config = readConfig(dir);
        Path configFile = dir.resolve(CONFIG_FILE);
        String modelType;
        try {
            modelType = config.getString("model_type");
        } catch (JsonException e) {
            throw new ModelException(e.getMessage(), e);
        }
        ModelArchitecture arch = architecture(modelType, configFile);
        List<TensorSpec> specs;
        try {
            specs = arch.tensorSpecs(config);
        } catch (JsonException e) {
            throw new ModelException(e.getMessage(), e);
        }
        Checkpoint checkpoint = Checkpoint.open(dir);
        try {
            validate(checkpoint, specs);
            return arch.load(dir.getFileName() == null ? dir.toString() : dir.getFileName().toString(), config, checkpoint, options);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    /** Every expected tensor present with its shape and a float dtype; nothing unexpected. */
    public static void validate(Checkpoint checkpoint, List<TensorSpec> specs) {
        Map<String, TensorSpec> expected = new LinkedHashMap<>();
        specs.forEach(s -> expected.put(s.name(), s));
        List<String> missing = new ArrayList<>();
        for (TensorSpec spec : specs) {
            TensorInfo t = checkpoint.tensors().get(spec.name());
            if (t == null) {
                missing.add(spec.name());
                continue;
            }
            if (!spec.accepts(t.shape())) {
                throw new CheckpointException(checkpoint.directory() + ": tensor " + spec.name() + " has shape " + t.shapeString()
                        + ", expected " + spec.expectedShape() + " (file " + t.file().getFileName() + ")");
            }
            if (!t.dtype().isFloatWeight()) {
                throw new CheckpointException(checkpoint.directory() + ": tensor " + spec.name() + " has dtype " + t.dtype()
                        + "; weights must be F32, BF16 or F16");
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException(checkpoint.directory() + ": missing tensor " + missing.getFirst()
                    + (missing.size() > 1 ? " (and " + (missing.size() - 1) + " more: " + abbreviate(missing.subList(1, missing.size())) + ")" : ""));
        }
        List<String> unexpected = checkpoint.tensors().keySet().stream().filter(n -> !expected.containsKey(n)).sorted().toList();
        if (!unexpected.isEmpty()) {
            throw new CheckpointException(checkpoint.directory() + ": unexpected tensor " + unexpected.getFirst()
                    + (unexpected.size() > 1 ? " (and " + (unexpected.size() - 1) + " more: " + abbreviate(unexpected.subList(1, unexpected.size())) + ")" : "")
                    + " for this configuration");
        }
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 4 ? String.join(", ", names) : String.join(", ", names.subList(0, 4)) + ", ...";
    }
}
